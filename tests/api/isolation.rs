//! Tenant isolation, generated from the OpenAPI document: every route that takes an id, with
//! every method, called with another account's token answers 404 and changes nothing.

use axum::http::Method;
use serde_json::json;

use crate::helpers::TestApp;

crate::backend_tests!(every_route_with_an_id_hides_other_accounts);

async fn every_route_with_an_id_hides_other_accounts(app: TestApp) {
    // Account A with something behind every kind of id.
    let owner = app.signup("Acme", "o@acme.io").await;
    let rep = app.add_member(&owner, "sales", "rep@acme.io").await;
    let lead = app
        .post(
            "/api/v1/leads",
            Some(&owner.token),
            json!({"name": "Secret", "owner_id": rep.id}),
        )
        .await;
    let lead_id = lead.json["id"].as_str().unwrap().to_owned();
    let inbox = app.get("/api/v1/notifications", &rep.token).await;
    let notification_id = inbox.json["notifications"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let invitation = app
        .post(
            "/api/v1/team/invitations",
            Some(&owner.token),
            json!({"email": "new@acme.io", "name": "New", "role": "sales"}),
        )
        .await;
    let invitation_id = invitation.json["invitation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rotation = app
        .post(
            "/api/v1/rotations",
            Some(&owner.token),
            json!({"name": "Secret pool"}),
        )
        .await;
    let rotation_id = rotation.json["id"].as_str().unwrap().to_owned();
    let time_off = app
        .post(
            &format!("/api/v1/team/{}/time-off", rep.id),
            Some(&rep.token),
            json!({"starts_at": "2027-01-04T00:00:00Z", "ends_at": "2027-01-05T00:00:00Z"}),
        )
        .await;
    let time_off_id = time_off.json["id"].as_str().unwrap().to_owned();
    // Account B, an Owner: the strongest role there is, and still a stranger here.
    let stranger = app.signup("Other", "x@other.io").await;

    let doc = serde_json::to_value(leadroute::http::api::openapi()).unwrap();
    let before = app.snapshot().await;
    let mut checked = 0;
    for (template, operations) in doc["paths"].as_object().unwrap() {
        if !template.contains('{')
            || template.starts_with("/api/v1/public/")
            || template.contains("{token}")
        {
            continue; // public routes take keys and tokens, not ids
        }
        let path = if template.starts_with("/api/v1/leads/") {
            template.replace("{id}", &lead_id)
        } else if template.starts_with("/api/v1/notifications/") {
            template.replace("{id}", &notification_id)
        } else if template.starts_with("/api/v1/rotations/") {
            template.replace("{id}", &rotation_id)
        } else if template.starts_with("/api/v1/team/invitations/") {
            template.replace("{id}", &invitation_id)
        } else if template.contains("/time-off/") {
            template
                .replace("{user_id}", &rep.id)
                .replace("{id}", &time_off_id)
        } else {
            template.replace("{user_id}", &rep.id)
        };
        assert!(
            !path.contains('{'),
            "{template}: teach this test which of account A's ids to use"
        );
        for method in operations.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let body = (method != Method::GET).then(|| json!({"owner_id": stranger.id, "name": "x", "active": false, "role": "sales", "status": "won"}));
            let r = app
                .call(method.clone(), path.clone(), Some(&stranger.token), body)
                .await;
            assert_eq!(
                r.status, 404,
                "{method} {template} with another account's token: {}",
                r.text
            );
            r.expect(404);
            checked += 1;
        }
    }
    assert!(checked >= 9, "only {checked} routes checked");
    assert_eq!(before, app.snapshot().await, "nothing changed");
    // The same calls with A's own token do reach the data (the test is not vacuous).
    app.get(format!("/api/v1/leads/{lead_id}"), &owner.token)
        .await
        .expect(200);
    let r = app
        .call(
            Method::POST,
            format!("/api/v1/notifications/{notification_id}/read"),
            Some(&rep.token),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    // A lead's chat transcript (swept above with a typed-in lead): a chat lead's too.
    let chat_lead = crate::chat::chat_lead(&app, &owner, "I'm Jane Roe, jane@roe.io").await;
    let transcript = format!("/api/v1/leads/{chat_lead}/transcript");
    app.get(&transcript, &stranger.token).await.expect(404);
    let mine = app.get(&transcript, &owner.token).await;
    assert_eq!(mine.json["turns"].as_array().unwrap().len(), 3);
}
