//! Stored XSS, swept in Chromium: markup goes into every field a person or a visitor controls
//! (account, member and invitation names, member emails, lead name, email, phone, company and
//! notes, the website form's message, the assistant's description and thank-you pages, a chat
//! transcript; notification texts, audit entries and routing receipts carry them on), through
//! the API, the public form and the public chat. Then every page that shows them is opened in
//! Chromium and checked: no dialog opened, no element or attribute the markup would make
//! exists (`img`, extra `script`, `on*` or `data-xss` attributes), and the markup reads as
//! text, character for character, wherever the field is shown.
//!
//! Every page also carries a Content-Security-Policy without inline script, so an injected
//! handler would not run even if escaping failed: the DOM checks, not the dialog check, are
//! what catches a template that forgot to escape.

use serde_json::{Value, json};

use super::{Browser, ChromeDriver, FormExt};
use crate::helpers::{Member, TestApp, spawn_server};

const PASSWORD: &str = "correct-horse-battery-42";

/// Markup for text positions, tagged with the field it went into. It also closes a
/// `<textarea>` and a `<title>`, and carries an entity that must not be decoded.
fn markup(tag: &str) -> String {
    format!(
        "{tag} <img src=x onerror=alert(1)>\"'><script>alert(2)</script></textarea></title>&amp;"
    )
}

/// Markup that breaks out of a double- or single-quoted attribute.
fn attr(tag: &str) -> String {
    format!(
        "\" onmouseover=\"alert(3)\" data-xss=\"{tag}' onmouseover='alert(4)' data-xss='{tag} <svg onload=alert(5)>&quot;"
    )
}

/// An email address validation accepts, as hostile as it allows (it refuses `<>"(),;:` and
/// spaces, and lower-cases).
fn email(tag: &str) -> String {
    format!("{tag}'onmouseover=alert`6`&amp/x{{y}}@xss.test")
}

/// A phone number within its 50 characters.
const PHONE: &str = "\"'><img src=x onerror=alert(7)>&amp;";

/// An allowed thank-you page: an http(s) address with no spaces may hold the rest.
const REDIRECT: &str = "https://xss.test/\"'><img/src=x/onerror=alert(9)>&amp;";

/// Whitespace collapsed, as `innerText` comparisons need.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> Value {
    let r = app.post(path, token, body).await;
    assert!(r.status.is_success(), "{path}: {} {}", r.status, r.text);
    r.json
}

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    let r = app.get(path, token).await;
    r.expect(200);
    r.json
}

