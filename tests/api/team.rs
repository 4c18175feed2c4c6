//! Settings -> Team over the API: invitations, accepting, role and active changes, isolation.

use axum::http::Method;
use serde_json::json;

use crate::fixtures::team;
use crate::helpers::{Member, TestApp};

crate::backend_tests!(
    team_lists_members_in_join_order,
    who_may_invite_whom,
    invitation_validation_and_conflicts,
    accepting_an_invitation,
    member_change_rules,
    deactivation_signs_out_everywhere,
    two_owners_demoting_each_other_keep_an_owner,
    another_accounts_ids_are_not_found,
    an_owner_issues_a_password_reset_link,
);

async fn team_lists_members_in_join_order(app: TestApp) {
    let t = team(&app).await;
    for who in [&t.owner, &t.manager, &t.sales, &t.accounting] {
        let r = app.get("/api/v1/team", &who.token).await;
        r.expect(200);
        let ids: Vec<&str> = r.json["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [&t.owner.id, &t.manager.id, &t.sales.id, &t.accounting.id]
        );
        let roles: Vec<&str> = r.json["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["owner", "manager", "sales", "accounting"]);
    }
}

async fn who_may_invite_whom(app: TestApp) {
    let t = team(&app).await;
    // (inviter, role invited, expected status)
    let table: [(&Member, &str, u16); 12] = [
        (&t.owner, "owner", 201),
        (&t.owner, "manager", 201),
        (&t.owner, "sales", 201),
        (&t.owner, "accounting", 201),
        (&t.manager, "owner", 403),
        (&t.manager, "manager", 403),
        (&t.manager, "sales", 201),
        (&t.manager, "accounting", 201),
        (&t.sales, "sales", 403),
        (&t.sales, "accounting", 403),
        (&t.accounting, "sales", 403),
        (&t.accounting, "accounting", 403),
    ];
    for (i, (inviter, role, status)) in table.into_iter().enumerate() {
        let before = app.snapshot().await;
        let r = app
            .post(
                "/api/v1/team/invitations",
                Some(&inviter.token),
                json!({"email": format!("new{i}@acme.io"), "name": "New", "role": role}),
            )
            .await;
        r.expect(status);
        if status == 201 {
            let inv = &r.json["invitation"];
            assert_eq!(inv["role"], role);
            assert_eq!(inv["email"], format!("new{i}@acme.io"));
            let token = inv["token"].as_str().unwrap();
            assert_eq!(
                inv["accept_url"],
                format!("http://app.test/invitations/{token}")
            );
            assert!(inv["expires_at"].as_str().unwrap().ends_with('Z'));
        } else {
            assert_eq!(
                before,
                app.snapshot().await,
                "a refused invitation changed nothing"
            );
        }
    }
    let audit = app
        .get("/api/v1/audit?action=team.invited", &t.owner.token)
        .await;
    // 3 from building the team, 6 allowed above.
    assert_eq!(audit.json["entries"].as_array().unwrap().len(), 9);
}

async fn invitation_validation_and_conflicts(app: TestApp) {
    let t = team(&app).await;
    let invite = |body| app.post("/api/v1/team/invitations", Some(&t.owner.token), body);
    let r = invite(json!({})).await;
    r.expect(422);
    assert!(r.field("email").is_some() && r.field("name").is_some() && r.field("role").is_some());
    invite(json!({"email": "x@acme.io", "name": "X", "role": "boss"}))
        .await
        .expect(422);
    invite(json!({"email": "not-an-email", "name": "X", "role": "sales"}))
        .await
        .expect(422);
    invite(json!({"email": "x@acme.io", "name": "x".repeat(201), "role": "sales"}))
        .await
        .expect(422);
    // Someone who already has an account, in this account or another.
    invite(json!({"email": "sales@acme.io", "name": "X", "role": "sales"}))
        .await
        .expect(409);
    app.signup("Other", "someone@other.io").await;
    invite(json!({"email": "someone@other.io", "name": "X", "role": "sales"}))
        .await
        .expect(409);
    app.call(
        Method::POST,
        "/api/v1/team/invitations",
        None,
        Some(json!({})),
    )
    .await
    .expect(401);
}

async fn accepting_an_invitation(app: TestApp) {
    let t = team(&app).await;
    let r = app
        .post(
            "/api/v1/team/invitations",
            Some(&t.owner.token),
            json!({"email": "sam@acme.io", "name": "Sam", "role": "sales"}),
        )
        .await;
    let token = r.json["invitation"]["token"].as_str().unwrap().to_owned();
    let accept = |password: &str| {
        app.post(
            format!("/api/v1/invitations/{token}/accept"),
            None,
            json!({"password": password}),
        )
    };
    accept("short").await.expect(422);
    let r = accept("amber-canyon-lantern-9").await;
    r.expect(201);
    assert_eq!(r.json["user"]["name"], "Sam");
    assert_eq!(r.json["user"]["role"], "sales");
    assert_eq!(r.json["user"]["active"], true);
    let me = app
        .get("/api/v1/me", r.json["token"].as_str().unwrap())
        .await;
    assert_eq!(me.json["account"]["id"], t.owner.account_id.as_str());
    // Used once only.
    accept("amber-canyon-lantern-9").await.expect(404);
    app.post(
        "/api/v1/invitations/no-such-token/accept",
        None,
        json!({"password": "amber-canyon-lantern-9"}),
    )
    .await
    .expect(404);
    app.post(
        "/api/v1/login",
        None,
        json!({"email": "sam@acme.io", "password": "amber-canyon-lantern-9"}),
    )
    .await
    .expect(200);

    // An expired link is the same as an unknown one.
    let r = app
        .post(
            "/api/v1/team/invitations",
            Some(&t.owner.token),
            json!({"email": "late@acme.io", "name": "Late", "role": "sales"}),
        )
        .await;
    let late = r.json["invitation"]["token"].as_str().unwrap().to_owned();
    sqlx::query("UPDATE invitations SET expires_at = 0 WHERE email = 'late@acme.io'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    app.post(
        &format!("/api/v1/invitations/{late}/accept"),
        None,
        json!({"password": "amber-canyon-lantern-9"}),
    )
    .await
    .expect(404);

    // Inviting the same email again replaces the first link.
    let first = app
        .post(
            "/api/v1/team/invitations",
            Some(&t.owner.token),
            json!({"email": "twice@acme.io", "name": "T", "role": "sales"}),
        )
        .await;
    let second = app
        .post(
            "/api/v1/team/invitations",
            Some(&t.owner.token),
            json!({"email": "twice@acme.io", "name": "T", "role": "sales"}),
        )
        .await;
    let path = |r: &crate::helpers::Resp| {
        format!(
            "/api/v1/invitations/{}/accept",
            r.json["invitation"]["token"].as_str().unwrap()
        )
    };
    app.post(
        &path(&first),
        None,
        json!({"password": "amber-canyon-lantern-9"}),
    )
    .await
    .expect(404);
    app.post(
        &path(&second),
        None,
        json!({"password": "amber-canyon-lantern-9"}),
    )
    .await
    .expect(201);
}

async fn member_change_rules(app: TestApp) {
    let t = team(&app).await;
    let owner2 = app.add_member(&t.owner, "owner", "owner2@acme.io").await;
    let manager2 = app
        .add_member(&t.owner, "manager", "manager2@acme.io")
        .await;
    let sales2 = app.add_member(&t.owner, "sales", "sales2@acme.io").await;
    // (actor, target, change, expected status); each allowed change is undone afterwards.
    let table: Vec<(&Member, &Member, serde_json::Value, u16)> = vec![
        (&t.owner, &sales2, json!({"role": "manager"}), 200),
        (&t.owner, &owner2, json!({"role": "sales"}), 200),
        (&t.owner, &owner2, json!({"active": false}), 200),
        (&t.owner, &t.owner, json!({"role": "sales"}), 403),
        (&t.owner, &t.owner, json!({"active": false}), 403),
        (&t.manager, &sales2, json!({"role": "accounting"}), 200),
        (&t.manager, &sales2, json!({"active": false}), 200),
        (&t.manager, &sales2, json!({"role": "manager"}), 403),
        (&t.manager, &sales2, json!({"role": "owner"}), 403),
        (&t.manager, &manager2, json!({"role": "sales"}), 403),
        (&t.manager, &manager2, json!({"active": false}), 403),
        (&t.manager, &t.owner, json!({"active": false}), 403),
        (&t.manager, &t.manager, json!({"active": false}), 403),
        (&t.sales, &sales2, json!({"active": false}), 403),
        (&t.accounting, &sales2, json!({"role": "sales"}), 403),
        (&t.owner, &sales2, json!({"role": "chief"}), 422),
        (&t.owner, &sales2, json!({"active": "no"}), 422),
    ];
    for (actor, target, change, status) in table {
        let before = app.snapshot().await;
        let path = format!("/api/v1/team/{}", target.id);
        let r = app.patch(&path, &actor.token, change.clone()).await;
        r.expect(status);
        if status == 200 {
            assert_eq!(r.json["id"], target.id.as_str());
            if let Some(role) = change.get("role") {
                assert_eq!(&r.json["role"], role);
            }
            if let Some(active) = change.get("active") {
                assert_eq!(&r.json["active"], active);
            }
            let entries = app
                .get("/api/v1/audit?action=team.updated&limit=1", &t.owner.token)
                .await;
            let entry = &entries.json["entries"][0];
            assert_eq!(entry["actor"]["id"], actor.id.as_str());
            assert_eq!(entry["target"], format!("user:{}", target.id));
            assert!(entry["before"].is_object() && entry["after"].is_object());
            // Undo, as the Owner, so each row starts from the same team.
            let undo = app
                .patch(
                    &path,
                    &t.owner.token,
                    json!({"role": before_role(&before, &target.id), "active": true}),
                )
                .await;
            undo.expect(200);
        } else {
            assert_eq!(
                before,
                app.snapshot().await,
                "a refused change changed nothing"
            );
        }
    }
    app.patch(
        "/api/v1/team/nobody",
        &t.owner.token,
        json!({"active": false}),
    )
    .await
    .expect(404);
}

fn before_role(snapshot: &[String], user_id: &str) -> String {
    snapshot
        .iter()
        .find_map(|row| row.strip_prefix(&format!("{user_id}|")))
        .and_then(|rest| rest.split('|').next())
        .unwrap()
        .to_owned()
}

async fn deactivation_signs_out_everywhere(app: TestApp) {
    let t = team(&app).await;
    let second = app
        .post(
            "/api/v1/login",
            None,
            json!({"email": "sales@acme.io", "password": "correct-horse-battery-42"}),
        )
        .await;
    let second = second.json["token"].as_str().unwrap().to_owned();
    app.patch(
        &format!("/api/v1/team/{}", t.sales.id),
        &t.manager.token,
        json!({"active": false}),
    )
    .await
    .expect(200);
    app.get("/api/v1/me", &t.sales.token).await.expect(401);
    app.get("/api/v1/me", &second).await.expect(401);
    app.post(
        "/api/v1/login",
        None,
        json!({"email": "sales@acme.io", "password": "correct-horse-battery-42"}),
    )
    .await
    .expect(401);
    let team = app.get("/api/v1/team", &t.owner.token).await;
    assert_eq!(team.json["members"][2]["active"], false);
    app.patch(
        &format!("/api/v1/team/{}", t.sales.id),
        &t.manager.token,
        json!({"active": true}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/login",
        None,
        json!({"email": "sales@acme.io", "password": "correct-horse-battery-42"}),
    )
    .await
    .expect(200);
}

async fn two_owners_demoting_each_other_keep_an_owner(app: TestApp) {
    for _ in 0..5 {
        let a = app
            .signup("Race", &format!("a{}@race.io", rand::random::<u32>()))
            .await;
        let b = app
            .add_member(&a, "owner", &format!("b{}@race.io", rand::random::<u32>()))
            .await;
        let (ra, rb) = tokio::join!(
            app.patch(
                &format!("/api/v1/team/{}", b.id),
                &a.token,
                json!({"role": "sales"})
            ),
            app.patch(
                &format!("/api/v1/team/{}", a.id),
                &b.token,
                json!({"role": "sales"})
            ),
        );
        let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 403], "exactly one demotion wins");
        let owners: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE account_id = $1 AND role = 'owner' AND active = 1",
        )
        .bind(&a.account_id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert_eq!(owners, 1);
    }
}

