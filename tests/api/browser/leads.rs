//! Leads in the browser: claiming and unassigning, what Sales sees on a teammate's lead, two reps
//! racing for one lead, a Manager reassigning, the list's views and filters, and a name that is
//! markup. The data comes through the JSON API; the browsers only do what is being tested.

use fantoccini::Locator;
use serde_json::{Value, json};

use super::fixtures::{PASSWORD, acme, join};
use super::{Browser, ChromeDriver, FormExt, XSS_NAME};
use crate::helpers::{Member, TestApp};

/// Creates a lead through the API; its id.
async fn new_lead(app: &TestApp, by: &Member, body: Value) -> String {
    let r = app.post("/api/v1/leads", Some(&by.token), body).await;
    r.expect(201);
    r.json["id"].as_str().unwrap().to_owned()
}

/// The lead's owner id according to the API (None when unassigned).
async fn owner_id(app: &TestApp, member: &Member, lead: &str) -> Option<String> {
    let r = app
        .get(format!("/api/v1/leads/{lead}"), &member.token)
        .await;
    r.expect(200);
    r.json["owner"]["id"].as_str().map(str::to_owned)
}

/// Clicks `label` in the lead page's Actions card.
async fn act(browser: &Browser, label: &str) {
    browser
        .wait_css("section.actions-card")
        .await
        .press(label)
        .await;
}

/// The lines of the lead's History card, without their times.
async fn history(browser: &Browser) -> Vec<String> {
    browser.texts("ol.timeline li span").await
}

/// Clicks the tab `label` above the leads table.
async fn tab(browser: &Browser, label: &str) {
    let xpath = format!("//nav[contains(@class,'tabs')]/a[normalize-space()='{label}']");
    let link = browser.wait_for(Locator::XPath(&xpath)).await;
    link.click().await.unwrap();
}

