//! The Lead routing page, in-process: the help article's labels, greyed-out choices, the
//! empty state, who may save, and the receipt on a routed lead's page.

use serde_json::json;

use crate::helpers::TestApp;
use crate::pages::{location, signed_in};

crate::backend_tests!(
    the_page_uses_the_help_articles_words,
    a_lone_owner_sees_the_empty_state,
    sales_can_open_but_not_save,
    an_owner_saves_and_greyed_out_choices_are_kept,
    a_routed_lead_shows_why_this_owner,
    next_up_and_the_chart_switch_between_rotations,
);

async fn next_up_and_the_chart_switch_between_rotations(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let s1 = app.add_member(&owner, "sales", "s1@acme.io").await;
    let s2 = app.add_member(&owner, "sales", "s2@acme.io").await;
    let mut browser = signed_in(&app, "o@acme.io").await;
    // With only the default rotation there is nothing to switch.
    let page = browser.get("/settings/routing").await;
    assert!(!page.text.contains("rotation-switch"));
    let r = app
        .post(
            "/api/v1/rotations",
            Some(&owner.token),
            json!({"name": "Big deals", "members": [{"user_id": s2.id}]}),
        )
        .await;
    r.expect(201);
    let id = r.json["id"].as_str().unwrap().to_owned();
    app.routing_on(&owner, None, Some(&[&s1])).await.expect(200);
    app.call(
        "PUT".parse().unwrap(),
        "/api/v1/routing/rules",
        Some(&owner.token),
        Some(
            json!({"rules": [{"name": "Big", "rotation_id": id, "conditions": [
            {"field": "company_size", "op": "gte", "value": 1000}]}]}),
        ),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/leads",
        Some(&owner.token),
        json!({"name": "Huge Co", "company_size": 5000}),
    )
    .await
    .expect(201);
    // A lead no rule took: its receipt names the rotation and the rule it did not match.
    let small = app
        .post(
            "/api/v1/leads",
            Some(&owner.token),
            json!({"name": "Small Co", "company_size": 3}),
        )
        .await;
    small.expect(201);
    let page = browser
        .get(&format!("/leads/{}", small.json["id"].as_str().unwrap()))
        .await;
    assert!(
        page.text
            .contains("<dt>Rotation</dt><dd><bdi>Everyone</bdi></dd>"),
        "{}",
        page.text
    );
    assert!(page.text.contains("<dt>Rule</dt><dd>None matched</dd>"));
    assert!(
        page.text
            .contains("&#39;Big&#39;: not company size is at least 1000"),
        "{}",
        page.text
    );
    let page = browser.get("/settings/routing").await;
    assert!(page.text.contains("rotation-switch"), "{}", page.text);
    assert!(page.text.contains("Next up in <bdi>Everyone</bdi>"));
    assert!(
        page.text
            .contains("goes to</span> <strong><bdi>sales s1@acme.io</bdi>")
    );
    let page = browser
        .get(&format!("/settings/routing?rotation={id}"))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("Next up in <bdi>Big deals</bdi>"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("goes to</span> <strong><bdi>sales s2@acme.io</bdi>")
    );
    // Its chart has its own pool, with the lead it routed.
    assert!(
        page.text.contains(">sales s2@acme.io</text>"),
        "{}",
        page.text
    );
    assert!(!page.text.contains(">sales s1@acme.io</text>"));
    // Nobody active in it: said so, and the rules pass leads on.
    app.patch(
        format!("/api/v1/team/{}", s2.id),
        &owner.token,
        json!({"active": false}),
    )
    .await
    .expect(200);
    let page = browser
        .get(&format!("/settings/routing?rotation={id}"))
        .await;
    assert!(page.text.contains("Nobody in this rotation is active"));
    let page = browser.get("/settings/routing?rotation=nope").await;
    assert_eq!(page.status, 404);
}

