//! Leads over the API: the permission table (roles x actions x lead states), races on the
//! one assignment path, exact open-lead counters, the list, history and tenant isolation.

use serde_json::{Value, json};

use crate::fixtures;
use crate::helpers::{Member, TestApp};

crate::backend_tests!(
    permission_table_over_every_role_action_and_state,
    creating_leads_validates_every_field,
    fifty_reps_claim_one_lead_and_exactly_one_wins,
    assign_and_unassign_racing_leave_a_consistent_story,
    open_lead_counts_stay_exact,
    list_filters_searches_and_pages_newest_first,
    history_tells_the_whole_story,
    another_accounts_leads_are_not_found,
    a_member_who_owns_leads_cannot_become_accounting,
);

/// The shared team, then two more Sales reps (teammate@ and spare@acme.io) and a deactivated
/// one (inactive@acme.io).
struct Team {
    owner: Member,
    manager: Member,
    sales: Member,
    teammate: Member,
    spare: Member,
    accounting: Member,
    inactive: Member,
}

async fn team(app: &TestApp) -> Team {
    let fixtures::Team {
        owner,
        manager,
        sales,
        accounting,
    } = fixtures::team(app).await;
    let teammate = app.add_member(&owner, "sales", "teammate@acme.io").await;
    let spare = app.add_member(&owner, "sales", "spare@acme.io").await;
    let inactive = app.add_member(&owner, "sales", "inactive@acme.io").await;
    app.patch(
        format!("/api/v1/team/{}", inactive.id),
        &owner.token,
        json!({"active": false}),
    )
    .await
    .expect(200);
    Team {
        owner,
        manager,
        sales,
        teammate,
        spare,
        accounting,
        inactive,
    }
}

/// Creates a lead as the Owner, owned by `owner_id` (or nobody).
async fn lead(app: &TestApp, t: &Team, owner_id: Option<&str>) -> String {
    let r = app
        .post(
            "/api/v1/leads",
            Some(&t.owner.token),
            json!({"name": "Jane Roe", "owner_id": owner_id}),
        )
        .await;
    r.expect(201);
    r.json["id"].as_str().unwrap().to_owned()
}

async fn owner_of(app: &TestApp, token: &str, id: &str) -> Value {
    app.get(format!("/api/v1/leads/{id}"), token).await.json["owner"]["id"].clone()
}

#[derive(Clone, Copy, Debug)]
enum State {
    Unassigned,
    Own,
    Teammates,
}

#[derive(Clone, Copy, Debug)]
enum Act {
    Claim,
    Unassign,
    Assign,
    Edit,
    Status,
}