async fn another_accounts_ids_are_not_found(app: TestApp) {
    let t = team(&app).await;
    let other = app.signup("Other", "boss@other.io").await;
    let before = app.snapshot().await;
    for target in [&t.owner, &t.manager, &t.sales, &t.accounting] {
        let path = format!("/api/v1/team/{}", target.id);
        app.patch(&path, &other.token, json!({"active": false}))
            .await
            .expect(404);
        app.patch(&path, &other.token, json!({"role": "sales"}))
            .await
            .expect(404);
    }
    let team = app.get("/api/v1/team", &other.token).await;
    assert_eq!(team.json["members"].as_array().unwrap().len(), 1);
    let audit = app.get("/api/v1/audit", &other.token).await;
    assert!(
        audit.json["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] == "account.created")
    );
    assert_eq!(audit.json["entries"].as_array().unwrap().len(), 1);
    assert_eq!(before, app.snapshot().await, "nothing changed");
}

async fn an_owner_issues_a_password_reset_link(app: TestApp) {
    let t = team(&app).await;
    let path = format!("/api/v1/team/{}/password-reset", t.sales.id);
    for who in [&t.manager, &t.sales, &t.accounting] {
        app.post(&path, Some(&who.token), json!({}))
            .await
            .expect(403);
    }
    let r = app.post(&path, Some(&t.owner.token), json!({})).await;
    r.expect(201);
    let url = r.json["reset_url"].as_str().unwrap();
    assert!(url.starts_with("http://app.test/reset/"), "{url}");
    assert!(r.json["expires_at"].as_str().unwrap().ends_with('Z'));
    let token = url.rsplit('/').next().unwrap().to_owned();
    let use_link = |password: &'static str| {
        app.post(
            format!("/api/v1/password-resets/{token}"),
            None,
            json!({"password": password}),
        )
    };
    use_link("short").await.expect(422);
    let r = use_link("a brand new secret").await;
    r.expect(200);
    assert_eq!(r.json["user"]["id"], t.sales.id.as_str());
    app.get("/api/v1/me", r.json["token"].as_str().unwrap())
        .await
        .expect(200);
    app.get("/api/v1/me", &t.sales.token).await.expect(401);
    app.post(
        "/api/v1/login",
        None,
        json!({"email": "sales@acme.io", "password": "correct-horse-battery-42"}),
    )
    .await
    .expect(401);
    app.post(
        "/api/v1/login",
        None,
        json!({"email": "sales@acme.io", "password": "a brand new secret"}),
    )
    .await
    .expect(200);
    use_link("another new secret").await.expect(404);
    app.post(
        "/api/v1/password-resets/nope",
        None,
        json!({"password": "tulip-umbrella-cobalt-7"}),
    )
    .await
    .expect(404);
    // Expired links are dead too.
    let r = app.post(&path, Some(&t.owner.token), json!({})).await;
    let late = r.json["reset_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    sqlx::query("UPDATE password_resets SET expires_at = 0 WHERE used_at IS NULL")
        .execute(&app.db.pool)
        .await
        .unwrap();
    app.post(
        format!("/api/v1/password-resets/{late}"),
        None,
        json!({"password": "tulip-umbrella-cobalt-7"}),
    )
    .await
    .expect(404);
    let audit = app
        .get(
            "/api/v1/audit?action=team.password_reset_issued",
            &t.owner.token,
        )
        .await;
    assert_eq!(audit.json["entries"].as_array().unwrap().len(), 2);

    // The same through the pages.
    let mut boss = crate::pages::signed_in(&app, "owner@acme.io").await;
    let team_page = boss.get("/settings/team").await;
    assert_eq!(
        team_page.text.matches(">Reset password</button>").count(),
        3,
        "every active member but the Owner"
    );
    let r = boss
        .submit(
            "/settings/team",
            &format!("/settings/team/{}/password-reset", t.manager.id),
            &[],
        )
        .await;
    assert_eq!(r.status, 201);
    assert!(r.text.contains("Password-reset link ready"));
    let marker = "id=\"reset-link\" type=\"text\" readonly value=\"http://app.test";
    let start = r.text.find(marker).unwrap() + marker.len();
    let reset_path = r.text[start..].split('"').next().unwrap().to_owned();
    let mut member = crate::pages::Browser::new(&app);
    let page = member.get(&reset_path).await;
    assert!(page.status == 200 && page.text.contains("Choose a new password"));
    let r = member
        .post(&reset_path, &[("password", "manager secret 2")])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        member.get("/leads").await.status,
        200,
        "signed in by the link"
    );
}
