//! The Lead routing page in the browser (account menu -> Lead routing): the switch that greys
//! out the choices at once, an Owner's save and its audit entry, Sales opening the page but not
//! saving, the empty state of a lone Owner, and "Why this owner?" on a routed lead's page.
//! The data comes through the JSON API; the browsers only do what is being tested.

use fantoccini::Locator;
use serde_json::{Value, json};

use super::fixtures::{PASSWORD, acme, join};
use super::{Browser, ChromeDriver, FormExt};
use crate::helpers::{Member, TestApp};

/// The routing settings according to the API.
async fn routing(app: &TestApp, member: &Member) -> Value {
    let r = app.get("/api/v1/routing", &member.token).await;
    r.expect(200);
    r.json.clone()
}

/// How many `routing.updated` entries the audit log holds, according to the API.
async fn routing_audits(app: &TestApp, owner: &Member) -> usize {
    let r = app
        .get("/api/v1/audit?action=routing.updated", &owner.token)
        .await;
    r.expect(200);
    r.json["entries"].as_array().unwrap().len()
}

/// Opens the account menu and follows its item `label`.
pub(super) async fn menu_item(browser: &Browser, label: &str) {
    let items = browser.open_account_menu().await;
    assert!(items.iter().any(|i| i == label), "{label} not in {items:?}");
    let xpath =
        format!("//details[contains(@class,'account-menu')]//a[normalize-space()='{label}']");
    let item = browser.wait_for(Locator::XPath(&xpath)).await;
    item.click().await.unwrap();
}

/// The `disabled` property of the two greyed-out-able fieldsets, as the page has it now.
async fn choices_disabled(browser: &Browser) -> Vec<bool> {
    let script = r#"return [...document.querySelectorAll('fieldset[data-group="routing-choices"]')]
        .map(f => f.disabled)"#;
    let value = browser.js(script).await;
    let flags: Vec<bool> = serde_json::from_value(value).unwrap();
    assert_eq!(flags.len(), 2, "two fieldsets of choices");
    flags
}

/// Whether the input matching `css` is checked right now.
async fn checked(browser: &Browser, css: &str) -> bool {
    let input = browser.wait_css(css).await;
    input.prop("checked").await.unwrap().as_deref() == Some("true")
}

/// Clicks the `label.choice` whose text holds `text` (a strategy or a member).
async fn click_choice(browser: &Browser, text: &str) {
    let xpath =
        format!("//label[contains(@class,'choice')][contains(normalize-space(), '{text}')]");
    let label = browser.wait_for(Locator::XPath(&xpath)).await;
    label.click().await.unwrap();
}

/// Clicks the "Turn on lead routing" switch (its label; the checkbox itself is invisible).
async fn flip_switch(browser: &Browser) {
    let label = browser.wait_css("label.switch[for='f-enabled']").await;
    assert_eq!(label.text().await.unwrap(), "Turn on lead routing");
    label.click().await.unwrap();
}

