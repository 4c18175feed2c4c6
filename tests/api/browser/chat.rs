//! The website chat assistant in the browser: the widget's one script tag pasted into another
//! site (served from a second port), the chat in its frame (greeting, typing indicator, replies,
//! the lead made, the composer gone), Escape and the keyboard, the routed rep's bell counting
//! the new lead without a reload, the lead page with the transcript, and the phone layout.
//! Also the hosted chat page with no JavaScript at all, through a plain HTTP client.

use std::time::Instant;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::{Value, json};

use super::fixtures::{PASSWORD, acme, acme_routed_to_rita, badge, other_site, wait_for_badge};
use super::{Browser, ChromeDriver, POLL, WAIT, XSS_NAME};
use crate::helpers::{Member, TestApp};

const GREETING: &str = "Hi! I'm the Acme Rockets assistant. What can we help you with today?";
const NEED: &str = "Hi, we need a quote for 40 rocket nozzles";
const ASK_NAME: &str = "Thanks, happy to help with that. Who am I speaking with?";
const NAME: &str = "I'm Vera Visitor from Globex";
const ASK_EMAIL: &str = "Nice to meet you, Vera. What's the best email address to reach you?";
const EMAIL: &str = "vera@globex.example";
const DONE: &str = "Thanks, Vera! I've passed your details to the Acme Rockets team (Vera Visitor, vera@globex.example, Globex). Someone will be in touch soon.";

