//! The website form in the browser: a script on another site posting JSON across origins, a
//! visitor on the hosted form (errors, then the thank-you page), and the routed rep's bell
//! counting the new lead without a reload, then leading to it.

use fantoccini::Locator;
use serde_json::{Value, json};

use super::fixtures::{PASSWORD, acme, acme_routed_to_rita, badge, other_site, wait_for_badge};
use super::routing::menu_item;
use super::{ChromeDriver, FormExt};
use crate::helpers::{Member, TestApp};

/// The account's website leads, newest first, through the API.
async fn website_leads(app: &TestApp, member: &Member) -> Vec<Value> {
    let r = app.get("/api/v1/leads?source=website", &member.token).await;
    r.expect(200);
    r.json["leads"].as_array().unwrap().clone()
}

/// The partner's page: on load its script posts JSON to the form across origins and writes
/// each status and body into the page. A failed fetch (CORS refused) shows as `error: ...`.
const PARTNER_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rocket Parts Ltd</title></head>
<body>
<h1>Rocket Parts Ltd: contact us</h1>
<dl>
  <dt>Sent</dt><dd><span id="status">pending</span> <code id="body"></code></dd>
  <dt>Bad email</dt><dd><span id="bad-status">pending</span> <code id="bad-body"></code></dd>
  <dt>Same key twice</dt><dd><code id="repeat">pending</code></dd>