async fn permission_table_over_every_role_action_and_state(app: TestApp) {
    use Act::*;
    use State::*;
    let t = team(&app).await;
    let roles: [(&str, &Member); 5] = [
        ("owner", &t.owner),
        ("manager", &t.manager),
        ("sales", &t.sales),
        ("accounting", &t.accounting),
        ("inactive", &t.inactive),
    ];
    // Expected status for (role, action, state).
    let expected = |role: &str, act: Act, state: State| -> u16 {
        let admin = matches!(role, "owner" | "manager");
        match (role, act, state) {
            ("inactive", _, _) => 401,
            ("accounting", _, _) => 403,
            (_, Claim, Unassigned) => 200,
            (_, Claim, _) => 409,
            (_, Unassign, Unassigned) => 409,
            (_, Unassign, Own) => 200,
            (_, Unassign, Teammates) => {
                if admin {
                    200
                } else {
                    403
                }
            }
            (_, Assign, _) => {
                if admin {
                    200
                } else {
                    403
                }
            }
            (_, Edit | Status, Own) => 200,
            (_, Edit | Status, _) => {
                if admin {
                    200
                } else {
                    403
                }
            }
        }
    };
    for (role, actor) in roles {
        for state in [Unassigned, Own, Teammates] {
            if role == "accounting" && matches!(state, Own) {
                continue; // Accounting never owns a lead.
            }
            for act in [Claim, Unassign, Assign, Edit, Status] {
                let owner = match state {
                    Unassigned => None,
                    Own if role == "inactive" => Some(t.teammate.id.as_str()),
                    Own => Some(actor.id.as_str()),
                    Teammates => Some(t.teammate.id.as_str()),
                };
                let id = lead(&app, &t, owner).await;
                let before = app.snapshot().await;
                let (path, body) = match act {
                    Claim => (format!("/api/v1/leads/{id}/claim"), None),
                    Unassign => (format!("/api/v1/leads/{id}/unassign"), None),
                    Assign => (
                        format!("/api/v1/leads/{id}/assign"),
                        Some(json!({"owner_id": t.spare.id})),
                    ),
                    Edit => (
                        format!("/api/v1/leads/{id}"),
                        Some(json!({"name": "Renamed"})),
                    ),
                    Status => (
                        format!("/api/v1/leads/{id}"),
                        Some(json!({"status": "won"})),
                    ),
                };
                let method = if matches!(act, Edit | Status) {
                    "PATCH"
                } else {
                    "POST"
                };
                let r = app
                    .call(method.parse().unwrap(), path, Some(&actor.token), body)
                    .await;
                let want = expected(role, act, state);
                assert_eq!(
                    r.status.as_u16(),
                    want,
                    "{role} {act:?} on {state:?}: {}",
                    r.text
                );
                r.expect(want);
                let stored = app
                    .get(format!("/api/v1/leads/{id}"), &t.owner.token)
                    .await
                    .json;
                if want == 200 {
                    let owner_now = &stored["owner"]["id"];
                    match act {
                        Claim => assert_eq!(owner_now, actor.id.as_str()),
                        Unassign => assert!(owner_now.is_null()),
                        Assign => assert_eq!(owner_now, t.spare.id.as_str()),
                        Edit => assert_eq!(stored["name"], "Renamed"),
                        Status => assert_eq!(stored["status"], "won"),
                    }
                } else {
                    assert_eq!(
                        before,
                        app.snapshot().await,
                        "{role} {act:?} on {state:?} changed nothing"
                    );
                }
            }
        }
    }

    // Creating: without an owner, for oneself, for a teammate.
    for (role, actor) in roles {
        for (pick, owner) in [
            ("nobody", None),
            ("self", Some(actor.id.as_str())),
            ("teammate", Some(t.teammate.id.as_str())),
        ] {
            let want = match (role, pick) {
                ("inactive", _) => 401,
                ("accounting", _) => 403,
                ("sales", "teammate") => 403,
                _ => 201,
            };
            let r = app
                .post(
                    "/api/v1/leads",
                    Some(&actor.token),
                    json!({"name": "New", "owner_id": owner}),
                )
                .await;
            r.expect(want);
            if want == 201 {
                assert_eq!(
                    r.json["owner"]["id"],
                    owner.map_or(Value::Null, Value::from)
                );
                assert_eq!(r.json["created_by"]["id"], actor.id.as_str());
                assert_eq!(r.json["source"], "team");
                assert_eq!(r.json["status"], "open");
                assert!(r.json["routing"].is_null());
            }
        }
    }
    // Reading is open to every active role, Accounting included.
    let id = lead(&app, &t, None).await;
    for (role, actor) in roles {
        let want = if role == "inactive" { 401 } else { 200 };
        app.get(format!("/api/v1/leads/{id}"), &actor.token)
            .await
            .expect(want);
        app.get("/api/v1/leads", &actor.token).await.expect(want);
    }
}

