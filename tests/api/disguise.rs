//! Names and emails that could pass for someone else's: invisible and text-direction
//! characters are refused in every name field, look-alike emails are one address or
//! refused, and pages isolate whatever user text they show.

use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp};
use crate::pages::signed_in;

crate::backend_tests!(
    every_name_field_refuses_invisible_and_direction_characters,
    look_alike_emails_on_signup_collide_or_are_refused,
    pages_isolate_right_to_left_names_in_bdi,
);

const DISGUISED: [&str; 2] = ["Sam Sales\u{202e} (Owner)", "a\u{202e}evil\u{200b}"];
const WHY: &str = "must not contain invisible or text-direction characters";

#[track_caller]
fn refused(r: &Resp, field: &str) {
    r.expect(422);
    assert_eq!(r.field(field), Some(WHY), "{}", r.text);
}

fn signup_body(account: &str, name: &str, email: &str) -> Value {
    json!({"account_name": account, "name": name, "email": email,
           "password": "correct-horse-battery-42"})
}

async fn every_name_field_refuses_invisible_and_direction_characters(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let form_key = app.form_key(&owner).await;
    let lead = app
        .post(
            "/api/v1/leads",
            Some(&owner.token),
            json!({"name": "Jane Roe"}),
        )
        .await;
    lead.expect(201);
    let lead_id = lead.json["id"].as_str().unwrap().to_owned();
    let before = app.snapshot().await;
    for bad in DISGUISED {
        let r = app
            .post(
                "/api/v1/signup",
                None,
                signup_body(bad, "Olivia", "x@acme.io"),
            )
            .await;
        refused(&r, "account_name");
        let r = app
            .post(
                "/api/v1/signup",
                None,
                signup_body("Acme", bad, "x@acme.io"),
            )
            .await;
        refused(&r, "name");
        let r = app
            .post(
                "/api/v1/team/invitations",
                Some(&owner.token),
                json!({"email": "new@acme.io", "name": bad, "role": "sales"}),
            )
            .await;
        refused(&r, "name");
        for field in ["name", "company"] {
            let mut body = json!({"name": "Jane Roe"});
            body[field] = json!(bad);
            let r = app.post("/api/v1/leads", Some(&owner.token), body).await;
            refused(&r, field);
            let r = app
                .patch(
                    format!("/api/v1/leads/{lead_id}"),
                    &owner.token,
                    json!({field: bad}),
                )
                .await;
            refused(&r, field);
            let mut body = json!({"name": "Jane Roe", "email": "jane@example.com"});
            body[field] = json!(bad);
            let r = app.post(&format!("/f/{form_key}"), None, body).await;
            refused(&r, field);
        }
    }
    assert_eq!(app.snapshot().await, before);
    // Right-to-left names in their own script are names like any other.
    let r = app
        .post(
            "/api/v1/leads",
            Some(&owner.token),
            json!({"name": "محمد علي", "company": "שלום בע\"מ"}),
        )
        .await;
    r.expect(201);
}

