//! Lead routing over the API: one test per sentence of the help article and its FAQ, the
//! contract's rules, and decisions racing over real HTTP.

use serde_json::{Value, json};

use crate::fixtures;
use crate::helpers::{Member, TestApp, spawn_server};

crate::backend_tests!(
    defaults_and_anyone_may_read,
    routing_off_leaves_new_leads_unassigned,
    turning_routing_on_does_not_change_existing_leads,
    an_explicit_owner_always_wins,
    round_robin_goes_round_in_team_order_with_receipts,
    balanced_sends_to_the_fewest_open_leads,
    leads_from_every_team_channel_are_routed,
    accounting_is_never_in_the_rotation,
    inactive_picks_are_skipped_and_all_inactive_falls_back,
    only_owners_and_managers_save_and_saving_is_audited,
    strategy_and_rotation_are_kept_while_off,
    the_preview_is_what_happens_next,
    two_hundred_leads_at_once_get_consecutive_seqs_and_fair_owners,
    balanced_from_an_uneven_start_matches_a_sequential_replay,
);

/// The shared team (its Sales rep is `s1` here) and a second Sales rep, s2@acme.io, who
/// joined after it: candidates in team order are the Owner, the Manager, s1, s2.
pub(crate) struct Team {
    pub(crate) owner: Member,
    pub(crate) manager: Member,
    pub(crate) s1: Member,
    pub(crate) s2: Member,
    pub(crate) accounting: Member,
}

pub(crate) async fn team(app: &TestApp) -> Team {
    let fixtures::Team {
        owner,
        manager,
        sales: s1,
        accounting,
    } = fixtures::team(app).await;
    let s2 = app.add_member(&owner, "sales", "s2@acme.io").await;
    Team {
        owner,
        manager,
        s1,
        s2,
        accounting,
    }
}

async fn put(app: &TestApp, who: &Member, body: Value) -> crate::helpers::Resp {
    app.call(
        "PUT".parse().unwrap(),
        "/api/v1/routing",
        Some(&who.token),
        Some(body),
    )
    .await
}

async fn create(app: &TestApp, who: &Member, body: Value) -> Value {
    let r = app.post("/api/v1/leads", Some(&who.token), body).await;
    r.expect(201);
    r.json
}

fn owner_id(lead: &Value) -> Option<&str> {
    lead["owner"]["id"].as_str()
}

async fn defaults_and_anyone_may_read(app: TestApp) {
    let owner = app.signup("Solo", "solo@acme.io").await;
    let r = app.get("/api/v1/routing", &owner.token).await;
    r.expect(200);
    assert_eq!(r.json["enabled"], false);
    assert_eq!(r.json["strategy"], "round_robin");
    assert_eq!(r.json["rotation"], json!([]));
    assert_eq!(r.json["fallback"], false);
    assert!(r.json["updated_at"].is_null() && r.json["updated_by"].is_null());
    // Only the Owner is sales-capable so far: the Owner is the whole pool.
    assert_eq!(r.json["candidates"].as_array().unwrap().len(), 1);
    assert_eq!(r.json["effective_pool"], json!([owner.id]));
    assert_eq!(r.json["next"], owner.id.as_str());
    let t = team(&app).await;
    for who in [&t.owner, &t.manager, &t.s1, &t.accounting] {
        app.get("/api/v1/routing", &who.token).await.expect(200);
    }
    app.call("GET".parse().unwrap(), "/api/v1/routing", None, None)
        .await
        .expect(401);
}

async fn routing_off_leaves_new_leads_unassigned(app: TestApp) {
    let t = team(&app).await;
    let lead = create(&app, &t.s1, json!({"name": "Nobody's"})).await;
    assert!(lead["owner"].is_null());
    assert!(lead["routing"].is_null());
}

async fn turning_routing_on_does_not_change_existing_leads(app: TestApp) {
    let t = team(&app).await;
    let before = create(&app, &t.owner, json!({"name": "Earlier"})).await;
    app.routing_on(&t.owner, None, None).await.expect(200);
    let still = app
        .get(
            format!("/api/v1/leads/{}", before["id"].as_str().unwrap()),
            &t.owner.token,
        )
        .await;
    assert!(still.json["owner"].is_null() && still.json["routing"].is_null());
    let after = create(&app, &t.owner, json!({"name": "Later"})).await;
    assert!(owner_id(&after).is_some());
    // An unassigned lead stays unassigned when someone unassigns a routed one, too.
    let id = after["id"].as_str().unwrap();
    let r = app
        .post(
            format!("/api/v1/leads/{id}/unassign"),
            Some(&t.owner.token),
            json!({}),
        )
        .await;
    assert!(r.json["owner"].is_null());
}