async fn creating_leads_validates_every_field(app: TestApp) {
    let t = team(&app).await;
    let create = |body: Value| app.post("/api/v1/leads", Some(&t.owner.token), body);
    let r = create(json!({})).await;
    r.expect(422);
    assert!(r.field("name").is_some());
    for (body, field) in [
        (json!({"name": "x".repeat(201)}), "name"),
        (json!({"name": "J", "email": "nope"}), "email"),
        (json!({"name": "J", "phone": "1".repeat(51)}), "phone"),
        (json!({"name": "J", "company": "c".repeat(201)}), "company"),
        (json!({"name": "J", "notes": "n".repeat(10_001)}), "notes"),
        (json!({"name": "J", "source": "website"}), "source"),
        (json!({"name": "J", "source": "carrier-pigeon"}), "source"),
        (
            json!({"name": "J", "owner_id": t.accounting.id}),
            "owner_id",
        ),
        (json!({"name": "J", "owner_id": t.inactive.id}), "owner_id"),
        (json!({"name": "J", "owner_id": "no-such-user"}), "owner_id"),
        (json!({"name": 7}), "name"),
    ] {
        let r = create(body.clone()).await;
        r.expect(422);
        assert!(r.field(field).is_some(), "{body}: {}", r.text);
    }
    let other = app.signup("Other", "boss@other.io").await;
    create(json!({"name": "J", "owner_id": other.id}))
        .await
        .expect(422);
    let r = create(json!({"name": " Jane ", "email": "JANE@x.io", "phone": "+1 555", "company": "X", "notes": "a\nb", "source": "import"})).await;
    r.expect(201);
    assert_eq!(r.json["name"], "Jane");
    assert_eq!(r.json["email"], "jane@x.io");
    assert_eq!(r.json["source"], "import");
    assert_eq!(r.json["notes"], "a\nb");
    let leads: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM leads")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(leads, 1, "refused leads left nothing behind");
    // Editing validates too, and an empty string clears an optional field.
    let id = r.json["id"].as_str().unwrap();
    app.patch(
        format!("/api/v1/leads/{id}"),
        &t.owner.token,
        json!({"status": "closed"}),
    )
    .await
    .expect(422);
    app.patch(
        format!("/api/v1/leads/{id}"),
        &t.owner.token,
        json!({"name": ""}),
    )
    .await
    .expect(422);
    let r = app
        .patch(
            format!("/api/v1/leads/{id}"),
            &t.owner.token,
            json!({"phone": ""}),
        )
        .await;
    r.expect(200);
    assert!(r.json["phone"].is_null());
    app.patch("/api/v1/leads/nope", &t.owner.token, json!({"name": "x"}))
        .await
        .expect(404);
}

async fn fifty_reps_claim_one_lead_and_exactly_one_wins(app: TestApp) {
    let t = team(&app).await;
    let mut reps = Vec::new();
    for i in 0..50 {
        reps.push(
            app.add_member(&t.owner, "sales", &format!("rep{i}@acme.io"))
                .await,
        );
    }
    let id = lead(&app, &t, None).await;
    let handles: Vec<_> = reps
        .iter()
        .map(|rep| app.spawn_post(format!("/api/v1/leads/{id}/claim"), &rep.token))
        .collect();
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    let wins: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == 200)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(wins.len(), 1, "exactly one claim wins");
    for r in results.iter().filter(|r| r.status != 200) {
        r.expect(409);
        assert_eq!(
            r.json["error"]["message"],
            "A teammate claimed this lead first."
        );
    }
    let winner = &reps[wins[0]];
    assert_eq!(
        owner_of(&app, &t.owner.token, &id).await,
        winner.id.as_str()
    );
    let history = app
        .get(format!("/api/v1/leads/{id}/history"), &t.owner.token)
        .await;
    let claimed: Vec<&Value> = history.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "claimed")
        .collect();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0]["actor"]["id"], winner.id.as_str());
    let audit = app
        .get("/api/v1/audit?action=lead.claimed", &t.owner.token)
        .await;
    assert_eq!(audit.json["entries"].as_array().unwrap().len(), 1);
    let open: i64 = sqlx::query_scalar("SELECT open_leads FROM users WHERE id = $1")
        .bind(&winner.id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(open, 1);
    app.check().await;
}