async fn look_alike_emails_on_signup_collide_or_are_refused(app: TestApp) {
    app.signup("Acme", "jane@acme.io").await;
    let before = app.snapshot().await;
    // Full-width letters are the same address once normalised: the same user.
    let r = app
        .post(
            "/api/v1/signup",
            None,
            signup_body("Other", "Jane", "ｊａｎｅ@acme.io"),
        )
        .await;
    r.expect(409);
    for (email, why) in [
        ("ja\u{200b}ne@acme.io", WHY),
        ("jane\u{202e}@acme.io", WHY),
        (
            "j\u{430}ne@acme.io",
            "mixes letters of different alphabets that look alike",
        ),
        (
            "jane@\u{430}cme.io",
            "mixes letters of different alphabets that look alike",
        ),
    ] {
        let r = app
            .post("/api/v1/signup", None, signup_body("Other", "Jane", email))
            .await;
        r.expect(422);
        assert_eq!(r.field("email"), Some(why), "{email:?}: {}", r.text);
    }
    assert_eq!(app.snapshot().await, before);
    // And signing in with either spelling is the same member.
    for spelling in ["jane@acme.io", "ｊａｎｅ@acme.io", " JANE@ACME.IO "] {
        let r = app
            .post(
                "/api/v1/login",
                None,
                json!({"email": spelling, "password": "correct-horse-battery-42"}),
            )
            .await;
        r.expect(200);
    }
    // An invitation to a look-alike of a member's address is refused the same way.
    let owner = app.signup("Beta", "o@beta.io").await;
    let before = app.snapshot().await;
    let r = app
        .post(
            "/api/v1/team/invitations",
            Some(&owner.token),
            json!({"email": "j\u{430}ne@beta.io", "name": "Jane", "role": "sales"}),
        )
        .await;
    r.expect(422);
    assert!(r.field("email").is_some(), "{}", r.text);
    assert_eq!(app.snapshot().await, before);
    // A full-width spelling on a website lead is stored as the plain address.
    let key = app.form_key(&owner).await;
    let r = app
        .post(
            &format!("/f/{key}"),
            None,
            json!({"name": "Jane", "email": "ＪＡＮＥ＠ＥＸＡＭＰＬＥ．ＣＯＭ"}),
        )
        .await;
    r.expect(201);
    let id = r.json["id"].as_str().unwrap();
    let lead = app.get(format!("/api/v1/leads/{id}"), &owner.token).await;
    assert_eq!(lead.json["email"], "jane@example.com", "{}", lead.text);
}

async fn pages_isolate_right_to_left_names_in_bdi(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let rep = app.add_member(&owner, "sales", "rep@acme.io").await;
    // A name stored before names were checked keeps its override: pages must contain it.
    let legacy = "Sam Sales\u{202e} (Owner)";
    sqlx::query("UPDATE users SET name = $1 WHERE id = $2")
        .bind(legacy)
        .bind(&rep.id)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let r = app
        .post(
            "/api/v1/leads",
            Some(&owner.token),
            json!({"name": "محمد علي", "company": "שלום", "owner_id": rep.id}),
        )
        .await;
    r.expect(201);
    let id = r.json["id"].as_str().unwrap().to_owned();

    let mut browser = signed_in(&app, "o@acme.io").await;
    let team = browser.get("/settings/team").await;
    assert!(
        team.text.contains(&format!("<bdi>{legacy}</bdi>")),
        "{}",
        team.text
    );
    // Every place the name shows as text is isolated (the other is the confirm attribute).
    let shown = team.text.matches(legacy).count();
    let isolated = team.text.matches(&format!("<bdi>{legacy}</bdi>")).count();
    assert!(isolated >= 2 && shown <= isolated + 1, "{}", team.text);
    let leads = browser.get("/leads").await;
    for isolated in [
        "<bdi>محمد علي</bdi>",
        "<bdi>שלום</bdi>",
        &format!("<bdi>{legacy}</bdi>"),
    ] {
        assert!(leads.text.contains(isolated), "{isolated}: {}", leads.text);
    }
    let lead = browser.get(&format!("/leads/{id}")).await;
    assert!(
        lead.text.contains("<h1><bdi>محمد علي</bdi></h1>"),
        "{}",
        lead.text
    );
    assert!(
        lead.text
            .contains(&format!("<strong><bdi>{legacy}</bdi></strong>"))
    );

    // The member's own header shows their name isolated, and their notification too.
    let mut rep_browser = signed_in(&app, "rep@acme.io").await;
    let notes = rep_browser.get("/notifications").await;
    assert!(
        notes
            .text
            .contains(&format!("<span class=\"who\"><bdi>{legacy}</bdi></span>")),
        "{}",
        notes.text
    );
    assert!(
        notes
            .text
            .contains("<span class=\"note-text\"><bdi dir=\"ltr\">"),
        "{}",
        notes.text
    );
    assert!(notes.text.contains("محمد علي"), "{}", notes.text);
}