async fn an_explicit_owner_always_wins(app: TestApp) {
    let t = team(&app).await;
    app.routing_on(&t.owner, None, Some(&[&t.s1]))
        .await
        .expect(200);
    let lead = create(&app, &t.s2, json!({"name": "Mine", "owner_id": t.s2.id})).await;
    assert_eq!(owner_id(&lead), Some(t.s2.id.as_str()));
    assert!(lead["routing"].is_null());
    let next = app.get("/api/v1/routing", &t.owner.token).await;
    assert_eq!(
        next.json["next"],
        t.s1.id.as_str(),
        "routing was not consulted"
    );
}

async fn round_robin_goes_round_in_team_order_with_receipts(app: TestApp) {
    let t = team(&app).await;
    app.routing_on(&t.owner, Some("round_robin"), None)
        .await
        .expect(200);
    let order = [&t.owner.id, &t.manager.id, &t.s1.id, &t.s2.id];
    for round in 0..2 {
        for (i, expected) in order.iter().enumerate() {
            let lead = create(&app, &t.s1, json!({"name": format!("L{round}{i}")})).await;
            assert_eq!(
                owner_id(&lead),
                Some(expected.as_str()),
                "round {round}, lead {i}"
            );
            let routing = &lead["routing"];
            assert_eq!(routing["strategy"], "round_robin");
            assert_eq!(routing["seq"], (round * 4 + i + 1) as i64);
            assert!(
                routing["reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("Round-robin: ")
            );
            let history = app
                .get(
                    format!("/api/v1/leads/{}/history", lead["id"].as_str().unwrap()),
                    &t.owner.token,
                )
                .await;
            let kinds: Vec<&str> = history.json["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["kind"].as_str().unwrap())
                .collect();
            assert_eq!(kinds, ["created", "routed"]);
            assert_eq!(
                history.json["events"][1]["to_owner"]["id"],
                expected.as_str()
            );
        }
    }
    app.check().await;
}

async fn balanced_sends_to_the_fewest_open_leads(app: TestApp) {
    let t = team(&app).await;
    // An uneven start: owner 2 open, manager 1, s1 0 (plus 1 won), s2 1.
    for (who, n) in [(&t.owner, 2), (&t.manager, 1), (&t.s2, 1)] {
        for _ in 0..n {
            create(&app, &t.owner, json!({"name": "Busy", "owner_id": who.id})).await;
        }
    }
    let won = create(&app, &t.owner, json!({"name": "Won", "owner_id": t.s1.id})).await;
    app.patch(
        format!("/api/v1/leads/{}", won["id"].as_str().unwrap()),
        &t.owner.token,
        json!({"status": "won"}),
    )
    .await
    .expect(200);
    app.routing_on(&t.owner, Some("balanced"), None)
        .await
        .expect(200);
    // s1 (0) first; then manager, s1, s2 tie at 1: never routed goes first in team order.
    let expected = [&t.s1.id, &t.manager.id, &t.s2.id, &t.s1.id, &t.owner.id];
    for (i, want) in expected.iter().enumerate() {
        let lead = create(&app, &t.owner, json!({"name": format!("B{i}")})).await;
        assert_eq!(owner_id(&lead), Some(want.as_str()), "lead {i}");
        assert!(
            lead["routing"]["reason"]
                .as_str()
                .unwrap()
                .starts_with("Balanced: ")
        );
    }
    app.check().await;
}

async fn leads_from_every_team_channel_are_routed(app: TestApp) {
    let t = team(&app).await;
    app.routing_on(&t.owner, None, Some(&[&t.s1]))
        .await
        .expect(200);
    for source in ["team", "assistant", "import"] {
        let lead = create(&app, &t.manager, json!({"name": source, "source": source})).await;
        assert_eq!(owner_id(&lead), Some(t.s1.id.as_str()), "{source}");
        assert_eq!(lead["source"], source);
    }
}

async fn accounting_is_never_in_the_rotation(app: TestApp) {
    let t = team(&app).await;
    let r = app.get("/api/v1/routing", &t.owner.token).await;
    let ids: Vec<&str> = r.json["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["user"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [&t.owner.id, &t.manager.id, &t.s1.id, &t.s2.id]);
    let r = app.routing_on(&t.owner, None, Some(&[&t.accounting])).await;
    r.expect(422);
    assert!(r.field("rotation").is_some());
    let other = app.signup("Other", "x@other.io").await;
    put(&app, &t.owner, json!({"rotation": [other.id]}))
        .await
        .expect(422);
    put(&app, &t.owner, json!({"rotation": ["nobody"]}))
        .await
        .expect(422);
    app.routing_on(&t.owner, None, None).await.expect(200);
    for i in 0..8 {
        let lead = create(&app, &t.owner, json!({"name": format!("A{i}")})).await;
        assert_ne!(owner_id(&lead), Some(t.accounting.id.as_str()));
    }
}

async fn inactive_picks_are_skipped_and_all_inactive_falls_back(app: TestApp) {
    let t = team(&app).await;
    app.routing_on(&t.owner, None, Some(&[&t.s1, &t.s2]))
        .await
        .expect(200);
    app.patch(
        format!("/api/v1/team/{}", t.s1.id),
        &t.owner.token,
        json!({"active": false}),
    )
    .await
    .expect(200);
    let r = app.get("/api/v1/routing", &t.owner.token).await;
    assert_eq!(r.json["effective_pool"], json!([t.s2.id]));
    assert_eq!(r.json["fallback"], false);
    assert_eq!(
        r.json["rotation"],
        json!([t.s1.id, t.s2.id]),
        "saved picks are kept as saved"
    );
    for _ in 0..3 {
        let lead = create(&app, &t.owner, json!({"name": "Skip"})).await;
        assert_eq!(owner_id(&lead), Some(t.s2.id.as_str()));
    }
    app.patch(
        format!("/api/v1/team/{}", t.s2.id),
        &t.owner.token,
        json!({"active": false}),
    )
    .await
    .expect(200);
    let r = app.get("/api/v1/routing", &t.owner.token).await;
    assert_eq!(r.json["fallback"], true);
    assert_eq!(r.json["effective_pool"], json!([t.owner.id, t.manager.id]));
    let lead = create(&app, &t.owner, json!({"name": "Fallback"})).await;
    assert!(matches!(owner_id(&lead), Some(id) if id == t.owner.id || id == t.manager.id));
    assert!(
        lead["routing"]["reason"]
            .as_str()
            .unwrap()
            .contains("every checked rep is inactive")
    );
    let inactive: Vec<bool> = r.json["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["user"]["active"].as_bool().unwrap())
        .collect();
    assert_eq!(
        inactive,
        [true, true, false, false],
        "inactive members are listed, marked"
    );
}

async fn only_owners_and_managers_save_and_saving_is_audited(app: TestApp) {
    let t = team(&app).await;
    for who in [&t.s1, &t.accounting] {
        let before = app.snapshot().await;
        app.routing_on(who, None, None).await.expect(403);
        assert_eq!(before, app.snapshot().await);
        assert_eq!(
            app.get("/api/v1/routing", &t.owner.token).await.json["enabled"],
            false
        );
    }
    let r = app
        .routing_on(&t.manager, Some("balanced"), Some(&[&t.s2, &t.s1, &t.s2]))
        .await;
    r.expect(200);
    assert_eq!(
        r.json["rotation"],
        json!([t.s2.id, t.s1.id]),
        "as saved, without duplicates"
    );
    assert_eq!(r.json["updated_by"]["id"], t.manager.id.as_str());
    assert!(r.json["updated_at"].as_str().unwrap().ends_with('Z'));
    let audit = app
        .get("/api/v1/audit?action=routing.updated", &t.owner.token)
        .await;
    let entry = &audit.json["entries"][0];
    assert_eq!(entry["actor"]["id"], t.manager.id.as_str());
    assert_eq!(
        entry["before"],
        json!({"enabled": false, "strategy": "round_robin", "rotation": []})
    );
    assert_eq!(
        entry["after"],
        json!({"enabled": true, "strategy": "balanced", "rotation": [t.s2.id, t.s1.id]})
    );
    put(&app, &t.owner, json!({"strategy": "random"}))
        .await
        .expect(422);
    put(&app, &t.owner, json!({"enabled": "yes"}))
        .await
        .expect(422);
    put(&app, &t.owner, json!({"rotation": "everyone"}))
        .await
        .expect(422);
}

async fn strategy_and_rotation_are_kept_while_off(app: TestApp) {
    let t = team(&app).await;
    put(
        &app,
        &t.owner,
        json!({"enabled": false, "strategy": "balanced", "rotation": [t.s1.id]}),
    )
    .await
    .expect(200);
    let r = app.get("/api/v1/routing", &t.s1.token).await;
    assert_eq!(
        (r.json["enabled"].clone(), r.json["strategy"].clone()),
        (json!(false), json!("balanced"))
    );
    assert_eq!(r.json["rotation"], json!([t.s1.id]));
    assert_eq!(r.json["candidates"][2]["checked"], true);
    let lead = create(&app, &t.owner, json!({"name": "Off"})).await;
    assert!(lead["owner"].is_null(), "routing is off");
    app.routing_on(&t.owner, None, None).await.expect(200);
    let lead = create(&app, &t.owner, json!({"name": "On"})).await;
    assert_eq!(owner_id(&lead), Some(t.s1.id.as_str()));
    assert_eq!(lead["routing"]["strategy"], "balanced");
}

async fn the_preview_is_what_happens_next(app: TestApp) {
    let t = team(&app).await;
    create(
        &app,
        &t.owner,
        json!({"name": "Busy", "owner_id": t.manager.id}),
    )
    .await;
    app.routing_on(&t.owner, Some("balanced"), None)
        .await
        .expect(200);
    let r = app.get("/api/v1/routing", &t.owner.token).await;
    let preview: Vec<String> = serde_json::from_value(r.json["preview"].clone()).unwrap();
    assert_eq!(preview.len(), 10);
    assert_eq!(r.json["next"], preview[0].as_str());
    let unchanged = app.get("/api/v1/routing", &t.owner.token).await;
    assert_eq!(
        unchanged.json["preview"], r.json["preview"],
        "a dry run changes nothing"
    );
    for (i, want) in preview.iter().enumerate() {
        let lead = create(&app, &t.owner, json!({"name": format!("P{i}")})).await;
        assert_eq!(owner_id(&lead), Some(want.as_str()), "lead {i}");
    }
}

/// Owners of the routed leads in seq order, from the database.
async fn owners_in_seq_order(app: &TestApp, account_id: &str) -> Vec<(i64, String)> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT routing_seq, owner_id FROM leads WHERE account_id = $1 AND routing_seq IS NOT NULL ORDER BY routing_seq",
    )
    .bind(account_id)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    rows
}

async fn two_hundred_leads_at_once_get_consecutive_seqs_and_fair_owners(app: TestApp) {
    let t = team(&app).await;
    app.routing_on(&t.owner, None, Some(&[&t.owner, &t.manager, &t.s1, &t.s2]))
        .await
        .expect(200);
    let base = spawn_server(&app).await;
    let client = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (client, base, token) = (client.clone(), base.clone(), t.s1.token.clone());
        tasks.spawn(async move {
            client
                .post(format!("{base}/api/v1/leads"))
                .bearer_auth(token)
                .json(&json!({"name": format!("Rush {i}")}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses = tasks.join_all().await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let routed = owners_in_seq_order(&app, &t.owner.account_id).await;
    let seqs: Vec<i64> = routed.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        seqs,
        (1..=200).collect::<Vec<_>>(),
        "distinct, consecutive seq"
    );
    // Exactly what one-at-a-time creation gives: the team in order, over and over.
    let order = [&t.owner.id, &t.manager.id, &t.s1.id, &t.s2.id];
    for (i, (_, owner)) in routed.iter().enumerate() {
        assert_eq!(owner, order[i % 4], "seq {}", i + 1);
    }
    app.check().await;
}

async fn balanced_from_an_uneven_start_matches_a_sequential_replay(app: TestApp) {
    use leadroute::domain::routing::{Strategy, preview};
    let t = team(&app).await;
    // Uneven start: the Owner has 6 open leads, the Manager 3, s1 1, s2 none.
    for (who, n) in [(&t.owner, 6), (&t.manager, 3), (&t.s1, 1)] {
        for _ in 0..n {
            create(&app, &t.owner, json!({"name": "Busy", "owner_id": who.id})).await;
        }
    }
    app.routing_on(&t.owner, Some("balanced"), None)
        .await
        .expect(200);
    // What one-at-a-time creation would give, replayed by the pure engine from this state.
    let candidates = {
        let mut conn = app.db.conn().await.unwrap();
        leadroute::store::routing::candidates(&mut conn, &t.owner.account_id)
            .await
            .unwrap()
    };
    let expected: Vec<String> = preview(Strategy::Balanced, &[], &candidates, 1, 120)
        .into_iter()
        .map(|i| candidates[i].id.clone())
        .collect();
    let base = spawn_server(&app).await;
    let client = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..120 {
        let (client, base, token) = (client.clone(), base.clone(), t.manager.token.clone());
        tasks.spawn(async move {
            let r = client
                .post(format!("{base}/api/v1/leads"))
                .bearer_auth(token)
                .json(&json!({"name": format!("B{i}")}))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        });
    }
    assert!(tasks.join_all().await.iter().all(|s| *s == 201));
    let routed: Vec<String> = owners_in_seq_order(&app, &t.owner.account_id)
        .await
        .into_iter()
        .map(|(_, o)| o)
        .collect();
    assert_eq!(
        routed, expected,
        "the owners a sequential replay gives, in seq order"
    );
    // And the workload ends up level: nobody more than one lead above anyone else.
    let r = app.get("/api/v1/routing", &t.owner.token).await;
    let open: Vec<i64> = r.json["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["open_leads"].as_i64().unwrap())
        .collect();
    assert!(
        open.iter().max().unwrap() - open.iter().min().unwrap() <= 1,
        "{open:?}"
    );
    app.check().await;
}