async fn assign_and_unassign_racing_leave_a_consistent_story(app: TestApp) {
    let t = team(&app).await;
    for _ in 0..10 {
        let id = lead(&app, &t, Some(&t.sales.id)).await;
        let (a, u) = tokio::join!(
            app.post(
                format!("/api/v1/leads/{id}/assign"),
                Some(&t.owner.token),
                json!({"owner_id": t.spare.id})
            ),
            app.post(
                format!("/api/v1/leads/{id}/unassign"),
                Some(&t.manager.token),
                json!({})
            ),
        );
        assert_eq!(
            a.status, 200,
            "assign works on owned and unassigned leads alike"
        );
        assert!(u.status == 200 || u.status == 409, "{}", u.text);
        let owner = owner_of(&app, &t.owner.token, &id).await;
        let history = app
            .get(format!("/api/v1/leads/{id}/history"), &t.owner.token)
            .await;
        let events = history.json["events"].as_array().unwrap();
        let last = events.last().unwrap();
        assert_eq!(
            last["to_owner"]["id"], owner,
            "the last event explains the current owner"
        );
        // Each event starts from where the previous one left off.
        for pair in events.windows(2) {
            assert_eq!(
                pair[1]["from_owner"]["id"], pair[0]["to_owner"]["id"],
                "{events:?}"
            );
        }
    }
    app.check().await;
}

async fn recount_matches(app: &TestApp) {
    let mismatches: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users u WHERE u.open_leads <> (SELECT COUNT(*) FROM leads l \
         WHERE l.account_id = u.account_id AND l.owner_id = u.id AND l.status = 'open')",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(mismatches, 0, "open-lead counters equal a full recount");
}

async fn open_lead_counts_stay_exact(app: TestApp) {
    let t = team(&app).await;
    let members = [&t.owner, &t.manager, &t.sales, &t.teammate];
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(lead(&app, &t, if i % 2 == 0 { None } else { Some(&t.sales.id) }).await);
    }
    let mut seed: u64 = 0x5eed_1ead;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n
    };
    for _ in 0..120 {
        let id = &ids[next(ids.len())];
        let who = members[next(members.len())];
        let r = match next(4) {
            0 => {
                app.post(
                    format!("/api/v1/leads/{id}/claim"),
                    Some(&who.token),
                    json!({}),
                )
                .await
            }
            1 => {
                app.post(
                    format!("/api/v1/leads/{id}/unassign"),
                    Some(&t.owner.token),
                    json!({}),
                )
                .await
            }
            2 => {
                app.post(
                    format!("/api/v1/leads/{id}/assign"),
                    Some(&t.manager.token),
                    json!({"owner_id": who.id}),
                )
                .await
            }
            _ => {
                let status = ["open", "won", "lost", "dormant"][next(4)];
                app.patch(
                    format!("/api/v1/leads/{id}"),
                    &t.owner.token,
                    json!({"status": status}),
                )
                .await
            }
        };
        assert!(r.status == 200 || r.status == 409, "{}", r.text);
        recount_matches(&app).await;
    }
    app.check().await;
}