async fn the_page_uses_the_help_articles_words(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let sales = app.add_member(&owner, "sales", "s@acme.io").await;
    let gone = app.add_member(&owner, "sales", "gone@acme.io").await;
    let accounting = app.add_member(&owner, "accounting", "a@acme.io").await;
    app.patch(
        format!("/api/v1/team/{}", gone.id),
        &owner.token,
        json!({"active": false}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/leads",
        Some(&owner.token),
        json!({"name": "Open", "owner_id": sales.id}),
    )
    .await
    .expect(201);
    let mut browser = signed_in(&app, "o@acme.io").await;
    let page = browser.get("/settings/routing").await;
    assert_eq!(page.status, 200);
    let html = &page.text;
    for words in [
        "href=\"/settings/routing\">Lead routing</a>",
        "<h1>Lead routing</h1>",
        "Auto-assign new leads",
        "Turn on lead routing",
        "<legend>Strategy</legend>",
        "<strong>Round-robin</strong>",
        "Rotate leads evenly through the pool, one rep after another.",
        "<strong>Balanced by workload</strong>",
        "Send each new lead to whoever has the fewest open leads right now.",
        "<legend>Who's in the rotation</legend>",
        "Leave everyone unchecked to include your whole sales-capable team.",
        ">Save lead routing</button>",
        "Next up",
    ] {
        assert!(html.contains(words), "missing {words:?}");
    }
    assert_eq!(
        html.matches("data-group=\"routing-choices\" disabled")
            .count(),
        2,
        "off: the choices are greyed out"
    );
    assert!(html.contains(&format!("value=\"{}\"", sales.id)) && html.contains("1 open"));
    assert!(!html.contains(&accounting.id), "Accounting never appears");
    assert!(html.contains(&format!("value=\"{}\"", gone.id)) && html.contains(">Inactive</span>"));
    assert!(!html.contains("No sales-capable team members yet"));
    assert!(html.contains("<svg class=\"chart\""));
}

async fn a_lone_owner_sees_the_empty_state(app: TestApp) {
    app.signup("Solo", "solo@acme.io").await;
    let mut browser = signed_in(&app, "solo@acme.io").await;
    let page = browser.get("/settings/routing").await;
    assert!(page.text.contains("No sales-capable team members yet"));
    assert!(page.text.contains("No open or routed leads yet"));
    assert!(
        !page.text.contains("<svg class=\"chart\""),
        "no chart of zeros"
    );
    assert!(
        page.text
            .contains("href=\"/settings/team\">Settings → Team</a>")
    );
    // Routing can still be switched on: the Owner is then the whole pool.
    let r = browser
        .submit(
            "/settings/routing",
            "/settings/routing",
            &[("enabled", "true")],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = browser.get("/settings/routing").await;
    assert!(
        page.text
            .contains("Every routed lead goes to</span> <strong><bdi>Owner of Solo</bdi></strong>")
    );
}

async fn sales_can_open_but_not_save(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    app.add_member(&owner, "sales", "s@acme.io").await;
    let mut rep = signed_in(&app, "s@acme.io").await;
    let page = rep.get("/settings/routing").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text
            .contains("Only an Owner or Manager can save changes.")
    );
    let before = app.snapshot().await;
    let r = rep
        .submit(
            "/settings/routing",
            "/settings/routing",
            &[
                ("enabled", "true"),
                ("strategy", "balanced"),
                ("rotation_sent", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(
        r.text
            .contains("You don&#39;t have permission to change lead routing.")
            || r.text
                .contains("You don't have permission to change lead routing.")
    );
    assert_eq!(before, app.snapshot().await, "nothing changed");
}

async fn an_owner_saves_and_greyed_out_choices_are_kept(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let s1 = app.add_member(&owner, "sales", "s1@acme.io").await;
    let s2 = app.add_member(&owner, "sales", "s2@acme.io").await;
    let mut boss = signed_in(&app, "o@acme.io").await;
    let form = [
        ("enabled", "true"),
        ("strategy", "balanced"),
        ("rotation_sent", "1"),
        ("rotation", s1.id.as_str()),
        ("rotation", s2.id.as_str()),
    ];
    let r = boss
        .submit("/settings/routing", "/settings/routing", &form)
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(location(&r), "/settings/routing?saved=1");
    let saved = app.get("/api/v1/routing", &owner.token).await;
    assert_eq!(saved.json["enabled"], true);
    assert_eq!(saved.json["strategy"], "balanced");
    assert_eq!(saved.json["rotation"], json!([s1.id, s2.id]));
    let page = boss.get("/settings/routing?saved=1").await;
    assert!(page.text.contains("Lead routing saved."));
    assert_eq!(
        page.text
            .matches("data-group=\"routing-choices\" disabled")
            .count(),
        0
    );
    // Switching off sends no Strategy or rotation (they are greyed out): both are kept.
    let r = boss
        .submit("/settings/routing", "/settings/routing", &[])
        .await;
    assert_eq!(r.status, 303);
    let saved = app.get("/api/v1/routing", &owner.token).await;
    assert_eq!(saved.json["enabled"], false);
    assert_eq!(saved.json["strategy"], "balanced");
    assert_eq!(saved.json["rotation"], json!([s1.id, s2.id]));
    // Everyone unchecked (while on) means the whole team.
    boss.submit(
        "/settings/routing",
        "/settings/routing",
        &[
            ("enabled", "true"),
            ("strategy", "round_robin"),
            ("rotation_sent", "1"),
        ],
    )
    .await;
    let saved = app.get("/api/v1/routing", &owner.token).await;
    assert_eq!(saved.json["rotation"], json!([]));
    let audit = boss.get("/audit").await;
    assert_eq!(audit.text.matches("routing.updated</code>").count(), 3);
    // Every pick inactive: the page says routing falls back to the whole team.
    boss.submit(
        "/settings/routing",
        "/settings/routing",
        &[
            ("enabled", "true"),
            ("rotation_sent", "1"),
            ("rotation", s1.id.as_str()),
        ],
    )
    .await;
    app.patch(
        format!("/api/v1/team/{}", s1.id),
        &owner.token,
        json!({"active": false}),
    )
    .await
    .expect(200);
    let page = boss.get("/settings/routing").await;
    assert!(
        page.text
            .contains("routing falls back to your whole active sales-capable team")
    );
}

async fn a_routed_lead_shows_why_this_owner(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let s1 = app.add_member(&owner, "sales", "s1@acme.io").await;
    let gone = app.add_member(&owner, "sales", "gone@acme.io").await;
    app.patch(
        format!("/api/v1/team/{}", gone.id),
        &owner.token,
        json!({"active": false}),
    )
    .await
    .expect(200);
    app.routing_on(&owner, None, Some(&[&s1, &gone]))
        .await
        .expect(200);
    let routed = app
        .post(
            "/api/v1/leads",
            Some(&owner.token),
            json!({"name": "Routed"}),
        )
        .await;
    let by_hand = app
        .post(
            "/api/v1/leads",
            Some(&owner.token),
            json!({"name": "By hand", "owner_id": owner.id}),
        )
        .await;
    let mut rep = signed_in(&app, "s1@acme.io").await;
    let page = rep
        .get(&format!("/leads/{}", routed.json["id"].as_str().unwrap()))
        .await;
    assert!(page.text.contains("Why this owner?"));
    assert!(
        page.text
            .contains(routed.json["routing"]["reason"].as_str().unwrap())
    );
    assert!(page.text.contains("<span class=\"tag\">picked</span>"));
    assert!(page.text.contains("sales gone@acme.io (inactive)"));
    assert!(page.text.contains("Owner of Acme (not in the rotation)"));
    assert!(page.text.contains("#1"));
    let page = rep
        .get(&format!("/leads/{}", by_hand.json["id"].as_str().unwrap()))
        .await;
    assert!(!page.text.contains("Why this owner?"));
}