/// The names in the leads table, sorted.
async fn listed(browser: &Browser) -> Vec<String> {
    let mut names = browser
        .texts("table.leads tbody tr td[data-label='Name']")
        .await;
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sales_rep_claims_and_unassigns_and_only_reads_a_teammates_lead() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (app, base, owner) = acme().await;
    let rita = join(&app, &owner, "sales", "Rita Rep", "rita@acme.test").await;
    let sam = join(&app, &owner, "sales", "Sam Sales", "sam@acme.test").await;
    let ada = new_lead(
        &app,
        &owner,
        json!({"name": "Ada Lovelace", "company": "Analytical Engines",
               "email": "ada@engines.test", "phone": "+44 20 7946 0000",
               "notes": "Asked for a demo of the difference engine."}),
    )
    .await;
    let grace = json!({"name": "Grace Hopper", "company": "Navy", "owner_id": sam.id});
    let grace = new_lead(&app, &owner, grace).await;

    let browser = driver.browser(&base).await;
    browser.sign_in("rita@acme.test", PASSWORD).await;

    // An unassigned lead: Claim, and nothing else to do with it.
    browser.open(&format!("/leads/{ada}")).await;
    assert_eq!(browser.text("main h1").await, "Ada Lovelace");
    let section = browser.text("section.actions-card h3").await;
    assert!(section.eq_ignore_ascii_case("Assignment"), "{section}"); // CSS uppercases it
    assert_eq!(browser.text("p.owner-line").await, "Unassigned");
    assert_eq!(browser.buttons("Claim").await.len(), 1);
    assert!(browser.buttons("Unassign").await.is_empty());
    assert_eq!(browser.count("#f-assign").await, 0, "Sales cannot assign");
    browser.full_screenshot("20-lead-sales-unassigned").await;

    act(&browser, "Claim").await;
    browser
        .wait_for_location(&format!("/leads/{ada}?done=claimed"))
        .await;
    assert_eq!(
        browser.text("p.banner.ok").await,
        "It's now assigned to you."
    );
    assert_eq!(browser.text("p.owner-line").await, "Assigned to Rita Rep");
    assert!(browser.buttons("Claim").await.is_empty());
    assert_eq!(browser.buttons("Unassign").await.len(), 1);
    assert!(
        history(&browser)
            .await
            .contains(&"Rita Rep claimed the lead".into())
    );
    assert_eq!(owner_id(&app, &owner, &ada).await, Some(rita.id.clone()));
    browser.full_screenshot("21-lead-sales-claimed").await;

    act(&browser, "Unassign").await;
    browser
        .wait_for_location(&format!("/leads/{ada}?done=unassigned"))
        .await;
    let notice = browser.text("p.banner.ok").await;
    assert_eq!(notice, "The lead is back in the unassigned pool.");
    assert_eq!(browser.text("p.owner-line").await, "Unassigned");
    assert_eq!(browser.buttons("Claim").await.len(), 1);
    assert!(browser.buttons("Unassign").await.is_empty());
    let unassigned = "Rita Rep unassigned the lead from Rita Rep".to_owned();
    assert!(history(&browser).await.contains(&unassigned));
    assert_eq!(owner_id(&app, &owner, &ada).await, None);

    // A teammate's lead: who owns it and whom to ask, and no way to take it.
    browser.open(&format!("/leads/{grace}")).await;
    assert_eq!(browser.text("main h1").await, "Grace Hopper");
    assert_eq!(browser.text("p.owner-line").await, "Assigned to Sam Sales");
    assert_eq!(
        browser.text("section.actions-card .hint-box").await,
        "Sam Sales owns this lead. Ask an Owner or Manager to reassign it."
    );
    assert!(browser.buttons("Claim").await.is_empty());
    assert!(browser.buttons("Unassign").await.is_empty());
    assert_eq!(browser.count("#f-assign").await, 0);
    assert_eq!(browser.count("form[action$='/claim']").await, 0);
    browser.full_screenshot("22-lead-sales-teammates").await;

    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reps_claim_the_same_lead_and_the_second_is_told() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (app, base, owner) = acme().await;
    let rita = join(&app, &owner, "sales", "Rita Rep", "rita@acme.test").await;
    join(&app, &owner, "sales", "Sam Sales", "sam@acme.test").await;
    let lead = new_lead(&app, &owner, json!({"name": "Alan Turing"})).await;
    let page = format!("/leads/{lead}");

    let (first, second) = (driver.browser(&base).await, driver.browser(&base).await);
    first.sign_in("rita@acme.test", PASSWORD).await;
    second.sign_in("sam@acme.test", PASSWORD).await;
    for rep in [&first, &second] {
        rep.open(&page).await;
        assert_eq!(rep.text("p.owner-line").await, "Unassigned");
    }

    act(&first, "Claim").await;
    first
        .wait_for_location(&format!("{page}?done=claimed"))
        .await;
    assert_eq!(first.text("p.owner-line").await, "Assigned to Rita Rep");

    // Sam's page is stale: it still offers Claim.
    assert_eq!(second.text("p.owner-line").await, "Unassigned");
    act(&second, "Claim").await;
    second.wait_for_location(&format!("{page}/claim")).await;
    assert_eq!(
        second.text("p.banner.error[role='alert']").await,
        "A teammate claimed this lead first."
    );
    assert_eq!(second.text("p.owner-line").await, "Assigned to Rita Rep");
    assert!(second.buttons("Claim").await.is_empty());
    let hint = second.text(".hint-box").await;
    assert!(hint.starts_with("Rita Rep owns this lead."), "{hint}");
    assert_eq!(second.count("ol.timeline li.event-claimed").await, 1);
    second.full_screenshot("23-lead-claim-conflict").await;

    assert_eq!(owner_id(&app, &owner, &lead).await, Some(rita.id));

    first.close().await;
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_reassigns_a_lead_and_history_says_so() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (app, base, owner) = acme().await;
    join(&app, &owner, "manager", "Mona Manager", "mona@acme.test").await;
    let rita = join(&app, &owner, "sales", "Rita Rep", "rita@acme.test").await;
    let sam = join(&app, &owner, "sales", "Sam Sales", "sam@acme.test").await;
    let body = json!({"name": "Hedy Lamarr", "company": "Frequency Hopping Inc.",
                      "owner_id": rita.id});
    let lead = new_lead(&app, &owner, body).await;
    let unowned = json!({"name": "Katherine Johnson", "company": "NASA Langley"});
    let unowned = new_lead(&app, &owner, unowned).await;

    // The Owner on an unassigned lead: Claim, and Assign to anyone sales-capable.
    let olive = driver.browser(&base).await;
    olive.sign_in("olive@acme.test", PASSWORD).await;
    olive.open(&format!("/leads/{unowned}")).await;
    assert_eq!(olive.text("label[for='f-assign']").await, "Assign to");
    assert_eq!(
        olive.texts("#f-assign option").await,
        [
            "Choose a teammate…",
            "Owner of Acme Rockets (me)",
            "Mona Manager",
            "Rita Rep",
            "Sam Sales"
        ]
    );
    assert_eq!(olive.buttons("Assign").await.len(), 1);
    assert_eq!(olive.buttons("Claim").await.len(), 1);
    olive.full_screenshot("24-lead-owner-unassigned").await;
    olive.set_viewport_size(390, 844).await;
    olive.open(&format!("/leads/{lead}")).await;
    olive.wait_css("#f-assign").await;
    assert_eq!(
        olive.horizontal_overflow().await,
        0,
        "the lead page overflows"
    );
    olive.viewport_screenshot("25-lead-owner-phone").await;
    olive.full_screenshot("26-lead-owner-phone-full").await;
    olive.close().await;

    // The Manager moves Rita's lead to Sam.
    let mona = driver.browser(&base).await;
    mona.sign_in("mona@acme.test", PASSWORD).await;
    mona.open(&format!("/leads/{lead}")).await;
    assert_eq!(mona.text("p.owner-line").await, "Assigned to Rita Rep");
    assert_eq!(mona.text("label[for='f-assign']").await, "Reassign to");
    let choices = mona.texts("#f-assign option").await;
    assert!(!choices.contains(&"Rita Rep".into()), "{choices:?}");
    let card = mona.wait_css("section.actions-card").await;
    card.select("owner_id", &sam.id).await;
    card.press("Reassign").await;
    mona.wait_for_location(&format!("/leads/{lead}?done=assigned"))
        .await;
    assert_eq!(mona.text("p.banner.ok").await, "Lead assigned.");
    assert_eq!(mona.text("p.owner-line").await, "Assigned to Sam Sales");
    let line = "Mona Manager reassigned the lead from Rita Rep to Sam Sales".to_owned();
    let lines = history(&mona).await;
    assert!(lines.contains(&line), "{lines:?}");
    assert_eq!(owner_id(&app, &owner, &lead).await, Some(sam.id.clone()));
    mona.full_screenshot("27-lead-manager-reassigned").await;
    mona.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leads_list_views_and_filters_narrow_the_rows() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (app, base, owner) = acme().await;
    let rita = join(&app, &owner, "sales", "Rita Rep", "rita@acme.test").await;
    let sam = join(&app, &owner, "sales", "Sam Sales", "sam@acme.test").await;
    for body in [
        json!({"name": "Ada Lovelace", "company": "Analytical Engines"}),
        json!({"name": "Margaret Hamilton", "company": "MIT", "source": "import"}),
        json!({"name": "Grace Hopper", "company": "Navy", "owner_id": rita.id}),
        json!({"name": "Hedy Lamarr", "company": "MGM", "owner_id": rita.id}),
        json!({"name": "Linus Pauling", "company": "Caltech", "owner_id": sam.id}),
    ] {
        let id = new_lead(&app, &owner, body.clone()).await;
        if body["name"] == "Hedy Lamarr" {
            let won = json!({"status": "won"});
            app.patch(format!("/api/v1/leads/{id}"), &owner.token, won)
                .await
                .expect(200);
        }
    }
    let all = [
        "Ada Lovelace",
        "Grace Hopper",
        "Hedy Lamarr",
        "Linus Pauling",
        "Margaret Hamilton",
    ];

    let browser = driver.browser(&base).await;
    browser.sign_in("rita@acme.test", PASSWORD).await;
    assert_eq!(
        browser.texts("nav.tabs a").await,
        ["All", "Unassigned", "Mine"]
    );
    assert_eq!(browser.text("nav.tabs a[aria-current='page']").await, "All");
    assert_eq!(listed(&browser).await, all);
    browser.full_screenshot("30-leads-list").await;

    tab(&browser, "Unassigned").await;
    browser.wait_for_location("/leads?owner=none").await;
    assert_eq!(
        listed(&browser).await,
        ["Ada Lovelace", "Margaret Hamilton"]
    );
    let owners = browser.texts("table.leads td[data-label='Owner']").await;
    assert_eq!(owners, ["Unassigned", "Unassigned"]);
    let current = browser.text("nav.tabs a[aria-current='page']").await;
    assert_eq!(current, "Unassigned");
    assert_eq!(browser.wait_css("#f-owner").await.value().await, "none");

    tab(&browser, "Mine").await;
    browser.wait_for_location("/leads?owner=me").await;
    assert_eq!(listed(&browser).await, ["Grace Hopper", "Hedy Lamarr"]);

    // Mine, then Status Won through the filter form.
    let filters = browser.wait_css("form.filters").await;
    filters.select("status", "won").await;
    filters.press("Apply").await;
    browser
        .wait_for_location("/leads?owner=me&status=won&source=&q=")
        .await;
    assert_eq!(listed(&browser).await, ["Hedy Lamarr"]);

    // Everyone's leads, searched by company.
    tab(&browser, "All").await;
    browser.wait_for_location("/leads").await;
    let filters = browser.wait_css("form.filters").await;
    filters.fill("q", "analytical").await;
    filters.press("Apply").await;
    browser
        .wait_for_location("/leads?owner=&status=&source=&q=analytical")
        .await;
    assert_eq!(listed(&browser).await, ["Ada Lovelace"]);
    assert_eq!(browser.wait_css("#f-q").await.value().await, "analytical");

    // Source Import, and a search nothing matches.
    browser.open("/leads?source=import").await;
    assert_eq!(listed(&browser).await, ["Margaret Hamilton"]);
    browser.open("/leads?q=nobody-like-this").await;
    assert_eq!(
        browser.text("p.empty").await,
        "No leads match these filters. Show all leads."
    );
    assert_eq!(browser.count("table.leads").await, 0);

    browser.set_viewport_size(390, 844).await;
    browser.open("/leads").await;
    browser.wait_css("table.leads").await;
    let head = browser.wait_css("table.leads thead").await;
    assert!(
        !head.is_displayed().await.unwrap(),
        "rows are cards on phones"
    );
    assert_eq!(browser.horizontal_overflow().await, 0, "Leads overflows");
    browser.viewport_screenshot("31-leads-list-phone").await;
    browser.full_screenshot("32-leads-list-phone-full").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_named_with_markup_is_shown_as_text() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (app, base, owner) = acme().await;
    let mallory = join(&app, &owner, "sales", XSS_NAME, "mal@acme.test").await;

    let browser = driver.browser(&base).await;
    browser.sign_in("olive@acme.test", PASSWORD).await;
    browser
        .wait_for(Locator::LinkText("New lead"))
        .await
        .click()
        .await
        .unwrap();
    browser.wait_for_location("/leads/new").await;
    let form = browser.wait_css("form[action='/leads']").await;
    form.fill("name", XSS_NAME).await;
    form.fill("company", "Evil Corp").await;
    form.fill("email", "mal@evil.test").await;
    let owners = browser.texts("#f-owner_id option").await;
    assert!(owners.contains(&XSS_NAME.to_owned()), "{owners:?}");
    browser.full_screenshot("33-new-lead").await;
    form.press("Create lead").await;

    // The lead page: heading and title are the text, nothing ran.
    browser.wait_for_text("main h1", XSS_NAME).await;
    assert_eq!(
        browser.title().await.unwrap(),
        format!("{XSS_NAME} · Leadroute")
    );
    browser.assert_markup_inert().await;
    let url = browser.current_url().await.unwrap();
    let id = url.path().rsplit('/').next().unwrap().to_owned();

    // Given to the member whose name is markup too: the owner line and History show it.
    let card = browser.wait_css("section.actions-card").await;
    card.select("owner_id", &mallory.id).await;
    card.press("Assign").await;
    browser
        .wait_for_location(&format!("/leads/{id}?done=assigned"))
        .await;
    let owner_line = browser.text("p.owner-line").await;
    assert_eq!(owner_line, format!("Assigned to {XSS_NAME}"));
    let line = format!("Owner of Acme Rockets assigned the lead to {XSS_NAME}");
    assert!(history(&browser).await.contains(&line));
    browser.assert_markup_inert().await;

    // The list.
    browser.open("/leads").await;
    assert_eq!(listed(&browser).await, [XSS_NAME]);
    let owner_cell = browser.text("table.leads td[data-label='Owner']").await;
    assert_eq!(owner_cell, XSS_NAME);
    browser.assert_markup_inert().await;
    assert_eq!(owner_id(&app, &owner, &id).await, Some(mallory.id));

    browser.close().await;
}