async fn list_filters_searches_and_pages_newest_first(app: TestApp) {
    let t = team(&app).await;
    let mut created = Vec::new();
    for i in 0..12 {
        let owner = match i % 3 {
            0 => None,
            1 => Some(t.sales.id.as_str()),
            _ => Some(t.teammate.id.as_str()),
        };
        let body = json!({"name": format!("Lead {i}"), "company": if i == 7 { "Umbrella_Corp 100%" } else { "Acme" },
                          "email": format!("lead{i}@example.com"), "owner_id": owner, "source": if i == 4 { "import" } else { "team" }});
        let r = app.post("/api/v1/leads", Some(&t.owner.token), body).await;
        created.push(r.json["id"].as_str().unwrap().to_owned());
    }
    let won = &created[4];
    app.patch(
        format!("/api/v1/leads/{won}"),
        &t.owner.token,
        json!({"status": "won"}),
    )
    .await
    .expect(200);
    let names = |r: &crate::helpers::Resp| -> Vec<String> {
        r.json["leads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.get("/api/v1/leads", &t.sales.token).await;
    all.expect(200);
    let expected: Vec<String> = (0..12).rev().map(|i| format!("Lead {i}")).collect();
    assert_eq!(names(&all), expected, "newest first");
    assert!(all.json["next_cursor"].is_null());

    let mine = app.get("/api/v1/leads?owner=me", &t.sales.token).await;
    assert_eq!(names(&mine), ["Lead 10", "Lead 7", "Lead 4", "Lead 1"]);
    let by_id = app
        .get(
            format!("/api/v1/leads?owner={}", t.sales.id),
            &t.owner.token,
        )
        .await;
    assert_eq!(names(&by_id), names(&mine));
    let none = app.get("/api/v1/leads?owner=none", &t.sales.token).await;
    assert_eq!(names(&none), ["Lead 9", "Lead 6", "Lead 3", "Lead 0"]);
    let open_mine = app
        .get("/api/v1/leads?owner=me&status=open", &t.sales.token)
        .await;
    assert_eq!(names(&open_mine), ["Lead 10", "Lead 7", "Lead 1"]);
    let imported = app.get("/api/v1/leads?source=import", &t.sales.token).await;
    assert_eq!(names(&imported), ["Lead 4"]);
    for q in ["umbrella", "UMBRELLA_corp", "100%", "lead7@example"] {
        let found = app
            .get(
                format!("/api/v1/leads?q={}", q.replace('%', "%25")),
                &t.sales.token,
            )
            .await;
        assert_eq!(names(&found), ["Lead 7"], "q={q}");
    }
    let wildcard = app.get("/api/v1/leads?q=_", &t.sales.token).await;
    assert_eq!(names(&wildcard), ["Lead 7"], "LIKE wildcards are literal");

    // Keyset pages of 5 walk the whole list once, in order.
    let mut walked = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(
                format!("/api/v1/leads?limit=5&cursor={cursor}"),
                &t.sales.token,
            )
            .await;
        page.expect(200);
        walked.extend(names(&page));
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(walked, expected);
    for bad in [
        "status=closed",
        "source=fax",
        "limit=0",
        "limit=201",
        "limit=x",
        "cursor=zzz",
    ] {
        app.get(format!("/api/v1/leads?{bad}"), &t.sales.token)
            .await
            .expect(422);
    }
}

async fn history_tells_the_whole_story(app: TestApp) {
    let t = team(&app).await;
    let r = app
        .post(
            "/api/v1/leads",
            Some(&t.manager.token),
            json!({"name": "Story", "source": "import"}),
        )
        .await;
    let id = r.json["id"].as_str().unwrap().to_owned();
    app.post(
        format!("/api/v1/leads/{id}/claim"),
        Some(&t.sales.token),
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        format!("/api/v1/leads/{id}/assign"),
        Some(&t.owner.token),
        json!({"owner_id": t.teammate.id}),
    )
    .await
    .expect(200);
    app.post(
        format!("/api/v1/leads/{id}/unassign"),
        Some(&t.teammate.token),
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        format!("/api/v1/leads/{id}/assign"),
        Some(&t.manager.token),
        json!({"owner_id": t.sales.id}),
    )
    .await
    .expect(200);
    app.patch(
        format!("/api/v1/leads/{id}"),
        &t.sales.token,
        json!({"status": "lost", "company": "Acme"}),
    )
    .await
    .expect(200);
    let h = app
        .get(format!("/api/v1/leads/{id}/history"), &t.accounting.token)
        .await;
    h.expect(200);
    let events = h.json["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "claimed",
            "assigned",
            "unassigned",
            "assigned",
            "status_changed",
            "updated"
        ]
    );
    assert_eq!(events[0]["actor"]["id"], t.manager.id.as_str());
    assert!(events[0]["detail"].as_str().unwrap().contains("Import"));
    assert_eq!(events[2]["from_owner"]["id"], t.sales.id.as_str());
    assert_eq!(events[2]["to_owner"]["id"], t.teammate.id.as_str());
    assert_eq!(events[2]["actor"]["id"], t.owner.id.as_str());
    assert!(events[3]["to_owner"].is_null());
    assert_eq!(events[5]["detail"], "Status changed from Open to Lost");
    assert!(events[0]["at"].as_str().unwrap().ends_with('Z'));
    let audit = app.get("/api/v1/audit?limit=200", &t.owner.token).await;
    let actions: Vec<&str> = audit.json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        &actions[..4],
        [
            "lead.assigned",
            "lead.unassigned",
            "lead.assigned",
            "lead.claimed"
        ]
    );
    let entry = &audit.json["entries"][1];
    assert_eq!(entry["before"]["owner"]["id"], t.teammate.id.as_str());
    assert!(entry["after"]["owner"].is_null());
    app.get("/api/v1/leads/nope/history", &t.owner.token)
        .await
        .expect(404);
}