</dl>
<p id="done"></p>
<script>
"use strict";
const FORM = "FORM_URL";
async function send(body, headers) {
  try {
    const response = await fetch(FORM, {
      method: "POST",
      headers: Object.assign({"Content-Type": "application/json"}, headers || {}),
      body: JSON.stringify(body),
    });
    return {status: String(response.status), body: await response.text()};
  } catch (e) {
    return {status: "error: " + e, body: ""};
  }
}
function show(id, result) {
  document.getElementById(id).textContent = result.status;
  document.getElementById(id.replace("status", "body")).textContent = result.body;
}
(async () => {
  show("status", await send({name: "Nora Partner", email: "nora@rocketparts.test",
                             company: "Rocket Parts Ltd", message: "Fifty nozzles, please."}));
  show("bad-status", await send({name: "Bad Email", email: "not-an-email"}));
  const key = {"Idempotency-Key": "partner-order-17"};
  const first = await send({name: "Ivo Once", email: "ivo@rocketparts.test"}, key);
  const again = await send({name: "Ivo Once", email: "ivo@rocketparts.test"}, key);
  document.getElementById("repeat").textContent =
    JSON.stringify([first.status, first.body, again.status, again.body]);
  document.getElementById("done").textContent = "done";
})();
</script>
</body></html>
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_on_another_site_posts_json_to_the_form() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (app, base, owner) = acme().await;
    let key = app.form_key(&owner).await;

    // The Owner finds the form's address under Website form.
    let browser = driver.browser(&base).await;
    browser.sign_in("olive@acme.test", PASSWORD).await;
    menu_item(&browser, "Website form").await;
    browser.wait_for_location("/settings/website").await;
    assert_eq!(browser.text("main h1").await, "Website form");
    assert_eq!(browser.text("dl.details dd code").await, key);
    let form_url = format!("{base}/f/{key}");
    let hosted = browser.wait_for(Locator::LinkText(&form_url)).await;
    assert_eq!(hosted.attr("href").await.unwrap(), Some(form_url.clone()));
    let embed = browser.wait_css("#embed-html").await.value().await;
    assert!(
        embed.contains(&format!("<form action=\"{form_url}\" method=\"post\">")),
        "{embed}"
    );
    browser.full_screenshot("50-website-settings-owner").await;

    // Another site, on another port: its script posts JSON to the form.
    let partner = other_site(PARTNER_PAGE.replace("FORM_URL", &form_url)).await;
    assert_ne!(partner, base);
    browser.goto(&format!("{partner}/")).await.unwrap();
    browser.wait_for_text("#done", "done").await;
    let origin = browser.js("return location.origin").await;
    assert_eq!(origin, json!(partner), "the page runs on the other origin");
    browser.full_screenshot("51-partner-site").await;

    assert_eq!(browser.text("#status").await, "201");
    let body: Value = serde_json::from_str(&browser.text("#body").await).unwrap();
    let id = body["id"].as_str().expect("an id in the answer");
    let r = app.get(format!("/api/v1/leads/{id}"), &owner.token).await;
    r.expect(200);
    assert_eq!(r.json["source"], "website", "{}", r.text);
    assert_eq!(r.json["name"], "Nora Partner");
    assert_eq!(r.json["email"], "nora@rocketparts.test");
    assert_eq!(r.json["company"], "Rocket Parts Ltd");
    assert_eq!(r.json["created_by"], Value::Null);
    assert_eq!(r.json["owner"], Value::Null, "routing is off");

    // A bad field: the script can read the 422 and why.
    assert_eq!(browser.text("#bad-status").await, "422");
    let bad: Value = serde_json::from_str(&browser.text("#bad-body").await).unwrap();
    assert_eq!(bad["error"]["code"], "validation", "{bad}");
    assert!(bad["error"]["fields"]["email"].is_string(), "{bad}");

    // The Idempotency-Key header is allowed across origins and a repeat creates nothing.
    let repeat: Value = serde_json::from_str(&browser.text("#repeat").await).unwrap();
    assert_eq!(repeat[0], "201", "{repeat}");
    assert_eq!(repeat[2], "201", "{repeat}");
    assert_eq!(repeat[1], repeat[3], "the same lead both times: {repeat}");
    let mut names: Vec<String> = website_leads(&app, &owner)
        .await
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Ivo Once", "Nora Partner"], "one lead per key");

    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_sends_the_hosted_form_and_the_routed_rep_is_told() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (app, base, owner, rita) = acme_routed_to_rita().await;
    let key = app.form_key(&owner).await;

    // Rita is on Leads, signed in, before anyone writes in.
    let rep = driver.browser(&base).await;
    rep.sign_in("rita@acme.test", PASSWORD).await;
    assert_eq!(badge(&rep).await, (false, "0".to_owned()));
    let label = rep.wait_css("a.bell").await.attr("aria-label").await;
    assert_eq!(label.unwrap().as_deref(), Some("Notifications, 0 unread"));
    rep.js("window.noReload = 'still here'; return null").await;

    // A visitor, signed in nowhere, opens the hosted form and gets the email wrong.
    let visitor = driver.browser(&base).await;
    visitor.open(&format!("/f/{key}")).await;
    assert_eq!(visitor.text("main h1").await, "Contact Acme Rockets");
    assert_eq!(visitor.title().await.unwrap(), "Contact Acme Rockets");
    let honeypot = visitor.wait_css("#f-website").await;
    assert!(
        !honeypot.is_displayed().await.unwrap(),
        "the honeypot shows"
    );
    visitor.full_screenshot("52-hosted-form").await;
    let form = visitor.wait_css(&format!("form[action='/f/{key}']")).await;
    let typed = [
        ("name", "Vera Visitor"),
        ("email", "vera-at-example"),
        ("phone", "+1 555 0100"),
        ("company", "Visitor Labs"),
        ("message", "Do you ship to the Moon?"),
    ];
    for (field, value) in typed {
        form.fill(field, value).await;
    }
    form.press("Send").await;
    assert_eq!(
        visitor.text("#e-email").await,
        "Email is not a valid email address."
    );
    assert_eq!(visitor.location().await, format!("/f/{key}"));
    let email = visitor.wait_css("#f-email").await;
    let invalid = email.attr("aria-invalid").await.unwrap();
    assert_eq!(invalid.as_deref(), Some("true"));
    for (field, value) in typed {
        let input = visitor.wait_css(&format!("#f-{field}")).await;
        assert_eq!(input.value().await, value, "{field} is kept");
    }
    assert_eq!(visitor.count(".field.has-error").await, 1, "only the email");
    visitor.full_screenshot("53-hosted-form-errors").await;
    assert!(website_leads(&app, &owner).await.is_empty(), "no lead yet");

    // Fixed, sent: the thank-you page.
    let form = visitor.wait_css(&format!("form[action='/f/{key}']")).await;
    form.fill("email", "vera@visitorlabs.test").await;
    form.press("Send").await;
    visitor.wait_for_location(&format!("/f/{key}/thanks")).await;
    assert_eq!(visitor.text("main h1").await, "Thank you!");
    let thanks = visitor.text("main section p").await;
    assert!(thanks.contains("Acme Rockets"), "{thanks}");
    visitor.full_screenshot("54-hosted-form-thanks").await;

    let leads = website_leads(&app, &owner).await;
    assert_eq!(leads.len(), 1, "{leads:?}");
    let lead = &leads[0];
    let lead_id = lead["id"].as_str().unwrap().to_owned();
    assert_eq!(lead["name"], "Vera Visitor");
    assert_eq!(lead["email"], "vera@visitorlabs.test");
    assert_eq!(lead["phone"], "+1 555 0100");
    assert_eq!(lead["company"], "Visitor Labs");
    assert_eq!(lead["owner"]["id"], json!(rita.id), "routed to Rita");

    // Rita's bell counts it within a few polls, with no reload.
    wait_for_badge(&rep, "1").await;
    assert_eq!(rep.js("return window.noReload").await, "still here");
    assert_eq!(rep.location().await, "/leads");
    let label = rep.wait_css("a.bell").await.attr("aria-label").await;
    assert_eq!(label.unwrap().as_deref(), Some("Notifications, 1 unread"));
    rep.viewport_screenshot("55-leads-bell-badge").await;

    // The bell opens the notifications; the notification opens the lead.
    rep.wait_css("a.bell").await.click().await.unwrap();
    rep.wait_for_location("/notifications").await;
    assert_eq!(rep.text("main h1").await, "Notifications");
    let unread = rep.texts("ul.notifications li.unread .note-text").await;
    assert_eq!(unread, ["New website lead routed to you: Vera Visitor"]);
    assert_eq!(rep.count("ul.notifications li").await, 1);
    assert_eq!(rep.buttons("Mark all as read").await.len(), 1);
    rep.full_screenshot("56-notifications").await;
    rep.wait_css("ul.notifications li.unread button.note-link")
        .await
        .click()
        .await
        .unwrap();
    rep.wait_for_location(&format!("/leads/{lead_id}")).await;
    assert_eq!(rep.text("main h1").await, "Vera Visitor");
    assert_eq!(rep.text("p.owner-line").await, "Assigned to Rita Rep");
    assert_eq!(badge(&rep).await, (false, "0".to_owned()));
    let label = rep.wait_css("a.bell").await.attr("aria-label").await;
    assert_eq!(label.unwrap().as_deref(), Some("Notifications, 0 unread"));

    // Read, in the API and on the page; the Owner, not routed to, heard nothing.
    let r = app.get("/api/v1/notifications", &rita.token).await;
    r.expect(200);
    assert_eq!(r.json["unread_count"], 0, "{}", r.text);
    assert!(
        r.json["notifications"][0]["read_at"].is_string(),
        "{}",
        r.text
    );
    assert_eq!(r.json["notifications"][0]["lead"]["id"], json!(lead_id));
    rep.open("/notifications").await;
    assert_eq!(rep.count("ul.notifications li.unread").await, 0);
    assert!(rep.buttons("Mark all as read").await.is_empty());
    let r = app.get("/api/v1/notifications", &owner.token).await;
    assert_eq!(r.json["notifications"], json!([]), "{}", r.text);

    rep.set_viewport_size(390, 844).await;
    rep.open("/notifications").await;
    rep.wait_css("ul.notifications").await;
    assert_eq!(
        rep.horizontal_overflow().await,
        0,
        "Notifications overflows"
    );
    rep.viewport_screenshot("57-notifications-phone").await;
    visitor.set_viewport_size(390, 844).await;
    visitor.open(&format!("/f/{key}")).await;
    visitor.wait_css("form").await;
    assert_eq!(visitor.horizontal_overflow().await, 0, "the form overflows");
    visitor.full_screenshot("58-hosted-form-phone").await;

    rep.close().await;
    visitor.close().await;
}