const BALANCED: &str = "input[name='strategy'][value='balanced']";
const ROUND_ROBIN: &str = "input[name='strategy'][value='round_robin']";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_switch_greys_out_the_choices_at_once_and_an_owner_saves() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (app, base, owner) = acme().await;
    let rita = join(&app, &owner, "sales", "Rita Rep", "rita@acme.test").await;
    let sam = join(&app, &owner, "sales", "Sam Sales", "sam@acme.test").await;
    join(&app, &owner, "accounting", "Abe Accounts", "abe@acme.test").await;
    let rita_box = format!("input[name='rotation'][value='{}']", rita.id);
    let sam_box = format!("input[name='rotation'][value='{}']", sam.id);

    let browser = driver.browser(&base).await;
    browser.sign_in("olive@acme.test", PASSWORD).await;
    menu_item(&browser, "Lead routing").await;
    browser.wait_for_location("/settings/routing").await;
    assert_eq!(browser.text("main h1").await, "Lead routing");
    assert_eq!(browser.title().await.unwrap(), "Lead routing · Leadroute");
    assert_eq!(
        browser.texts("fieldset.choices legend").await,
        ["Strategy", "Who's in the rotation"]
    );
    let names = browser.texts("ul.rotation .who strong").await;
    assert_eq!(names, ["Owner of Acme Rockets", "Rita Rep", "Sam Sales"]);

    // Routing is off: both groups of choices are greyed out and clicking them does nothing.
    assert!(!checked(&browser, "#f-enabled").await);
    assert_eq!(choices_disabled(&browser).await, [true, true]);
    click_choice(&browser, "Balanced by workload").await;
    click_choice(&browser, "Rita Rep").await;
    assert!(
        checked(&browser, ROUND_ROBIN).await,
        "the saved strategy stays"
    );
    assert!(
        !checked(&browser, BALANCED).await,
        "a greyed-out radio changed"
    );
    assert!(
        !checked(&browser, &rita_box).await,
        "a greyed-out box changed"
    );

    // The switch un-greys them at once, with no reload (the marker would be gone).
    browser
        .js("window.noReload = 'still here'; return null")
        .await;
    flip_switch(&browser).await;
    assert!(checked(&browser, "#f-enabled").await);
    assert_eq!(choices_disabled(&browser).await, [false, false]);
    click_choice(&browser, "Balanced by workload").await;
    assert!(
        checked(&browser, BALANCED).await,
        "the radio can be picked now"
    );
    assert!(!checked(&browser, ROUND_ROBIN).await);

    // Off again: greyed out again, and the radios are stuck once more.
    flip_switch(&browser).await;
    assert!(!checked(&browser, "#f-enabled").await);
    assert_eq!(choices_disabled(&browser).await, [true, true]);
    click_choice(&browser, "Round-robin").await;
    assert!(
        checked(&browser, BALANCED).await,
        "a greyed-out radio changed"
    );
    assert_eq!(browser.js("return window.noReload").await, "still here");
    assert_eq!(browser.location().await, "/settings/routing");
    assert_eq!(routing_audits(&app, &owner).await, 0, "nothing saved yet");

    // On, Balanced by workload, only Rita: Save lead routing.
    flip_switch(&browser).await;
    assert_eq!(choices_disabled(&browser).await, [false, false]);
    click_choice(&browser, "Balanced by workload").await;
    click_choice(&browser, "Rita Rep").await;
    assert!(checked(&browser, &rita_box).await);
    assert!(!checked(&browser, &sam_box).await);
    let form = browser.wait_css("form.routing-form").await;
    form.press("Save lead routing").await;
    browser.wait_for_location("/settings/routing?saved=1").await;
    let notice = browser.text("p.banner.ok[role='status']").await;
    assert!(notice.starts_with("Lead routing saved."), "{notice}");
    assert_eq!(browser.count("p.banner.error").await, 0);

    // A fresh load shows what was saved; the API agrees.
    browser.open("/settings/routing").await;
    assert_eq!(browser.count("p.banner").await, 0, "the notice is gone");
    assert!(checked(&browser, "#f-enabled").await);
    assert_eq!(choices_disabled(&browser).await, [false, false]);
    assert!(checked(&browser, BALANCED).await);
    assert!(!checked(&browser, ROUND_ROBIN).await);
    assert!(checked(&browser, &rita_box).await);
    assert!(!checked(&browser, &sam_box).await);
    assert_eq!(
        browser.text("p.next-name").await,
        "Every routed lead goes to Rita Rep, the only one in the pool."
    );
    let saved = routing(&app, &owner).await;
    assert_eq!(saved["enabled"], true, "{saved}");
    assert_eq!(saved["strategy"], "balanced", "{saved}");
    assert_eq!(saved["rotation"], json!([rita.id]), "{saved}");
    assert_eq!(saved["next"], json!(rita.id), "{saved}");
    assert_eq!(saved["updated_by"]["id"], json!(owner.id), "{saved}");
    browser.full_screenshot("40-routing-owner-saved").await;

    // The save is in the audit log, as routing.updated with the settings after.
    assert_eq!(routing_audits(&app, &owner).await, 1);
    menu_item(&browser, "Audit log").await;
    browser.wait_for_location("/audit").await;
    let xpath = "//table[contains(@class,'audit')]/tbody/tr\
                 [td[@data-label='Action'][normalize-space()='routing.updated']]";
    let row = browser.wait_for(Locator::XPath(xpath)).await;
    let rows = browser.find_all(Locator::XPath(xpath)).await.unwrap();
    assert_eq!(rows.len(), 1, "one routing.updated entry");
    let who = row.find(Locator::Css("td[data-label='Who']")).await;
    assert_eq!(who.unwrap().text().await.unwrap(), "Owner of Acme Rockets");
    let after = row.find(Locator::Css("td[data-label='After']")).await;
    let after = after.unwrap().text().await.unwrap();
    assert!(
        after.contains("balanced") && after.contains(&rita.id),
        "{after}"
    );

    // The page at phone width: nothing overflows and the switch shows.
    browser.set_viewport_size(390, 844).await;
    browser.open("/settings/routing").await;
    browser.wait_css("form.routing-form").await;
    assert_eq!(
        browser.horizontal_overflow().await,
        0,
        "Lead routing overflows"
    );
    let switch = browser.wait_css("label.switch").await;
    assert!(switch.is_displayed().await.unwrap());
    browser.viewport_screenshot("41-routing-owner-phone").await;
    browser.full_screenshot("42-routing-owner-phone-full").await;

    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sales_rep_opens_lead_routing_but_cannot_save() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (app, base, owner) = acme().await;
    join(&app, &owner, "sales", "Rita Rep", "rita@acme.test").await;

    let browser = driver.browser(&base).await;
    browser.sign_in("rita@acme.test", PASSWORD).await;
    let before = routing(&app, &owner).await;
    let rows_before = app.snapshot().await;
    menu_item(&browser, "Lead routing").await;
    browser.wait_for_location("/settings/routing").await;
    assert_eq!(browser.text("main h1").await, "Lead routing");
    assert_eq!(
        browser.text(".form-actions .muted").await,
        "Only an Owner or Manager can save changes."
    );

    // Rita turns it on, picks Balanced and saves anyway.
    flip_switch(&browser).await;
    assert_eq!(choices_disabled(&browser).await, [false, false]);
    click_choice(&browser, "Balanced by workload").await;
    assert!(checked(&browser, BALANCED).await);
    let form = browser.wait_css("form.routing-form").await;
    form.press("Save lead routing").await;
    let banner = browser.text("p.banner.error[role='alert']").await;
    assert!(
        banner.starts_with("You don't have permission to change lead routing."),
        "{banner}"
    );
    assert_eq!(browser.count("p.banner.ok").await, 0, "no success notice");
    assert_eq!(browser.location().await, "/settings/routing");
    // The page shows the saved settings again, not what Rita tried.
    assert!(!checked(&browser, "#f-enabled").await);
    assert_eq!(choices_disabled(&browser).await, [true, true]);
    assert!(checked(&browser, ROUND_ROBIN).await);
    browser.full_screenshot("43-routing-sales-error").await;

    // Nothing changed: the settings, and every row (no audit entry either).
    assert_eq!(routing(&app, &owner).await, before);
    assert_eq!(app.snapshot().await, rows_before);
    assert_eq!(routing_audits(&app, &owner).await, 0);

    browser.set_viewport_size(390, 844).await;
    browser.open("/settings/routing").await;
    browser.wait_css("form.routing-form").await;
    assert_eq!(browser.horizontal_overflow().await, 0);
    browser.viewport_screenshot("44-routing-sales-phone").await;

    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_owner_is_sent_to_the_team_page_first() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (app, base, owner) = acme().await;
    let browser = driver.browser(&base).await;
    browser.sign_in("olive@acme.test", PASSWORD).await;
    browser.open("/settings/routing").await;
    let empty = browser.text(".empty-state").await;
    assert!(
        empty.starts_with("No sales-capable team members yet"),
        "{empty}"
    );
    assert!(empty.contains("Settings → Team"), "{empty}");
    assert_eq!(
        browser.texts("ul.rotation .who strong").await,
        ["Owner of Acme Rockets"]
    );
    browser.full_screenshot("45-routing-empty-state").await;

    // The link works, even inside the greyed-out group.
    let link = browser.wait_for(Locator::LinkText("Settings → Team")).await;
    assert_eq!(
        link.attr("href").await.unwrap().as_deref(),
        Some("/settings/team")
    );
    link.click().await.unwrap();
    browser.wait_for_location("/settings/team").await;
    assert_eq!(browser.text("main h1").await, "Team");

    // Accounting is never sales-capable: still empty. A Sales rep ends the empty state.
    join(&app, &owner, "accounting", "Abe Accounts", "abe@acme.test").await;
    browser.open("/settings/routing").await;
    browser.wait_css("form.routing-form").await;
    assert_eq!(browser.count(".empty-state").await, 1);
    assert!(!browser.body_text().await.contains("Abe Accounts"));
    join(&app, &owner, "sales", "Rita Rep", "rita@acme.test").await;
    browser.open("/settings/routing").await;
    browser.wait_css("form.routing-form").await;
    assert_eq!(browser.count(".empty-state").await, 0);
    assert!(!browser.body_text().await.contains("No sales-capable"));
    assert_eq!(
        browser.texts("ul.rotation .who strong").await,
        ["Owner of Acme Rockets", "Rita Rep"]
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_lead_says_why_this_owner() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (app, base, owner) = acme().await;
    let rita = join(&app, &owner, "sales", "Rita Rep", "rita@acme.test").await;
    let sam = join(&app, &owner, "sales", "Sam Sales", "sam@acme.test").await;
    app.routing_on(&owner, Some("round_robin"), Some(&[&rita, &sam]))
        .await
        .expect(200);
    let mut leads = Vec::new();
    for name in ["Ada Lovelace", "Grace Hopper"] {
        let r = app
            .post("/api/v1/leads", Some(&owner.token), json!({"name": name}))
            .await;
        r.expect(201);
        leads.push(r.json.clone());
    }
    let (ada, grace) = (&leads[0], &leads[1]);
    assert_eq!(ada["owner"]["id"], json!(rita.id), "{ada}");
    assert_eq!(grace["owner"]["id"], json!(sam.id), "{grace}");
    let reason = grace["routing"]["reason"].as_str().unwrap();
    assert!(!reason.is_empty());
    // A lead given an owner by hand was not routed: no receipt.
    let by_hand = json!({"name": "Hedy Lamarr", "owner_id": rita.id});
    let r = app.post("/api/v1/leads", Some(&owner.token), by_hand).await;
    r.expect(201);
    assert_eq!(r.json["routing"], Value::Null);
    let by_hand = r.json["id"].as_str().unwrap().to_owned();

    let browser = driver.browser(&base).await;
    browser.sign_in("olive@acme.test", PASSWORD).await;
    browser
        .open(&format!("/leads/{}", grace["id"].as_str().unwrap()))
        .await;
    assert_eq!(browser.text("main h1").await, "Grace Hopper");
    assert_eq!(browser.text("p.owner-line").await, "Assigned to Sam Sales");
    assert_eq!(browser.text("section.receipt h2").await, "Why this owner?");
    assert_eq!(browser.text("section.receipt > p").await, reason);
    let picked = browser.texts("section.receipt tbody tr.chosen").await;
    assert_eq!(picked.len(), 1, "{picked:?}");
    assert!(picked[0].starts_with("Sam Sales picked"), "{picked:?}");
    assert_eq!(
        browser.text("section.receipt tr.chosen .tag").await,
        "picked"
    );
    let pool = browser
        .texts("section.receipt tbody tr td:first-child")
        .await;
    assert_eq!(pool, ["Rita Rep", "Sam Sales picked"]);
    let facts = browser.texts("section.receipt dd").await;
    assert_eq!(facts[..2], ["Round-robin", "#2"], "{facts:?}");
    assert_eq!(grace["routing"]["seq"], 2);
    browser.full_screenshot("46-lead-why-this-owner").await;

    browser.open(&format!("/leads/{by_hand}")).await;
    assert_eq!(browser.text("main h1").await, "Hedy Lamarr");
    assert_eq!(browser.count("section.receipt").await, 0);
    assert!(!browser.body_text().await.contains("Why this owner?"));

    browser.close().await;
}