async fn another_accounts_leads_are_not_found(app: TestApp) {
    let t = team(&app).await;
    let id = lead(&app, &t, Some(&t.sales.id)).await;
    let free = lead(&app, &t, None).await;
    let other = app.signup("Other", "boss@other.io").await;
    let before = app.snapshot().await;
    for lead_id in [&id, &free] {
        app.get(format!("/api/v1/leads/{lead_id}"), &other.token)
            .await
            .expect(404);
        app.get(format!("/api/v1/leads/{lead_id}/history"), &other.token)
            .await
            .expect(404);
        app.patch(
            format!("/api/v1/leads/{lead_id}"),
            &other.token,
            json!({"name": "x"}),
        )
        .await
        .expect(404);
        app.post(
            format!("/api/v1/leads/{lead_id}/claim"),
            Some(&other.token),
            json!({}),
        )
        .await
        .expect(404);
        app.post(
            format!("/api/v1/leads/{lead_id}/unassign"),
            Some(&other.token),
            json!({}),
        )
        .await
        .expect(404);
        app.post(
            format!("/api/v1/leads/{lead_id}/assign"),
            Some(&other.token),
            json!({"owner_id": other.id}),
        )
        .await
        .expect(404);
    }
    // Nor can their members be given this account's leads, or theirs ours.
    app.post(
        format!("/api/v1/leads/{free}/assign"),
        Some(&t.owner.token),
        json!({"owner_id": other.id}),
    )
    .await
    .expect(422);
    let theirs = app.get("/api/v1/leads", &other.token).await;
    assert!(theirs.json["leads"].as_array().unwrap().is_empty());
    let filtered = app
        .get(format!("/api/v1/leads?owner={}", t.sales.id), &other.token)
        .await;
    assert!(filtered.json["leads"].as_array().unwrap().is_empty());
    assert_eq!(before, app.snapshot().await);
}

async fn a_member_who_owns_leads_cannot_become_accounting(app: TestApp) {
    let t = team(&app).await;
    let id = lead(&app, &t, Some(&t.sales.id)).await;
    let path = format!("/api/v1/team/{}", t.sales.id);
    let r = app
        .patch(&path, &t.owner.token, json!({"role": "accounting"}))
        .await;
    r.expect(409);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Reassign them")
    );
    app.patch(
        format!("/api/v1/leads/{id}"),
        &t.owner.token,
        json!({"status": "won"}),
    )
    .await
    .expect(200);
    app.patch(&path, &t.owner.token, json!({"role": "accounting"}))
        .await
        .expect(409);
    app.post(
        format!("/api/v1/leads/{id}/unassign"),
        Some(&t.owner.token),
        json!({}),
    )
    .await
    .expect(200);
    app.patch(&path, &t.owner.token, json!({"role": "accounting"}))
        .await
        .expect(200);
    app.check().await;
}
