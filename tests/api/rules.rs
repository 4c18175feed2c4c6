//! Rotations (named pools) and routing rules over the API: who may change them, what is
//! refused, how new leads are routed by them, and the simulator and backtest, which
//! change nothing.

use serde_json::{Value, json};

use crate::helpers::{Member, Resp, TestApp, spawn_server};
use crate::routing::team;

crate::backend_tests!(
    the_default_rotation_is_everyone_and_the_routing_settings,
    rotations_are_added_changed_and_deleted_by_owners_and_managers,
    bad_rotations_are_refused_by_field,
    rules_send_new_leads_to_their_rotation_with_a_receipt,
    a_rule_whose_rotation_has_nobody_active_falls_through,
    bad_rule_lists_name_the_rule_and_field,
    the_later_save_wins_unless_if_match_says_otherwise,
    the_simulator_says_who_would_get_a_lead_and_writes_nothing,
    the_backtest_replays_the_period_through_both_lists,
    leads_at_once_with_rules_get_consecutive_seqs_and_each_rotation_its_turns,
    the_audit_log_page_says_what_a_rule_save_changed,
);

async fn call(app: &TestApp, method: &str, path: &str, who: &Member, body: Option<Value>) -> Resp {
    app.call(method.parse().unwrap(), path, Some(&who.token), body)
        .await
}

/// Adds a rotation as `who`; its id.
async fn rotation(app: &TestApp, who: &Member, body: Value) -> String {
    let r = app.post("/api/v1/rotations", Some(&who.token), body).await;
    r.expect(201);
    r.json["id"].as_str().unwrap().to_owned()
}

async fn put_rules(app: &TestApp, who: &Member, rules: Value) -> Resp {
    call(
        app,
        "PUT",
        "/api/v1/routing/rules",
        who,
        Some(json!({"rules": rules})),
    )
    .await
}