/// Invites and (unless `accept` is false) accepts; (member, invitation token).
async fn join(
    app: &TestApp,
    owner: &Member,
    role: &str,
    name: &str,
    email: &str,
    accept: bool,
) -> (Option<Member>, String) {
    let invite = post(
        app,
        "/api/v1/team/invitations",
        Some(&owner.token),
        json!({"email": email, "name": name, "role": role}),
    )
    .await;
    let token = invite["invitation"]["token"].as_str().unwrap().to_owned();
    if !accept {
        return (None, token);
    }
    let joined = post(
        app,
        &format!("/api/v1/invitations/{token}/accept"),
        None,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(joined["user"]["name"], name, "names are kept as typed");
    assert_eq!(joined["user"]["email"], email, "emails are kept as typed");
    let member = Member {
        token: joined["token"].as_str().unwrap().to_owned(),
        id: joined["user"]["id"].as_str().unwrap().to_owned(),
        account_id: owner.account_id.clone(),
    };
    (Some(member), token)
}

/// No dialog is open and nothing the markup would make exists; returns what is wrong.
const INERT: &str = r#"
const bad = [];
for (const el of document.querySelectorAll('img, iframe, frame, object, embed, base, meta[http-equiv]')) {
  bad.push('element ' + el.outerHTML.slice(0, 160));
}
for (const s of document.querySelectorAll('script')) {
  const src = s.getAttribute('src') || '';
  if (!/^\/static\/[a-z]+\.js$/.test(src) || s.textContent.trim() !== '') {
    bad.push('script ' + s.outerHTML.slice(0, 160));
  }
}
for (const el of document.querySelectorAll('*')) {
  for (const a of el.attributes) {
    if (/^on/i.test(a.name) || /^data-xss/i.test(a.name) || a.name.includes("'") || a.name.includes('"')) {
      bad.push(el.tagName.toLowerCase() + ' has attribute ' + a.name + '=' + JSON.stringify(a.value.slice(0, 80)));
    }
  }
}
return bad;
"#;

/// The page at `path` (already open) is inert and shows every `expected` text.
async fn check_page(browser: &Browser, path: &str, expected: &[&str]) {
    let alert = browser.get_alert_text().await;
    assert!(
        alert.as_ref().is_err_and(|e| e.is_no_such_alert()),
        "{path}: a dialog opened: {alert:?}"
    );
    let found = browser.js(INERT).await;
    assert_eq!(found, json!([]), "{path}: markup became HTML");
    let text = squash(
        browser
            .js("return document.body.innerText")
            .await
            .as_str()
            .unwrap(),
    );
    for want in expected {
        assert!(
            text.contains(&squash(want)),
            "{path}: {want:?} is not shown as text\n--- page text ---\n{text}"
        );
    }
}

/// Opens `path`, waits for it, and checks it.
async fn visit(browser: &Browser, path: &str, expected: &[&str]) {
    browser.open(path).await;
    browser.wait_for_location(path).await;
    check_page(browser, path, expected).await;
}

/// The `value` of the field `css` (inputs and textareas).
async fn value_of(browser: &Browser, css: &str) -> String {
    browser.wait_css(css).await.value().await
}

/// The text content of every element matching `css`.
async fn contents(browser: &Browser, css: &str) -> Vec<String> {
    let script = "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)";
    let found = browser.execute(script, vec![json!(css)]).await.unwrap();
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_every_field_stays_text_on_every_page() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let app = TestApp::new("sqlite").await.unwrap();
    let base = spawn_server(&app).await;

    // The account, its people and a pending invitation, all named in markup.
    let account_name = markup("ACCOUNT");
    let owner_name = attr("OWNER");
    let signup = post(
        &app,
        "/api/v1/signup",
        None,
        json!({"account_name": account_name, "name": owner_name,
               "email": "owner@xss.test", "password": PASSWORD}),
    )
    .await;
    assert_eq!(signup["account"]["name"], account_name.as_str());
    let owner = Member {
        token: signup["token"].as_str().unwrap().to_owned(),
        id: signup["user"]["id"].as_str().unwrap().to_owned(),
        account_id: signup["account"]["id"].as_str().unwrap().to_owned(),
    };
    let (manager_name, manager_email) = (markup("MANAGER"), email("mgr"));
    let (rep_a_name, rep_a_email) = (markup("REP-A"), email("repa"));
    let (rep_b_name, rep_b_email) = (attr("REP-B"), email("repb"));
    let (invitee_name, invitee_email) = (markup("INVITEE"), email("inv"));
    let (manager, _) = join(&app, &owner, "manager", &manager_name, &manager_email, true).await;
    let manager = manager.unwrap();
    let (rep_a, _) = join(&app, &owner, "sales", &rep_a_name, &rep_a_email, true).await;
    let rep_a = rep_a.unwrap();
    let (rep_b, _) = join(&app, &owner, "sales", &rep_b_name, &rep_b_email, true).await;
    let rep_b = rep_b.unwrap();
    let (_, invitation) = join(&app, &owner, "sales", &invitee_name, &invitee_email, false).await;

    // Routing over the two reps; the website form and assistant settings in markup.
    let r = app
        .routing_on(&owner, Some("round_robin"), Some(&[&rep_a, &rep_b]))
        .await;
    r.expect(200);
    let description = markup("DESCRIPTION");
    let r = app
        .call(
            axum::http::Method::PUT,
            "/api/v1/website",
            Some(&owner.token),
            Some(
                json!({"description": description, "assistant_enabled": true,
                        "allowed_redirects": [REDIRECT]}),
            ),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["allowed_redirects"], json!([REDIRECT]));
    let key = r.json["form_key"].as_str().unwrap().to_owned();

    // Leads: one from the team with every field in markup (routed: a receipt), reassigned by
    // the Manager (a notification naming both); one the Manager gives a rep; one from the
    // website form; one from the chat assistant.
    let lead_name = markup("LEAD");
    let (lead_email, company) = (email("lead"), attr("COMPANY"));
    let notes = format!("{}\n{}", markup("NOTES"), attr("NOTES"));
    let lead = post(
        &app,
        "/api/v1/leads",
        Some(&owner.token),
        json!({"name": lead_name, "email": lead_email, "phone": PHONE,
               "company": company, "notes": notes}),
    )
    .await;
    let lead_id = lead["id"].as_str().unwrap().to_owned();
    for (field, sent) in [
        ("name", lead_name.as_str()),
        ("email", &lead_email),
        ("phone", PHONE),
        ("company", &company),
        ("notes", &notes),
    ] {
        assert_eq!(lead[field], sent, "{field} is kept as typed");
    }
    let reason = lead["routing"]["reason"].as_str().unwrap().to_owned();
    assert_eq!(lead["owner"]["id"], rep_a.id.as_str(), "{lead}");
    post(
        &app,
        &format!("/api/v1/leads/{lead_id}/assign"),
        Some(&manager.token),
        json!({"owner_id": rep_b.id}),
    )
    .await;
    let (given_name, given_company) = (attr("GIVEN"), markup("GIVEN-CO"));
    let given = post(
        &app,
        "/api/v1/leads",
        Some(&manager.token),
        json!({"name": given_name, "company": given_company, "owner_id": rep_a.id}),
    )
    .await;
    let given_id = given["id"].as_str().unwrap().to_owned();
    let (web_name, web_company, message) = (markup("WEB"), attr("WEB-CO"), markup("MESSAGE"));
    let r = app
        .post(
            &format!("/f/{key}"),
            None,
            json!({"name": web_name, "email": email("web"), "phone": PHONE,
                   "company": web_company, "message": message}),
        )
        .await;
    r.expect(201);
    let web_id = r.json["id"].as_str().unwrap().to_owned();

    let mut said = Vec::new();
    let mut conversation: Option<String> = None;
    let mut chat_lead = None;
    // The guided assistant takes a name after "my name is" (words that look like a name:
    // markup is not one) and a company from a "company: ..." label, as written.
    let introduction = "My name is Mallory | company: Evil<i>Corp</i>&amp <img src=x onerror=alert`1`>\"'><b>Markup</b>".to_owned();
    for line in [
        markup("CHAT-NEED"),
        introduction,
        attr("CHAT-EMAIL") + " " + &email("chat"),
    ] {
        let r = app
            .post(
                &format!("/api/v1/public/chat/{key}"),
                None,
                json!({"conversation_id": conversation, "message": line}),
            )
            .await;
        r.expect(200);
        conversation = r.json["conversation_id"].as_str().map(str::to_owned);
        said.push(line);
        said.push(r.json["reply"].as_str().unwrap().to_owned());
        chat_lead = r.json["lead_id"].as_str().map(str::to_owned);
    }
    let conversation = conversation.unwrap();
    let chat_lead = chat_lead.unwrap_or_else(|| panic!("the chat made a lead: {said:#?}"));
    let chat = get(&app, &format!("/api/v1/leads/{chat_lead}"), &owner.token).await;
    let chat_notes = chat["notes"].as_str().unwrap().to_owned();
    for line in &said[..5] {
        assert!(
            chat_notes.contains(line.as_str()),
            "{line:?} in {chat_notes:?}"
        );
    }
    let chat_name = chat["name"].as_str().unwrap().to_owned();
    let chat_company = chat["company"].as_str().unwrap_or_default().to_owned();
    assert!(
        chat_name == "Mallory" && chat_company.contains("<i>") && chat_company.contains("<img"),
        "the assistant took the name, and markup as the company: {chat}"
    );

    let members = [owner_name.as_str(), &manager_name, &rep_a_name, &rep_b_name];
    let all_leads = [
        (lead_name.as_str(), company.as_str()),
        (&given_name, &given_company),
        (&web_name, &web_company),
        (&chat_name, &chat_company),
    ];

    // ---- The Owner's browser: every signed-in page.
    let browser = driver.browser(&base).await;
    browser.sign_in("owner@xss.test", PASSWORD).await;
    let mut leads_page: Vec<&str> = members.to_vec();
    leads_page.push(&account_name);
    for (name, company) in all_leads {
        leads_page.push(name);
        leads_page.push(company);
    }
    visit(&browser, "/leads", &leads_page).await;
    let title = browser.title().await.unwrap();
    assert_eq!(title, "Leads · Leadroute");
    let options = contents(&browser, "#f-owner option").await;
    for name in &members {
        assert!(
            options
                .iter()
                .any(|o| o == name || *o == format!("{name} (me)")),
            "{name:?} in {options:?}"
        );
    }
    let q = markup("SEARCH");
    let search = format!(
        "/leads?q={}",
        serde_urlencoded::to_string([("", &q)]).unwrap()[1..].to_owned()
    );
    browser.open(&search).await;
    browser.wait_css("#f-q").await;
    check_page(&browser, "/leads?q=<markup>", &[]).await;
    assert_eq!(
        value_of(&browser, "#f-q").await,
        q,
        "the search box keeps it"
    );

    visit(&browser, "/leads/new", &[&account_name]).await;
    let options = contents(&browser, "#f-owner_id option").await;
    for name in &members {
        assert!(
            options
                .iter()
                .any(|o| o == name || *o == format!("{name} (me)")),
            "{name:?} in {options:?}"
        );
    }

    // The lead: details, edit form, assignment, receipt, history.
    let lead_path = format!("/leads/{lead_id}");
    let mut expected = vec![
        lead_name.as_str(),
        &lead_email,
        PHONE,
        &company,
        &owner_name,
        &rep_a_name,
        &rep_b_name,
        &manager_name,
        &reason,
    ];
    expected.extend(notes.lines());
    visit(&browser, &lead_path, &expected).await;
    assert_eq!(
        browser.title().await.unwrap(),
        format!("{lead_name} · Leadroute")
    );
    assert_eq!(browser.text("main h1").await, lead_name);
    assert_eq!(
        contents(&browser, "dd.notes").await,
        [notes.as_str()],
        "notes keep their lines"
    );
    for (field, want) in [
        ("#f-name", &lead_name),
        ("#f-email", &lead_email),
        ("#f-phone", &PHONE.to_owned()),
        ("#f-company", &company),
        ("#f-notes", &notes),
    ] {
        assert_eq!(&value_of(&browser, field).await, want, "edit form {field}");
    }
    let assignees = contents(&browser, "#f-assign option").await;
    for name in &members {
        if *name != rep_b_name {
            assert!(
                assignees
                    .iter()
                    .any(|o| o == name || *o == format!("{name} (me)")),
                "{name:?} in {assignees:?}"
            );
        }
    }
    let pool = squash(&browser.text("section.receipt").await);
    for name in [&rep_a_name, &rep_b_name] {
        assert!(
            pool.contains(&squash(name)),
            "{name:?} in the receipt: {pool}"
        );
    }
    let history = get(
        &app,
        &format!("/api/v1/leads/{lead_id}/history"),
        &owner.token,
    )
    .await;
    let lines = contents(&browser, "ol.timeline li span").await;
    let details: Vec<String> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        lines, details,
        "the history shows each event's detail as text"
    );
    assert!(
        details
            .iter()
            .any(|d| d.contains(&manager_name) && d.contains(&rep_b_name)),
        "{details:?}"
    );

    visit(
        &browser,
        &format!("/leads/{given_id}"),
        &[&given_name, &manager_name, &rep_a_name],
    )
    .await;
    let mut expected = vec![web_name.as_str(), &web_company, PHONE];
    expected.extend(message.lines());
    visit(&browser, &format!("/leads/{web_id}"), &expected).await;
    let mut expected = vec![chat_name.as_str()];
    expected.extend(chat_notes.lines());
    visit(&browser, &format!("/leads/{chat_lead}"), &expected).await;
    assert_eq!(contents(&browser, "dd.notes").await, [chat_notes.as_str()]);

    // Team: members, emails, the pending invitation, the confirmations in attributes.
    let mut expected = members.to_vec();
    expected.extend([
        manager_email.as_str(),
        &rep_a_email,
        &rep_b_email,
        &invitee_name,
        &invitee_email,
    ]);
    visit(&browser, "/settings/team", &expected).await;
    let confirms = browser
        .js("return [...document.querySelectorAll('button[data-confirm]')].map(b => b.dataset.confirm)")
        .await;
    for name in [&manager_name, &rep_a_name, &rep_b_name] {
        let want = format!("Deactivate {name}? They will be signed out everywhere.");
        assert!(
            confirms
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == want.as_str()),
            "{want:?} in {confirms}"
        );
    }
    let labels = contents(&browser, "label[for^='role-']").await;
    for name in [&manager_name, &rep_a_name, &rep_b_name] {
        assert!(labels.contains(&format!("Role of {name}")), "{labels:?}");
    }

    // Routing: the rotation, next up, the preview and the chart.
    visit(&browser, "/settings/routing", &members).await;
    // The chart shortens names to 16 characters (15 and an ellipsis).
    let chart = contents(&browser, "svg text.chart-name").await;
    for name in [&rep_a_name, &rep_b_name] {
        let short: String = name.chars().take(15).chain(['…']).collect();
        assert!(chart.contains(&short), "{short:?} in the chart {chart:?}");
    }

    // Website form settings: the description and the thank-you pages, in textareas.
    visit(&browser, "/settings/website", &[]).await;
    assert_eq!(value_of(&browser, "#f-description").await, description);
    assert_eq!(value_of(&browser, "#f-redirects").await, REDIRECT);

    // Audit: every entry's actor and values as the API gives them.
    let audit = get(&app, "/api/v1/audit?limit=50", &owner.token).await;
    let entries = audit["entries"].as_array().unwrap();
    assert!(entries.len() >= 8, "{audit}");
    let mut expected = Vec::new();
    for e in entries {
        if let Some(actor) = e["actor"]["name"].as_str() {
            expected.push(actor.to_owned());
        }
        for side in ["before", "after"] {
            if !e[side].is_null() {
                expected.push(e[side].to_string());
            }
        }
    }
    let joined = expected.concat();
    // Actors by name; values as JSON (the page shows them so).
    let as_json = |s: &str| {
        serde_json::to_string(s)
            .unwrap()
            .trim_matches('"')
            .to_owned()
    };
    for needle in [
        owner_name.clone(),
        manager_name.clone(),
        as_json(&invitee_name),
        as_json(&invitee_email),
        as_json(&description),
        as_json(REDIRECT),
    ] {
        assert!(
            joined.contains(&needle),
            "{needle:?} is in the audit log: {audit:#}"
        );
    }
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    visit(&browser, "/audit", &expected).await;

    // The invitation's page, as the invitee sees it.
    visit(
        &browser,
        &format!("/invitations/{invitation}"),
        &[&account_name, &invitee_name, &invitee_email],
    )
    .await;

    // The Owner's own notifications (a lead the Manager reassigned is not theirs: none may
    // exist; the page must still be inert).
    visit(&browser, "/notifications", &[]).await;

    // ---- Public pages, in the same browser.
    visit(&browser, &format!("/f/{key}"), &[&account_name]).await;
    assert_eq!(
        browser.title().await.unwrap(),
        format!("Contact {account_name}")
    );
    visit(&browser, &format!("/f/{key}/thanks"), &[&account_name]).await;
    let chat_path = format!("/chat/{key}?conversation={conversation}");
    let mut expected: Vec<&str> = vec![&account_name];
    expected.extend(said.iter().map(String::as_str));
    visit(&browser, &chat_path, &expected).await;
    assert_eq!(
        browser.title().await.unwrap(),
        format!("Chat with {account_name}")
    );
    let bubbles = contents(&browser, "ol.messages li.bubble").await;
    let greeting =
        format!("Hi! I'm the {account_name} assistant. What can we help you with today?");
    let mut want = vec![greeting.clone()];
    want.extend(said.iter().cloned());
    assert_eq!(bubbles, want, "the transcript, bubble by bubble");
    visit(&browser, &format!("/chat/{key}"), &[&greeting]).await;

    // The hosted form sent back with errors keeps what was typed (and the thank-you page)
    // in its fields, as text.
    browser.open(&format!("/f/{key}")).await;
    let form = browser.wait_css("main form").await;
    let (typed_name, typed_company, typed_message) =
        (markup("TYPED"), attr("TYPED-CO"), markup("TYPED-MSG"));
    form.fill("name", &typed_name).await;
    form.fill("email", "not an email").await;
    form.fill("company", &typed_company).await;
    form.fill("message", &typed_message).await;
    browser
        .execute(
            "const i = document.createElement('input'); i.type = 'hidden'; i.name = 'redirect'; \
             i.value = arguments[0]; document.querySelector('main form').appendChild(i);",
            vec![json!(REDIRECT)],
        )
        .await
        .unwrap();
    form.press("Send").await;
    browser.wait_css("#f-email[aria-invalid='true']").await;
    check_page(&browser, "/f/{key} with errors", &[&account_name]).await;
    assert_eq!(value_of(&browser, "#f-name").await, typed_name);
    assert_eq!(value_of(&browser, "#f-company").await, typed_company);
    assert_eq!(value_of(&browser, "#f-message").await, typed_message);
    assert_eq!(value_of(&browser, "input[name='redirect']").await, REDIRECT);
    browser.close().await;

    // ---- A rep's browser: a failed sign-in with markup as the email, then the rep's
    // notifications (the lead the Manager gave, the chat lead routed).
    let browser = driver.browser(&base).await;
    browser.open("/signin").await;
    let form = browser.wait_css("form[action='/signin']").await;
    let typed = markup("SIGNIN");
    form.fill("email", &typed).await;
    form.fill("password", "wrong password").await;
    form.press("Sign in").await;
    browser.wait_css("p.banner.error, p.error").await;
    check_page(&browser, "/signin after a failed attempt", &[]).await;
    assert_eq!(value_of(&browser, "#f-email").await, typed);

    browser.sign_in(&rep_a_email, PASSWORD).await;
    check_page(&browser, "/leads as rep A", &[&rep_a_name, &account_name]).await;
    let notes = get(&app, "/api/v1/notifications", &rep_a.token).await;
    let texts: Vec<String> = notes["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains(&manager_name) && t.contains(&given_name))
            && texts.iter().any(|t| t.contains(&chat_name)),
        "{texts:?}"
    );
    let expected: Vec<&str> = texts.iter().map(String::as_str).collect();
    visit(&browser, "/notifications", &expected).await;
    assert_eq!(contents(&browser, ".note-text").await, texts);
    browser.close().await;

    // Rep B: the lead the Manager reassigned, the website lead routed.
    let notes = get(&app, "/api/v1/notifications", &rep_b.token).await;
    let texts: Vec<&str> = notes["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains(&manager_name) && t.contains(&lead_name))
            && texts.iter().any(|t| t.contains(&web_name)),
        "{texts:?}"
    );
    let browser = driver.browser(&base).await;
    browser.sign_in(&rep_b_email, PASSWORD).await;
    visit(&browser, "/notifications", &texts).await;

    // The check itself sees markup when there is some (and the page's policy keeps an
    // injected handler from running: no dialog). The policy's refusal is the signal that the
    // broken image's handler was tried.
    browser
        .js("window.refused = 0; document.addEventListener('securitypolicyviolation', () => window.refused++); return true")
        .await;
    browser
        .execute(
            "const d = document.createElement('div'); d.innerHTML = arguments[0]; document.body.append(d);",
            vec![json!(
                "<img src=x onerror=alert(1)><script>alert(2)</script><b data-xss=1 onmouseover=alert(3)>b</b>"
            )],
        )
        .await
        .unwrap();
    browser
        .wait_until(
            "return window.refused > 0",
            "the policy to refuse the injected handler",
        )
        .await;
    let alert = browser.get_alert_text().await;
    assert!(
        alert.is_err_and(|e| e.is_no_such_alert()),
        "CSP stops inline handlers"
    );
    let found = browser.js(INERT).await;
    let found: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        found.iter().any(|f| f.starts_with("element <img"))
            && found.iter().any(|f| f.starts_with("script "))
            && found.iter().any(|f| f.contains("attribute onerror"))
            && found.iter().any(|f| f.contains("attribute data-xss")),
        "the check reports injected markup: {found:?}"
    );
    browser.close().await;
}