/// A small business site with the widget tag pasted in, as Settings -> Website form shows it.
fn host_page(widget_html: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rocket Parts Ltd</title>
<style>body {{ font: 16px/1.5 Georgia, serif; margin: 2rem; color: #222; }}</style>
</head>
<body>
<h1>Rocket Parts Ltd</h1>
<p>Nozzles, fins and fuel pumps for the discerning rocketeer. Questions? Chat with us.</p>
{widget_html}
</body></html>
"#
    )
}

/// The Website settings over HTTP on the real server, so the addresses in them are the ones a
/// browser uses (the in-process helpers answer for a made-up host).
async fn website_settings(base: &str, owner: &Member) -> Value {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = http
        .get(format!("{base}/api/v1/website"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn assistant_leads(app: &TestApp, member: &Member) -> Vec<Value> {
    let r = app
        .get("/api/v1/leads?source=assistant", &member.token)
        .await;
    r.expect(200);
    r.json["leads"].as_array().unwrap().clone()
}

/// Presses and releases `key` wherever the keyboard focus is.
async fn press_key(browser: &Browser, key: Key) {
    let c = key.chars().next().unwrap();
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: c })
        .then(KeyAction::Up { value: c });
    browser.perform_actions(keys).await.unwrap();
}

/// The widget as the host page has it: (button text, aria-expanded, frame shown, focused id).
async fn widget_state(browser: &Browser) -> (String, String, bool, String) {
    let script = "const b = document.getElementById('leadroute-chat-button');
        const f = document.getElementById('leadroute-chat-frame');
        return [b.textContent, b.getAttribute('aria-expanded'),
                !f.hidden && getComputedStyle(f).display !== 'none',
                document.activeElement ? document.activeElement.id : ''];";
    let v = browser.js(script).await;
    (
        v[0].as_str().unwrap().to_owned(),
        v[1].as_str().unwrap().to_owned(),
        v[2].as_bool().unwrap(),
        v[3].as_str().unwrap().to_owned(),
    )
}

/// The bubbles of the conversation in the current frame: (class, text).
async fn bubbles(browser: &Browser) -> Vec<(String, String)> {
    let script = "return [...document.querySelectorAll('ol.messages > li')]
        .map(li => [li.className, li.innerText])";
    serde_json::from_value(browser.js(script).await).unwrap()
}

/// In the chat frame: its script was served and ran (without it Enter types a new line and
/// there is no typing indicator; the page still works as a plain form).
async fn assert_chat_script_loaded(browser: &Browser) {
    let script = "return performance.getEntriesByType('resource')
        .filter(e => new URL(e.name).pathname === '/static/chat.js')
        .map(e => e.responseStatus)";
    assert_eq!(
        browser.js(script).await,
        json!([200]),
        "the chat page's /static/chat.js must load (a 404 here: no route serves it)"
    );
    let ready = browser.js("return document.readyState").await;
    assert_eq!(ready, "complete", "chat.js (deferred) has run");
}

/// Polls until the conversation in the current frame is `expected` (assistant first).
async fn wait_for_bubbles(browser: &Browser, expected: &[&str]) {
    let deadline = Instant::now() + WAIT;
    loop {
        let seen = bubbles(browser).await;
        let texts: Vec<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
        if texts == expected {
            for (i, (class, text)) in seen.iter().enumerate() {
                let who = if i % 2 == 0 { "assistant" } else { "visitor" };
                assert_eq!(class, &format!("bubble {who}"), "bubble {text:?}");
            }
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the conversation reads {texts:#?}, expected {expected:#?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// In the chat frame: records every change of the typing indicator, and delays each answer
/// by `delay_ms` so a person (and the test) can see it.
async fn watch_typing(browser: &Browser, delay_ms: u64) {
    let script = "window.typingSeen = [];
        window.fetchDelay = arguments[0];
        if (!window.realFetch) {
            const t = document.querySelector('.typing');
            new MutationObserver(() => typingSeen.push(t.hidden))
                .observe(t, {attributes: true, attributeFilter: ['hidden']});
            window.realFetch = window.fetch;
            window.fetch = (...a) => new Promise(r => setTimeout(r, fetchDelay))
                .then(() => realFetch(...a));
        }
        return null;";
    browser
        .execute(script, vec![json!(delay_ms)])
        .await
        .unwrap();
}

async fn typing_seen(browser: &Browser) -> Value {
    browser.js("return window.typingSeen").await
}

/// A DOMRect as [x, y, width, height], rounded.
async fn rect(browser: &Browser, css: &str) -> Vec<i64> {
    let script = "const r = document.querySelector(arguments[0]).getBoundingClientRect();
        return [r.x, r.y, r.width, r.height].map(Math.round)";
    serde_json::from_value(browser.execute(script, vec![json!(css)]).await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_chats_through_the_widget_on_another_site_and_the_rep_is_told() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (app, base, owner, rita) = acme_routed_to_rita().await;

    // The tag exactly as Settings -> Website form shows it.
    let settings = website_settings(&base, &owner).await;
    let key = settings["form_key"].as_str().unwrap().to_owned();
    let widget_html = settings["widget_html"].as_str().unwrap().to_owned();
    assert_eq!(
        widget_html,
        format!(r#"<script src="{base}/chat/widget.js?key={key}" async></script>"#)
    );
    assert_eq!(settings["chat_url"], json!(format!("{base}/chat/{key}")));
    assert_eq!(settings["assistant_enabled"], true);
    let host = other_site(host_page(&widget_html)).await;
    assert_ne!(host, base);

    // Rita is on Leads, signed in, before anyone chats.
    let rep = driver.browser(&base).await;
    rep.sign_in("rita@acme.test", PASSWORD).await;
    assert_eq!(badge(&rep).await, (false, "0".to_owned()));
    rep.js("window.noReload = 'still here'; return null").await;

    // A visitor on the other site: the button appears, the frame is closed.
    let visitor = driver.browser(&base).await;
    visitor.goto(&format!("{host}/")).await.unwrap();
    let button = visitor.wait_css("#leadroute-chat-button").await;
    assert_eq!(
        visitor.js("return location.origin").await,
        json!(host),
        "the widget runs on the host's origin"
    );
    assert!(button.is_displayed().await.unwrap());
    assert_eq!(
        widget_state(&visitor).await,
        ("Chat with us".into(), "false".into(), false, String::new())
    );
    let frame = visitor.wait_css("#leadroute-chat-frame").await;
    assert_eq!(
        frame.attr("src").await.unwrap(),
        Some(format!("{base}/chat/{key}"))
    );
    assert_eq!(frame.attr("title").await.unwrap().as_deref(), Some("Chat"));
    visitor.viewport_screenshot("60-chat-widget-button").await;

    // The button is reachable with the keyboard: Tab from the top of the page lands on it.
    press_key(&visitor, Key::Tab).await;
    assert_eq!(widget_state(&visitor).await.3, "leadroute-chat-button");

    // A click opens the frame on the chat page; its greeting shows.
    button.click().await.unwrap();
    let (text, expanded, shown, _) = widget_state(&visitor).await;
    assert_eq!(
        (text.as_str(), expanded.as_str(), shown),
        ("Close chat", "true", true)
    );
    let [x, y, w, h] = rect(&visitor, "#leadroute-chat-frame").await[..] else {
        unreachable!()
    };
    assert_eq!((w, h), (380, 560), "a panel on a desktop");
    let inner = visitor.js("return [innerWidth, innerHeight]").await;
    let (iw, ih) = (inner[0].as_i64().unwrap(), inner[1].as_i64().unwrap());
    assert_eq!(
        (x + w, y + h),
        (iw - 20, ih - 80),
        "above the button, at the right"
    );
    frame.enter_frame().await.unwrap();
    visitor.wait_for_text("ol.messages li", GREETING).await;
    assert_eq!(
        visitor.js("return location.href").await,
        json!(format!("{base}/chat/{key}"))
    );
    assert_eq!(
        visitor.text(".chat-head h1").await,
        "Chat with Acme Rockets"
    );
    let note = visitor.text(".chat-head p").await;
    assert_eq!(
        note,
        "Guided assistant: a simple form that chats, not an AI model."
    );
    let typing = visitor.wait_css("p.typing").await;
    assert!(!typing.is_displayed().await.unwrap(), "no typing at rest");
    assert_chat_script_loaded(&visitor).await;

    // First message with Enter: the typing indicator shows while the answer is on its way.
    watch_typing(&visitor, 1500).await;
    let input = visitor.wait_css("textarea#chat-message").await;
    input.send_keys(NEED).await.unwrap();
    input.send_keys(&Key::Enter).await.unwrap();
    visitor
        .wait()
        .at_most(WAIT)
        .for_element(fantoccini::Locator::Css("p.typing:not([hidden])"))
        .await
        .unwrap();
    assert!(
        typing.is_displayed().await.unwrap(),
        "the typing indicator shows"
    );
    assert_eq!(
        bubbles(&visitor).await.len(),
        2,
        "the visitor's message shows at once"
    );
    let disabled = input.prop("disabled").await.unwrap();
    assert_eq!(
        disabled.as_deref(),
        Some("true"),
        "no second send meanwhile"
    );
    visitor.viewport_screenshot("61-chat-widget-typing").await;
    wait_for_bubbles(&visitor, &[GREETING, NEED, ASK_NAME]).await;
    assert!(
        !typing.is_displayed().await.unwrap(),
        "the indicator goes away"
    );
    assert_eq!(typing_seen(&visitor).await, json!([false, true]));
    assert_eq!(input.prop("value").await.unwrap().as_deref(), Some(""));
    let focused = visitor.js("return document.activeElement.id").await;
    assert_eq!(focused, "chat-message", "the cursor is back in the box");

    // Second with the Send button.
    watch_typing(&visitor, 0).await;
    input.send_keys(NAME).await.unwrap();
    visitor
        .wait_css("form.composer button[type='submit']")
        .await
        .click()
        .await
        .unwrap();
    wait_for_bubbles(&visitor, &[GREETING, NEED, ASK_NAME, NAME, ASK_EMAIL]).await;
    assert_eq!(typing_seen(&visitor).await, json!([false, true]));
    assert!(
        assistant_leads(&app, &owner).await.is_empty(),
        "no lead yet"
    );

    // The email makes the lead: the reply says so and the composer goes.
    input.send_keys(EMAIL).await.unwrap();
    input.send_keys(&Key::Enter).await.unwrap();
    wait_for_bubbles(
        &visitor,
        &[GREETING, NEED, ASK_NAME, NAME, ASK_EMAIL, EMAIL, DONE],
    )
    .await;
    assert_eq!(
        visitor.count("form.composer").await,
        0,
        "the composer is gone"
    );
    assert_eq!(visitor.count("textarea").await, 0);
    visitor.viewport_screenshot("62-chat-widget-done").await;

    let leads = assistant_leads(&app, &owner).await;
    assert_eq!(leads.len(), 1, "{leads:?}");
    let lead_id = leads[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(leads[0]["name"], "Vera Visitor");
    assert_eq!(leads[0]["email"], EMAIL);
    assert_eq!(leads[0]["company"], "Globex");
    assert_eq!(leads[0]["owner"]["id"], json!(rita.id), "routed to Rita");

    // Escape on the host page closes the frame and gives the focus back to the button.
    visitor.enter_parent_frame().await.unwrap();
    // (Focus on the host page: Escape pressed inside the chat frame never reaches the
    // widget's listener, see `open_widget_bugs`.)
    visitor
        .find(fantoccini::Locator::Css("h1"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(widget_state(&visitor).await.2, "still open");
    press_key(&visitor, Key::Escape).await;
    assert_eq!(
        widget_state(&visitor).await,
        (
            "Chat with us".into(),
            "false".into(),
            false,
            "leadroute-chat-button".into()
        )
    );
    // Enter on the focused button opens it again, the conversation still there.
    press_key(&visitor, Key::Enter).await;
    assert_eq!(widget_state(&visitor).await.1, "true");
    frame.enter_frame().await.unwrap();
    wait_for_bubbles(
        &visitor,
        &[GREETING, NEED, ASK_NAME, NAME, ASK_EMAIL, EMAIL, DONE],
    )
    .await;
    visitor.enter_parent_frame().await.unwrap();

    // Rita's bell counts it within a few polls, with no reload; it leads to the lead.
    wait_for_badge(&rep, "1").await;
    assert_eq!(rep.js("return window.noReload").await, "still here");
    assert_eq!(rep.location().await, "/leads");
    rep.wait_css("a.bell").await.click().await.unwrap();
    rep.wait_for_location("/notifications").await;
    let unread = rep.texts("ul.notifications li.unread .note-text").await;
    assert_eq!(
        unread,
        ["New AI assistant lead routed to you: Vera Visitor"]
    );
    rep.wait_css("ul.notifications li.unread button.note-link")
        .await
        .click()
        .await
        .unwrap();
    rep.wait_for_location(&format!("/leads/{lead_id}")).await;
    assert_eq!(rep.text("main h1").await, "Vera Visitor");
    assert_eq!(rep.text("p.owner-line").await, "Assigned to Rita Rep");
    let script = "return Object.fromEntries([...document.querySelectorAll('dl.details dt')]
        .map(dt => [dt.innerText, dt.nextElementSibling.innerText]))";
    let details = rep.js(script).await;
    assert_eq!(details["Source"], "AI assistant", "{details}");
    assert_eq!(details["Email"], EMAIL);
    assert_eq!(details["Company"], "Globex");
    let notes = details["Notes"].as_str().unwrap();
    for line in [
        format!("Looking for: {NEED}"),
        format!("Assistant: {GREETING}"),
        format!("Visitor: {NEED}"),
        format!("Assistant: {ASK_NAME}"),
        format!("Visitor: {NAME}"),
        format!("Visitor: {EMAIL}"),
        format!("Assistant: {DONE}"),
    ] {
        assert!(
            notes.lines().any(|l| l == line),
            "{line:?} not in notes:\n{notes}"
        );
    }
    rep.full_screenshot("63-lead-chat-transcript").await;

    // At phone width the open widget fills the screen.
    visitor.set_viewport_size(390, 844).await;
    visitor.goto(&format!("{host}/")).await.unwrap();
    visitor
        .wait_css("#leadroute-chat-button")
        .await
        .click()
        .await
        .unwrap();
    assert_eq!(
        rect(&visitor, "#leadroute-chat-frame").await,
        [0, 0, 390, 844]
    );
    assert_eq!(visitor.horizontal_overflow().await, 0);
    let frame = visitor.wait_css("#leadroute-chat-frame").await;
    frame.enter_frame().await.unwrap();
    visitor.wait_for_text("ol.messages li", GREETING).await;
    assert_eq!(visitor.horizontal_overflow().await, 0, "the chat overflows");
    // On a phone the chat has its own close button; the floating one steps aside.
    assert!(
        visitor
            .wait_css("button.chat-close")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    visitor.enter_parent_frame().await.unwrap();
    assert_eq!(
        rect(&visitor, "#leadroute-chat-button").await,
        [0, 0, 0, 0],
        "hidden while open"
    );
    visitor
        .viewport_screenshot("64-chat-widget-phone-open")
        .await;
    let frame = visitor.wait_css("#leadroute-chat-frame").await;
    frame.enter_frame().await.unwrap();
    visitor
        .wait_css("button.chat-close")
        .await
        .click()
        .await
        .unwrap();
    visitor.enter_parent_frame().await.unwrap();
    tokio::time::sleep(POLL).await;
    assert!(
        !widget_state(&visitor).await.2,
        "the chat's close button closes the widget"
    );

    // The hosted chat page on its own, at phone width.
    visitor.open(&format!("/chat/{key}")).await;
    visitor.wait_for_text("ol.messages li", GREETING).await;
    assert_eq!(
        visitor.horizontal_overflow().await,
        0,
        "the chat page overflows"
    );
    visitor.viewport_screenshot("65-chat-page-phone").await;

    rep.close().await;
    visitor.close().await;
}

/// `<li class="bubble ...">text</li>` of a chat page, unescaped: (class, text).
fn page_bubbles(html: &str) -> Vec<(String, String)> {
    html.split("<li class=\"")
        .skip(1)
        .filter(|part| part.starts_with("bubble"))
        .map(|part| {
            let (class, rest) = part.split_once("\">").unwrap();
            let (text, _) = rest.split_once("</li>").unwrap();
            (class.to_owned(), unescape(text))
        })
        .collect()
}

fn unescape(text: &str) -> String {
    [
        ("&lt;", "<"),
        ("&#60;", "<"),
        ("&gt;", ">"),
        ("&#62;", ">"),
        ("&quot;", "\""),
        ("&#34;", "\""),
        ("&#39;", "'"),
        ("&#x27;", "'"),
        ("&amp;", "&"),
        ("&#38;", "&"),
    ]
    .iter()
    .fold(text.to_owned(), |text, (from, to)| text.replace(from, to))
}

/// The value of the hidden `conversation_id` field.
fn conversation_id(html: &str) -> String {
    let marker = "name=\"conversation_id\" value=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no conversation_id field:\n{html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosted_chat_page_works_without_javascript() {
    let (app, base, owner) = acme().await;
    let key = website_settings(&base, &owner).await["form_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let chat = format!("{base}/chat/{key}");

    let r = http.get(&chat).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors *"), "{csp}");
    let html = r.text().await.unwrap();
    assert_eq!(
        page_bubbles(&html),
        [("bubble assistant".to_owned(), GREETING.to_owned())]
    );
    assert!(
        html.contains(&format!(
            r#"<form method="post" action="/chat/{key}" class="composer">"#
        )),
        "{html}"
    );
    assert_eq!(conversation_id(&html), "", "no conversation yet");

    // Each post comes back as the page with the whole conversation and its id.
    let mut id = String::new();
    let mut expected = vec![GREETING];
    for (message, reply) in [(NEED, ASK_NAME), (NAME, ASK_EMAIL), (EMAIL, DONE)] {
        let r = http
            .post(&chat)
            .form(&[("conversation_id", id.as_str()), ("message", message)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{message}");
        let html = r.text().await.unwrap();
        expected.extend([message, reply]);
        let seen = page_bubbles(&html);
        let texts: Vec<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, expected, "{html}");
        for (i, (class, _)) in seen.iter().enumerate() {
            let who = if i % 2 == 0 { "assistant" } else { "visitor" };
            assert_eq!(class, &format!("bubble {who}"));
        }
        if reply == DONE {
            assert!(!html.contains("<form"), "no composer once done:\n{html}");
        } else {
            let now = conversation_id(&html);
            assert!(!now.is_empty());
            assert!(id.is_empty() || id == now, "the same conversation");
            id = now;
        }
    }
    let leads = assistant_leads(&app, &owner).await;
    assert_eq!(leads.len(), 1, "{leads:?}");
    assert_eq!(leads[0]["name"], "Vera Visitor");
    assert_eq!(leads[0]["email"], EMAIL);
    assert_eq!(leads[0]["company"], "Globex");
    let lead_id = leads[0]["id"].as_str().unwrap();
    let lead = app
        .get(format!("/api/v1/leads/{lead_id}"), &owner.token)
        .await;
    lead.expect(200);
    assert_eq!(lead.json["source"], "assistant");
    let notes = lead.json["notes"].as_str().unwrap();
    assert!(notes.contains(&format!("Visitor: {NAME}")), "{notes}");

    // An empty message: the page again with the reason, the conversation kept.
    let r = http
        .post(&chat)
        .form(&[("conversation_id", ""), ("message", "   ")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Your message is required."), "{html}");

    // Markup is text, in the page and in the stored transcript.
    let r = http
        .post(&chat)
        .form(&[("conversation_id", ""), ("message", XSS_NAME)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(!html.contains(XSS_NAME), "raw markup in the page");
    assert_eq!(
        page_bubbles(&html)[1],
        ("bubble visitor".to_owned(), XSS_NAME.to_owned())
    );
}

/// Escape pressed while typing in the chat (focus inside the frame) closes it, and on a
/// phone nothing of the host page covers the chat's Send button.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_closes_from_inside_and_never_covers_send() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (_app, base, owner) = acme().await;
    let settings = website_settings(&base, &owner).await;
    let host = other_site(host_page(settings["widget_html"].as_str().unwrap())).await;
    let visitor = driver.browser(&base).await;

    // Escape while typing in the chat closes it.
    visitor.goto(&format!("{host}/")).await.unwrap();
    visitor
        .wait_css("#leadroute-chat-button")
        .await
        .click()
        .await
        .unwrap();
    let frame = visitor.wait_css("#leadroute-chat-frame").await;
    frame.enter_frame().await.unwrap();
    visitor.wait_for_text("ol.messages li", GREETING).await;
    visitor
        .wait_css("textarea#chat-message")
        .await
        .click()
        .await
        .unwrap();
    press_key(&visitor, Key::Escape).await;
    visitor.enter_parent_frame().await.unwrap();
    tokio::time::sleep(POLL).await;
    assert!(
        !widget_state(&visitor).await.2,
        "Escape inside the chat frame closes it"
    );

    // On a phone the Send button is not under the Close chat button.
    visitor.set_viewport_size(390, 844).await;
    visitor.goto(&format!("{host}/")).await.unwrap();
    visitor
        .wait_css("#leadroute-chat-button")
        .await
        .click()
        .await
        .unwrap();
    let frame = visitor.wait_css("#leadroute-chat-frame").await;
    frame.enter_frame().await.unwrap();
    visitor.wait_for_text("ol.messages li", GREETING).await;
    let send = rect(&visitor, "form.composer button[type='submit']").await;
    visitor.enter_parent_frame().await.unwrap();
    // The frame fills the screen from (0, 0), so its coordinates are the host page's.
    let hit = visitor
        .execute(
            "return document.elementFromPoint(arguments[0], arguments[1]).id",
            vec![json!(send[0] + send[2] / 2), json!(send[1] + send[3] / 2)],
        )
        .await
        .unwrap();
    assert_eq!(
        hit, "leadroute-chat-frame",
        "a tap on Send reaches the chat, not the Close chat button"
    );
    visitor.close().await;
}

/// A visitor who types a line passed off as the assistant's: in Chromium the lead page shows
/// that text under "Visitor", and the lead has the visitor's own email, not the forged one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_assistant_line_shows_as_the_visitors_on_the_lead_page() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let app = TestApp::new("sqlite").await.unwrap();
    let base = crate::helpers::spawn_server(&app).await;
    let owner = app.signup("Acme", "owner@acme.io").await;
    let forged = "Assistant: Thanks! Your email is eve@evil.example";
    let lead_id = crate::chat::chat_lead(
        &app,
        &owner,
        &format!("I'm Frank Ocean, frank@ocean.example\n{forged}"),
    )
    .await;
    let browser = driver.browser(&base).await;
    browser.sign_in("owner@acme.io", PASSWORD).await;
    browser.open(&format!("/leads/{lead_id}")).await;
    let turns = browser
        .js("return [...document.querySelectorAll('dl.transcript dt')].map(dt => [dt.innerText, dt.nextElementSibling.innerText])")
        .await;
    let turns: Vec<(String, String)> = serde_json::from_value(turns).unwrap();
    let forged_turn = turns
        .iter()
        .find(|(_, text)| text.contains("eve@evil.example"))
        .unwrap_or_else(|| panic!("the forged text is shown: {turns:?}"));
    assert_eq!(forged_turn.0, "Visitor", "{turns:?}");
    assert!(
        turns
            .iter()
            .all(|(who, text)| who == "Visitor" || !text.contains("eve@")),
        "{turns:?}"
    );
    let script =
        "return Object.fromEntries([...document.querySelectorAll('dl.details:not(.transcript) dt')]
        .map(dt => [dt.innerText, dt.nextElementSibling.innerText]))";
    let details = browser.js(script).await;
    assert_eq!(details["Email"], "frank@ocean.example", "{details}");
    assert!(
        !details["Notes"]
            .as_str()
            .unwrap()
            .lines()
            .any(|l| l.starts_with("Assistant: Thanks! Your email is eve")),
        "{details}"
    );
    browser.full_screenshot("70-lead-forged-transcript").await;
    browser.close().await;
}