async fn audit_actions(app: &TestApp, who: &Member) -> Vec<String> {
    let r = app.get("/api/v1/audit", &who.token).await;
    r.expect(200);
    r.json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_default_rotation_is_everyone_and_the_routing_settings(app: TestApp) {
    let t = team(&app).await;
    let r = app.get("/api/v1/rotations", &t.s1.token).await;
    r.expect(200);
    let rotations = r.json["rotations"].as_array().unwrap();
    assert_eq!(rotations.len(), 1);
    let everyone = &rotations[0];
    assert_eq!(everyone["id"], "default");
    assert_eq!(everyone["name"], "Everyone");
    assert_eq!(everyone["strategy"], "round_robin");
    assert_eq!(everyone["members"], json!([]));
    assert_eq!(everyone["if_none_available"], "anyone_active");
    assert!(everyone["first_touch_minutes"].is_null());
    assert_eq!(everyone["effective_pool"].as_array().unwrap().len(), 4);
    // Changing it here is changing the Lead routing settings, and the other way round.
    let r = call(
        &app,
        "PATCH",
        "/api/v1/rotations/default",
        &t.manager,
        Some(json!({"strategy": "balanced", "members": [{"user_id": t.s2.id}, {"user_id": t.s1.id, "weight": 100}]})),
    )
    .await;
    r.expect(200);
    let routing = app.get("/api/v1/routing", &t.owner.token).await;
    assert_eq!(routing.json["strategy"], "balanced");
    assert_eq!(routing.json["rotation"], json!([t.s2.id, t.s1.id]));
    app.routing_on(&t.owner, Some("round_robin"), Some(&[&t.s1]))
        .await
        .expect(200);
    let r = app
        .get("/api/v1/rotations/default", &t.accounting.token)
        .await;
    r.expect(200);
    assert_eq!(r.json["strategy"], "round_robin");
    assert_eq!(
        r.json["members"],
        json!([{"user_id": t.s1.id, "weight": 100}])
    );
    assert_eq!(r.json["next"], t.s1.id.as_str());
    // Its name is fixed, and it cannot be deleted.
    call(
        &app,
        "PATCH",
        "/api/v1/rotations/default",
        &t.owner,
        Some(json!({"name": "All"})),
    )
    .await
    .expect(422);
    call(&app, "DELETE", "/api/v1/rotations/default", &t.owner, None)
        .await
        .expect(409);
}

async fn rotations_are_added_changed_and_deleted_by_owners_and_managers(app: TestApp) {
    let t = team(&app).await;
    let eu = json!({"name": "Enterprise EU", "strategy": "balanced",
                    "members": [{"user_id": t.s1.id, "weight": 50}, {"user_id": t.s2.id}],
                    "first_touch_minutes": 15, "sla_action": "notify", "max_hops": 3});
    for who in [&t.s1, &t.accounting] {
        app.post("/api/v1/rotations", Some(&who.token), eu.clone())
            .await
            .expect(403);
    }
    let r = app
        .post("/api/v1/rotations", Some(&t.manager.token), eu.clone())
        .await;
    r.expect(201);
    let id = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json["name"], "Enterprise EU");
    assert_eq!(r.json["strategy"], "balanced");
    assert_eq!(
        r.json["members"],
        json!([{"user_id": t.s1.id, "weight": 50}, {"user_id": t.s2.id, "weight": 100}])
    );
    assert_eq!(r.json["first_touch_minutes"], 15);
    assert_eq!(r.json["sla_action"], "notify");
    assert_eq!(r.json["max_hops"], 3);
    assert_eq!(r.json["effective_pool"], json!([t.s1.id, t.s2.id]));
    // Anyone reads it; the list has the default first.
    let r = app
        .get(format!("/api/v1/rotations/{id}"), &t.s2.token)
        .await;
    r.expect(200);
    let list = app.get("/api/v1/rotations", &t.s2.token).await;
    let names: Vec<&str> = list.json["rotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Everyone", "Enterprise EU"]);
    // A change keeps what it leaves out; null turns the first-touch timer off.
    let r = call(
        &app,
        "PATCH",
        &format!("/api/v1/rotations/{id}"),
        &t.owner,
        Some(json!({"name": "EU", "first_touch_minutes": null})),
    )
    .await;
    r.expect(200);
    assert_eq!(r.json["name"], "EU");
    assert!(r.json["first_touch_minutes"].is_null());
    assert_eq!(r.json["strategy"], "balanced");
    call(
        &app,
        "PATCH",
        &format!("/api/v1/rotations/{id}"),
        &t.s1,
        Some(json!({"name": "Mine"})),
    )
    .await
    .expect(403);
    // A rotation a rule routes to cannot go; once the rule is gone it can.
    put_rules(
        &app,
        &t.owner,
        json!([{"name": "EU leads", "rotation_id": id}]),
    )
    .await
    .expect(200);
    let r = call(
        &app,
        "DELETE",
        &format!("/api/v1/rotations/{id}"),
        &t.manager,
        None,
    )
    .await;
    r.expect(409);
    assert!(r.text.contains("EU leads"), "{}", r.text);
    put_rules(&app, &t.owner, json!([])).await.expect(200);
    call(
        &app,
        "DELETE",
        &format!("/api/v1/rotations/{id}"),
        &t.s1,
        None,
    )
    .await
    .expect(403);
    call(
        &app,
        "DELETE",
        &format!("/api/v1/rotations/{id}"),
        &t.manager,
        None,
    )
    .await
    .expect(204);
    app.get(format!("/api/v1/rotations/{id}"), &t.owner.token)
        .await
        .expect(404);
    let actions = audit_actions(&app, &t.owner).await;
    for action in [
        "rotation.created",
        "rotation.updated",
        "rotation.deleted",
        "routing.rules_updated",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    // Another account's rotation is not found, for reading, changing and deleting.
    let other = app.signup("Other", "o@other.io").await;
    let theirs = rotation(&app, &other, json!({"name": "Theirs"})).await;
    app.get(format!("/api/v1/rotations/{theirs}"), &t.owner.token)
        .await
        .expect(404);
    call(
        &app,
        "PATCH",
        &format!("/api/v1/rotations/{theirs}"),
        &t.owner,
        Some(json!({"name": "X"})),
    )
    .await
    .expect(404);
    call(
        &app,
        "DELETE",
        &format!("/api/v1/rotations/{theirs}"),
        &t.owner,
        None,
    )
    .await
    .expect(404);
}

