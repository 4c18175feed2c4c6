//! Routing rules and rotations in the browser: adding a rotation, building a rule from
//! nothing, reordering before one Save, testing a lead, and the 30-day backtest. The
//! outcome is read back through the API.

use serde_json::{Value, json};

use super::fixtures::{PASSWORD, acme, join};
use super::{ChromeDriver, FormExt};
use crate::helpers::TestApp;

async fn rules(app: &TestApp, token: &str) -> Value {
    let r = app.get("/api/v1/routing/rules", token).await;
    r.expect(200);
    r.json["rules"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_builds_reorders_tests_and_backtests_rules() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (app, base, owner) = acme().await;
    join(&app, &owner, "manager", "Mia Manager", "mia@acme.test").await;
    let ana = join(&app, &owner, "sales", "Ana Alpen", "ana@acme.test").await;
    let ben = join(&app, &owner, "sales", "Ben Boston", "ben@acme.test").await;
    app.routing_on(&owner, Some("round_robin"), Some(&[&ana, &ben]))
        .await
        .expect(200);
    // Leads of the last days for the backtest: two from Germany, two from the US.
    for (i, country) in ["DE", "US", "DE", "US"].iter().enumerate() {
        let r = app
            .post(
                "/api/v1/leads",
                Some(&owner.token),
                json!({"name": format!("Lead {i}"), "country": country}),
            )
            .await;
        r.expect(201);
    }

    let browser = driver.browser(&base).await;
    browser.sign_in("mia@acme.test", PASSWORD).await;
    browser.open("/settings/routing").await;
    let link = browser.wait_css("a[href='/settings/routing/rules']").await;
    link.click().await.unwrap();
    browser.wait_for_location("/settings/routing/rules").await;
    assert_eq!(browser.text("main h1").await, "Routing rules and rotations");
    assert_eq!(
        browser.texts("li.rule.fixed strong").await,
        ["Everyone else → Everyone"]
    );

    // A rotation for the DACH countries, with Ana only.
    let add = browser
        .wait_css("a[href='/settings/routing/rotations/new']")
        .await;
    add.click().await.unwrap();
    browser
        .wait_for_location("/settings/routing/rotations/new")
        .await;
    let form = browser.wait_css("main form.card").await;
    form.fill("name", "DACH").await;
    let ana_box = browser
        .wait_css(&format!("input[name='member'][value='{}']", ana.id))
        .await;
    ana_box.click().await.unwrap();
    form.press("Save rotation").await;
    browser
        .wait_for_location("/settings/routing/rules?rotation=saved")
        .await;
    let dach_id = {
        let r = app.get("/api/v1/rotations", &owner.token).await;
        r.json["rotations"][1]["id"].as_str().unwrap().to_owned()
    };
    assert!(
        browser
            .texts("ul.rotations strong")
            .await
            .contains(&"DACH".to_owned())
    );

    // Two rules: add, fill in, add a condition; then move the second above the first.
    // Each button sends the draft and the page comes back with the change: wait for it.
    let form = browser.wait_css("form.rules-form").await;
    form.press("Add rule").await;
    browser.wait_css("[name='r0.name']").await;
    let form = browser.wait_css("form.rules-form").await;
    form.fill("r0.name", "Catch-all to Everyone").await;
    form.press("Add rule").await;
    browser.wait_css("[name='r1.name']").await;
    let form = browser.wait_css("form.rules-form").await;
    form.fill("r1.name", "DACH").await;
    form.select("r1.rotation_id", &dach_id).await;
    let add_condition = browser
        .wait_css("button[name='do'][value='add_condition:1']")
        .await;
    add_condition.click().await.unwrap();
    browser.wait_css("[name='r1.c0.field']").await;
    let form = browser.wait_css("form.rules-form").await;
    form.select("r1.c0.field", "country").await;
    form.select("r1.c0.op", "in").await;
    form.fill("r1.c0.value", "DE, AT, CH").await;
    assert!(
        browser.count("form.rules-form p.banner.warn").await == 1,
        "not saved yet"
    );
    let up = browser.wait_css("button[name='do'][value='up:1']").await;
    up.click().await.unwrap();
    browser
        .wait_until(
            "return document.querySelector(\"[name='r0.name']\").value === 'DACH'",
            "the DACH rule moved up",
        )
        .await;
    let form = browser.wait_css("form.rules-form").await;
    let names: Vec<String> = {
        let a = form
            .find(fantoccini::Locator::Css("[name='r0.name']"))
            .await
            .unwrap();
        let b = form
            .find(fantoccini::Locator::Css("[name='r1.name']"))
            .await
            .unwrap();
        vec![a.value().await, b.value().await]
    };
    assert_eq!(names, ["DACH", "Catch-all to Everyone"]);
    assert_eq!(
        rules(&app, &owner.token).await,
        json!([]),
        "nothing saved yet"
    );

    // The backtest of this draft: Ana gets the German leads, the rest go round.
    form.press("See the effect on the last 30 days").await;
    let table = browser.wait_css("section.backtest table").await;
    let text = table.text().await.unwrap();
    assert!(text.contains("Ana Alpen 2 3"), "{text}");
    assert!(text.contains("Ben Boston 2 1"), "{text}");
    let per_rule = browser.texts("section.backtest li").await;
    assert_eq!(
        per_rule,
        ["DACH: 2", "Catch-all to Everyone: 2", "Everyone: 0"]
    );
    assert_eq!(
        rules(&app, &owner.token).await,
        json!([]),
        "the backtest saves nothing"
    );
    browser.full_screenshot("50-rules-backtest").await;

    // One Save stores the list in this order.
    let form = browser.wait_css("form.rules-form").await;
    form.press("Save rules").await;
    browser
        .wait_for_location("/settings/routing/rules?saved=1")
        .await;
    let saved = rules(&app, &owner.token).await;
    assert_eq!(saved[0]["name"], "DACH");
    assert_eq!(saved[0]["rotation_id"], dach_id.as_str());
    assert_eq!(
        saved[0]["conditions"],
        json!([{"field": "country", "op": "in", "value": ["DE", "AT", "CH"]}])
    );
    assert_eq!(saved[1]["name"], "Catch-all to Everyone");

    // Test a lead: an Austrian lead goes to Ana through the DACH rule.
    let sim = browser
        .wait_css("form[action='/settings/routing/simulate']")
        .await;
    sim.fill("country", "Austria").await;
    sim.fill("company_size", "40").await;
    sim.press("Test").await;
    let result = browser.text(".sim-result p").await;
    assert_eq!(
        result,
        "Ana Alpen would get it, through rule 'DACH' and rotation 'DACH'."
    );
    browser.full_screenshot("51-rules-simulated").await;

    // The lead's page shows the country it was given, by name.
    let r = app
        .post(
            "/api/v1/leads",
            Some(&owner.token),
            json!({"name": "Zita from Zurich", "country": "CH", "company_size": 12}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["owner"]["id"], ana.id.as_str());
    assert_eq!(r.json["routing"]["rule"]["name"], "DACH");
    browser
        .open(&format!("/leads/{}", r.json["id"].as_str().unwrap()))
        .await;
    let details = browser.text("dl.details").await;
    assert!(details.contains("Switzerland (CH)"), "{details}");
    assert!(details.contains("12 employees"), "{details}");

    // On a phone the rules, a rotation and the Website page fit the screen's width.
    browser.set_viewport_size(390, 844).await;
    for (path, shot) in [
        ("/settings/routing/rules".to_owned(), "52-rules-phone"),
        (
            format!("/settings/routing/rotations/{dach_id}"),
            "53-rotation-phone",
        ),
        ("/settings/website".to_owned(), "54-website-phone"),
    ] {
        browser.open(&path).await;
        browser.full_screenshot(shot).await;
        assert_eq!(browser.horizontal_overflow().await, 0, "{path} overflows");
    }
    browser.close().await;
}
