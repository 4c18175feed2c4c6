//! The audit log API: who may read it, paging, filtering.

use serde_json::json;

use crate::helpers::TestApp;

crate::backend_tests!(audit_is_for_owners_and_managers, audit_pages_newest_first);

async fn audit_is_for_owners_and_managers(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let manager = app.add_member(&owner, "manager", "m@acme.io").await;
    let sales = app.add_member(&owner, "sales", "s@acme.io").await;
    let accounting = app.add_member(&owner, "accounting", "a@acme.io").await;
    app.get("/api/v1/audit", &owner.token).await.expect(200);
    app.get("/api/v1/audit", &manager.token).await.expect(200);
    app.get("/api/v1/audit", &sales.token).await.expect(403);
    app.get("/api/v1/audit", &accounting.token)
        .await
        .expect(403);
    let r = app
        .get("/api/v1/audit?action=team.invited", &manager.token)
        .await;
    let entries = r.json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["after"]["email"], "a@acme.io");
    assert_eq!(entries[0]["actor"]["id"], owner.id.as_str());
    assert!(entries[0]["before"].is_null());
}

async fn audit_pages_newest_first(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    for i in 0..7 {
        app.post(
            "/api/v1/team/invitations",
            Some(&owner.token),
            json!({"email": format!("p{i}@acme.io"), "name": "P", "role": "sales"}),
        )
        .await
        .expect(201);
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = app
            .get(
                &format!("/api/v1/audit?action=team.invited&limit=3&cursor={cursor}"),
                &owner.token,
            )
            .await;
        r.expect(200);
        for e in r.json["entries"].as_array().unwrap() {
            seen.push(e["after"]["email"].as_str().unwrap().to_owned());
        }
        match r.json["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).rev().map(|i| format!("p{i}@acme.io")).collect();
    assert_eq!(seen, expected);
    app.get("/api/v1/audit?limit=0", &owner.token)
        .await
        .expect(422);
    app.get("/api/v1/audit?limit=201", &owner.token)
        .await
        .expect(422);
    app.get("/api/v1/audit?limit=abc", &owner.token)
        .await
        .expect(422);
    app.get("/api/v1/audit?cursor=garbage", &owner.token)
        .await
        .expect(422);
}