async fn bad_rotations_are_refused_by_field(app: TestApp) {
    let t = team(&app).await;
    rotation(&app, &t.owner, json!({"name": "Taken"})).await;
    let before = app.snapshot().await;
    let cases = [
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "taken"}), "name"),
        (json!({"name": "Everyone"}), "name"),
        (json!({"name": "A", "strategy": "random"}), "strategy"),
        (
            json!({"name": "A", "members": [{"user_id": t.accounting.id}]}),
            "members",
        ),
        (
            json!({"name": "A", "members": [{"user_id": "nobody"}]}),
            "members",
        ),
        (
            json!({"name": "A", "members": [{"user_id": t.s1.id, "weight": 0}]}),
            "members",
        ),
        (
            json!({"name": "A", "members": [{"user_id": t.s1.id, "weight": 1001}]}),
            "members",
        ),
        (
            json!({"name": "A", "if_none_available": "wait"}),
            "if_none_available",
        ),
        (
            json!({"name": "A", "first_touch_minutes": 0}),
            "first_touch_minutes",
        ),
        (json!({"name": "A", "sla_action": "escalate"}), "sla_action"),
        (json!({"name": "A", "max_hops": 0}), "max_hops"),
    ];
    for (body, field) in cases {
        let r = app
            .post("/api/v1/rotations", Some(&t.owner.token), body.clone())
            .await;
        r.expect(422);
        assert!(r.field(field).is_some(), "{body}: {}", r.text);
    }
    let r = app
        .post(
            "/api/v1/rotations",
            Some(&t.owner.token),
            json!({"name": 5}),
        )
        .await;
    r.expect(422);
    assert!(r.field("name").is_some());
    assert_eq!(app.snapshot().await, before, "nothing half-written");
}

async fn create(app: &TestApp, who: &Member, body: Value) -> Value {
    let r = app.post("/api/v1/leads", Some(&who.token), body).await;
    r.expect(201);
    r.json
}

fn owner(lead: &Value) -> &str {
    lead["owner"]["id"].as_str().unwrap_or("-")
}

async fn rules_send_new_leads_to_their_rotation_with_a_receipt(app: TestApp) {
    let t = team(&app).await;
    let big = rotation(
        &app,
        &t.owner,
        json!({"name": "Big accounts", "members": [{"user_id": t.s2.id}, {"user_id": t.s1.id}]}),
    )
    .await;
    app.routing_on(&t.owner, Some("round_robin"), Some(&[&t.owner, &t.manager]))
        .await
        .expect(200);
    let before_rules = create(
        &app,
        &t.s1,
        json!({"name": "Early", "email": "a@bigcorp.example"}),
    )
    .await;
    assert_eq!(owner(&before_rules), t.owner.id);
    let r = put_rules(
        &app,
        &t.manager,
        json!([
            {"name": "Paused", "enabled": false, "conditions": [], "rotation_id": "default"},
            {"name": "Bigcorp", "conditions": [{"field": "email_domain", "op": "is", "value": "BigCorp.example"}], "rotation_id": big}
        ]),
    )
    .await;
    r.expect(200);
    let rule_id = r.json["rules"][1]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json["rules"][0]["enabled"], false);
    // Matching leads go round the rule's rotation in its order; the rest round the default.
    let mut owners = Vec::new();
    for (i, email) in [
        "x@bigcorp.example",
        "y@small.example",
        "z@bigcorp.example",
        "w@small.example",
    ]
    .iter()
    .enumerate()
    {
        let lead = create(
            &app,
            &t.s1,
            json!({"name": format!("Lead {i}"), "email": email}),
        )
        .await;
        owners.push(owner(&lead).to_owned());
        let routing = &lead["routing"];
        if email.ends_with("bigcorp.example") {
            assert_eq!(routing["rule"], json!({"id": rule_id, "name": "Bigcorp"}));
            assert_eq!(
                routing["rotation"],
                json!({"id": big, "name": "Big accounts"})
            );
            let reason = routing["reason"].as_str().unwrap();
            assert!(
                reason.starts_with("Matched rule 'Bigcorp' (email domain is BigCorp.example) -> rotation 'Big accounts'."),
                "{reason}"
            );
        } else {
            assert!(routing["rule"].is_null());
            assert_eq!(
                routing["rotation"],
                json!({"id": "default", "name": "Everyone"})
            );
        }
    }
    // Ties in a rotation go by team order, as in the default one: s1 joined before s2.
    assert_eq!(
        owners,
        [&t.s1.id, &t.manager.id, &t.s2.id, &t.owner.id].map(String::clone)
    );
    // The lead from before the rules is untouched, and its receipt names the default.
    let early = app
        .get(
            format!("/api/v1/leads/{}", before_rules["id"].as_str().unwrap()),
            &t.owner.token,
        )
        .await;
    assert_eq!(owner(&early.json), t.owner.id);
    assert_eq!(early.json["routing"]["rotation"]["id"], "default");
    assert_eq!(early.json["routing"]["seq"], 1);
}

async fn a_rule_whose_rotation_has_nobody_active_falls_through(app: TestApp) {
    let t = team(&app).await;
    let gone = rotation(
        &app,
        &t.owner,
        json!({"name": "Gone", "members": [{"user_id": t.s2.id}]}),
    )
    .await;
    let next = rotation(
        &app,
        &t.owner,
        json!({"name": "Next", "members": [{"user_id": t.s1.id}]}),
    )
    .await;
    call(
        &app,
        "PATCH",
        &format!("/api/v1/team/{}", t.s2.id),
        &t.owner,
        Some(json!({"active": false})),
    )
    .await
    .expect(200);
    app.routing_on(&t.owner, None, None).await.expect(200);
    put_rules(
        &app,
        &t.owner,
        json!([
            {"name": "First", "conditions": [{"field": "source", "op": "is", "value": "team"}], "rotation_id": gone},
            {"name": "Second", "conditions": [{"field": "source", "op": "in", "value": ["team", "website"]}], "rotation_id": next}
        ]),
    )
    .await
    .expect(200);
    let lead = create(&app, &t.owner, json!({"name": "Falls through"})).await;
    assert_eq!(owner(&lead), t.s1.id);
    assert_eq!(lead["routing"]["rule"]["name"], "Second");
    let r = app
        .post(
            "/api/v1/routing/simulate",
            Some(&t.owner.token),
            json!({"name": "Sim"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["rules_passed"][0]["name"], "First");
    assert_eq!(r.json["rules_passed"][0]["why"], "nobody_available");
}

async fn bad_rule_lists_name_the_rule_and_field(app: TestApp) {
    let t = team(&app).await;
    let other = app.signup("Other", "o@other.io").await;
    let theirs = rotation(&app, &other, json!({"name": "Theirs"})).await;
    let ok = json!({"name": "Fine", "rotation_id": "default"});
    let many: Vec<Value> = (0..=200).map(|i| json!(i.to_string())).collect();
    let cases = [
        (
            json!([ok, {"name": "A", "rotation_id": "default", "conditions": [{"field": "colour", "op": "is", "value": "red"}]}]),
            "rules[1].conditions[0].field",
        ),
        (
            json!([{"name": "A", "rotation_id": "default", "conditions": [{"field": "country", "op": "gte", "value": "DE"}]}]),
            "rules[0].conditions[0].op",
        ),
        (
            json!([{"name": "A", "rotation_id": "default", "conditions": [{"field": "company_size", "op": "gte", "value": "abc"}]}]),
            "rules[0].conditions[0].value",
        ),
        (
            json!([{"name": "A", "rotation_id": "default", "conditions": [{"field": "country", "op": "in", "value": []}]}]),
            "rules[0].conditions[0].value",
        ),
        (
            json!([{"name": "A", "rotation_id": "default", "conditions": [{"field": "country", "op": "is", "value": "ZZ"}]}]),
            "rules[0].conditions[0].value",
        ),
        (
            json!([{"name": "A", "rotation_id": "default", "conditions": [{"field": "name", "op": "in", "value": many}]}]),
            "rules[0].conditions[0].value",
        ),
        (
            json!([ok, ok, {"name": "A", "rotation_id": theirs}]),
            "rules[2].rotation_id",
        ),
        (
            json!([{"name": "A", "rotation_id": "deleted-or-never"}]),
            "rules[0].rotation_id",
        ),
        (json!([{"rotation_id": "default"}]), "rules[0].name"),
    ];
    let before = app.snapshot().await;
    for (rules, key) in cases {
        let r = put_rules(&app, &t.owner, rules.clone()).await;
        r.expect(422);
        assert!(r.field(key).is_some(), "{key}: {}", r.text);
    }
    let hundred_and_one: Vec<Value> = (0..101).map(|_| ok.clone()).collect();
    let r = put_rules(&app, &t.owner, json!(hundred_and_one)).await;
    r.expect(422);
    assert!(r.field("rules").is_some(), "{}", r.text);
    let conditions: Vec<Value> = (0..51)
        .map(|_| json!({"field": "country", "op": "is_empty"}))
        .collect();
    let r = put_rules(
        &app,
        &t.owner,
        json!([{"name": "A", "rotation_id": "default", "conditions": conditions}]),
    )
    .await;
    r.expect(422);
    assert!(r.field("rules[0].conditions").is_some(), "{}", r.text);
    for who in [&t.s1, &t.accounting] {
        put_rules(&app, who, json!([ok])).await.expect(403);
    }
    assert_eq!(app.snapshot().await, before, "nothing half-written");
    let r = app.get("/api/v1/routing/rules", &t.s1.token).await;
    r.expect(200);
    assert_eq!(r.json["rules"], json!([]));
}

async fn the_later_save_wins_unless_if_match_says_otherwise(app: TestApp) {
    let t = team(&app).await;
    let read = app.get("/api/v1/routing/rules", &t.owner.token).await;
    let version = read.json["version"].as_i64().unwrap();
    assert_eq!(read.headers["etag"], format!("\"{version}\"").as_str());
    put_rules(
        &app,
        &t.manager,
        json!([{"name": "Manager's", "rotation_id": "default"}]),
    )
    .await
    .expect(200);
    // The Owner's save based on the old version: refused with If-Match, taken without.
    let stale = app
        .send(
            axum::http::Request::put("/api/v1/routing/rules")
                .header("host", "app.test")
                .header("authorization", format!("Bearer {}", t.owner.token))
                .header("content-type", "application/json")
                .header("if-match", format!("\"{version}\""))
                .body(axum::body::Body::from(
                    json!({"rules": [{"name": "Owner's", "rotation_id": "default"}]}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    stale.expect(409);
    let r = put_rules(
        &app,
        &t.owner,
        json!([{"name": "Owner's", "rotation_id": "default"}]),
    )
    .await;
    r.expect(200);
    assert_eq!(r.json["version"].as_i64().unwrap(), version + 2);
    let r = app.get("/api/v1/routing/rules", &t.s2.token).await;
    assert_eq!(r.json["rules"][0]["name"], "Owner's");
    let saves = audit_actions(&app, &t.owner)
        .await
        .into_iter()
        .filter(|a| a == "routing.rules_updated")
        .count();
    assert_eq!(saves, 2, "both saves are in the audit log");
}

async fn the_simulator_says_who_would_get_a_lead_and_writes_nothing(app: TestApp) {
    let t = team(&app).await;
    let eu = rotation(
        &app,
        &t.owner,
        json!({"name": "DACH", "members": [{"user_id": t.s2.id}]}),
    )
    .await;
    app.routing_on(&t.owner, None, Some(&[&t.s1]))
        .await
        .expect(200);
    put_rules(
        &app,
        &t.owner,
        json!([{"name": "DACH enterprise", "conditions": [
            {"field": "country", "op": "in", "value": ["DE", "AT", "CH"]},
            {"field": "company_size", "op": "gte", "value": 500}], "rotation_id": eu}]),
    )
    .await
    .expect(200);
    let before = app.snapshot().await;
    let r = app
        .post(
            "/api/v1/routing/simulate",
            Some(&t.s1.token),
            json!({"country": "Germany", "company_size": 800, "source": "website", "email": "a@b.example"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["rule"]["name"], "DACH enterprise");
    assert_eq!(r.json["rotation"], json!({"id": eu, "name": "DACH"}));
    assert_eq!(r.json["owner"]["id"], t.s2.id.as_str());
    assert_eq!(r.json["owner"]["role"], "sales");
    assert!(
        r.json["reason"]
            .as_str()
            .unwrap()
            .contains("company size is at least 500")
    );
    let r = app
        .post(
            "/api/v1/routing/simulate",
            Some(&t.s1.token),
            json!({"country": "DE", "company_size": 20}),
        )
        .await;
    r.expect(200);
    assert!(r.json["rule"].is_null());
    assert_eq!(r.json["rotation"]["name"], "Everyone");
    assert_eq!(r.json["owner"]["id"], t.s1.id.as_str());
    assert_eq!(r.json["rules_passed"][0]["why"], "no_match");
    assert_eq!(
        r.json["rules_passed"][0]["condition"],
        "company size is at least 500"
    );
    let skipped: Vec<&str> = r.json["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["not_in_rotation"; 3]);
    for (body, field) in [
        (json!({"country": "Atlantis"}), "country"),
        (json!({"company_size": -1}), "company_size"),
        (json!({"company_size": "many"}), "company_size"),
        (json!({"source": "fax"}), "source"),
    ] {
        let r = app
            .post("/api/v1/routing/simulate", Some(&t.s1.token), body)
            .await;
        r.expect(422);
        assert!(r.field(field).is_some(), "{}", r.text);
    }
    assert_eq!(app.snapshot().await, before, "the simulator writes nothing");
}

async fn the_backtest_replays_the_period_through_both_lists(app: TestApp) {
    let t = team(&app).await;
    let big = rotation(
        &app,
        &t.owner,
        json!({"name": "Big", "members": [{"user_id": t.s2.id}]}),
    )
    .await;
    app.routing_on(&t.owner, None, Some(&[&t.s1, &t.s2]))
        .await
        .expect(200);
    for i in 0..6 {
        let domain = if i % 3 == 0 {
            "big.example"
        } else {
            "small.example"
        };
        create(
            &app,
            &t.owner,
            json!({"name": format!("L{i}"), "email": format!("l{i}@{domain}")}),
        )
        .await;
    }
    // A lead given to someone by hand did not come in unowned: it is not replayed.
    create(
        &app,
        &t.owner,
        json!({"name": "Mine", "owner_id": t.owner.id}),
    )
    .await;
    let before = app.snapshot().await;
    let draft = json!([{"name": "Big ones", "conditions": [{"field": "email_domain", "op": "is", "value": "big.example"}], "rotation_id": big}]);
    let r = app
        .post(
            "/api/v1/routing/backtest",
            Some(&t.manager.token),
            json!({"rules": draft, "days": 30}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["leads"], 6);
    assert_eq!(
        r.json["current"],
        json!({t.s1.id.clone(): 3, t.s2.id.clone(): 3})
    );
    // Draft: the two big leads go to s2; the four others alternate, s1 first.
    assert_eq!(
        r.json["draft"],
        json!({t.s1.id.clone(): 2, t.s2.id.clone(): 4})
    );
    assert_eq!(
        r.json["by_rule"],
        json!([{"rule": "Big ones", "rule_id": r.json["by_rule"][0]["rule_id"], "matched": 2},
               {"rule": "Everyone", "rule_id": null, "matched": 4}])
    );
    assert_eq!(r.json["unassigned"], json!({"current": 0, "draft": 0}));
    for days in [0, 91] {
        let r = app
            .post(
                "/api/v1/routing/backtest",
                Some(&t.manager.token),
                json!({"rules": [], "days": days}),
            )
            .await;
        r.expect(422);
        assert!(r.field("days").is_some());
    }
    let r = app
        .post(
            "/api/v1/routing/backtest",
            Some(&t.manager.token),
            json!({"rules": [{"name": "X", "rotation_id": "nope"}]}),
        )
        .await;
    r.expect(422);
    assert!(r.field("rules[0].rotation_id").is_some());
    assert_eq!(app.snapshot().await, before, "the backtest writes nothing");
}

async fn leads_at_once_with_rules_get_consecutive_seqs_and_each_rotation_its_turns(app: TestApp) {
    let t = team(&app).await;
    let big = rotation(
        &app,
        &t.owner,
        json!({"name": "Big", "members": [{"user_id": t.s1.id}, {"user_id": t.s2.id}]}),
    )
    .await;
    app.routing_on(&t.owner, None, Some(&[&t.owner, &t.manager]))
        .await
        .expect(200);
    put_rules(
        &app,
        &t.owner,
        json!([{"name": "Big", "conditions": [{"field": "company", "op": "ends_with", "value": "inc"}], "rotation_id": big}]),
    )
    .await
    .expect(200);
    let base = spawn_server(&app).await;
    let client = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..120 {
        let (client, base, token) = (client.clone(), base.clone(), t.s1.token.clone());
        let company = if i % 2 == 0 {
            "Acme Inc"
        } else {
            "Corner shop"
        };
        tasks.spawn(async move {
            let r = client
                .post(format!("{base}/api/v1/leads"))
                .bearer_auth(token)
                .json(&json!({"name": format!("Rush {i}"), "company": company}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            r.json::<Value>().await.unwrap()
        });
    }
    let mut leads = Vec::new();
    while let Some(lead) = tasks.join_next().await {
        leads.push(lead.unwrap());
    }
    leads.sort_by_key(|l| l["routing"]["seq"].as_i64().unwrap());
    let seqs: Vec<i64> = leads
        .iter()
        .map(|l| l["routing"]["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=120).collect::<Vec<_>>(),
        "one seq sequence across rotations"
    );
    // In seq order each rotation serves its members in turn: what one-at-a-time gives.
    for (rotation, members) in [
        ("Big", [&t.s1.id, &t.s2.id]),
        ("Everyone", [&t.owner.id, &t.manager.id]),
    ] {
        let owners: Vec<&str> = leads
            .iter()
            .filter(|l| l["routing"]["rotation"]["name"] == rotation)
            .map(owner)
            .collect();
        assert_eq!(owners.len(), 60);
        for (n, o) in owners.iter().enumerate() {
            assert_eq!(*o, members[n % 2].as_str(), "{rotation} lead {n}");
        }
    }
    app.check().await;
}

/// The Audit log page reads a rule list's save as sentences, with rotation names.
async fn the_audit_log_page_says_what_a_rule_save_changed(app: TestApp) {
    let t = team(&app).await;
    let eu = rotation(&app, &t.manager, json!({"name": "Enterprise EU"})).await;
    let first = put_rules(
        &app,
        &t.manager,
        json!([{"name": "DACH", "enabled": true, "rotation_id": eu,
                "conditions": [{"field": "country", "op": "in", "value": ["DE", "AT"]}]}]),
    )
    .await;
    first.expect(200);
    let mut rules = first.json["rules"].clone();
    rules[0]["enabled"] = json!(false);
    put_rules(&app, &t.manager, rules).await.expect(200);
    let mut page = crate::pages::signed_in(&app, "owner@acme.io").await;
    let html = page.get("/audit?action=routing.rules_updated").await;
    html.expect(200);
    for line in [
        "Added rule &#39;DACH&#39; at position 1: country is one of DE, AT -&#62; &#39;Enterprise EU&#39;.",
        "Turned rule &#39;DACH&#39; off.",
    ] {
        assert!(
            html.text.contains(line),
            "{line} missing from {}",
            html.text
        );
    }
}
