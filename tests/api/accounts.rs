//! Sign-up, login, logout, me, and the error body for bad input.

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::json;

use crate::helpers::TestApp;

crate::backend_tests!(
    signup_creates_an_account_with_its_owner,
    signup_rejects_bad_input_field_by_field,
    malformed_bodies_are_400_and_oversized_413,
    emails_are_unique_across_the_service,
    login_logout_and_me,
    unknown_routes_and_methods_have_the_error_body,
    easy_passwords_are_refused_at_signup_invitation_and_reset,
);

async fn signup_creates_an_account_with_its_owner(app: TestApp) {
    let r = app
        .post(
            "/api/v1/signup",
            None,
            json!({"account_name": " Acme ", "name": "Olivia", "email": "Olivia@Acme.io", "password": "correct-horse-battery-42"}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["account"]["name"], "Acme");
    assert_eq!(r.json["user"]["role"], "owner");
    assert_eq!(r.json["user"]["active"], true);
    assert_eq!(r.json["user"]["email"], "olivia@acme.io");
    let token = r.json["token"].as_str().unwrap();
    let me = app.get("/api/v1/me", token).await;
    me.expect(200);
    assert_eq!(me.json["account"]["id"], r.json["account"]["id"]);
    assert_eq!(me.json["user"]["id"], r.json["user"]["id"]);
    // Only a hash of the token is stored.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token);
}

async fn signup_rejects_bad_input_field_by_field(app: TestApp) {
    let cases = [
        (json!({}), vec!["account_name", "name", "email", "password"]),
        (
            json!({"account_name": "A", "name": "N", "email": "nope", "password": "correct-horse-battery-42"}),
            vec!["email"],
        ),
        (
            json!({"account_name": "A", "name": "N", "email": "a@b.io", "password": "1234567"}),
            vec!["password"],
        ),
        (
            json!({"account_name": "x".repeat(201), "name": "N", "email": "a@b.io", "password": "correct-horse-battery-42"}),
            vec!["account_name"],
        ),
        (
            json!({"account_name": "A", "name": "   ", "email": "a@b.io", "password": "correct-horse-battery-42"}),
            vec!["name"],
        ),
        (
            json!({"account_name": "A", "name": 42, "email": "a@b.io", "password": "correct-horse-battery-42"}),
            vec!["name"],
        ),
        (
            json!({"account_name": "A", "name": "N", "email": ["a@b.io"], "password": "correct-horse-battery-42"}),
            vec!["email"],
        ),
    ];
    for (body, fields) in cases {
        let r = app.post("/api/v1/signup", None, body.clone()).await;
        r.expect(422);
        for field in fields {
            assert!(
                r.field(field).is_some(),
                "{body}: expected a reason for {field}: {}",
                r.text
            );
        }
    }
    // Nothing was half-written.
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(accounts, 0);
}

async fn malformed_bodies_are_400_and_oversized_413(app: TestApp) {
    let raw = |content_type: &'static str, body: Vec<u8>| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/signup")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    };
    app.send(raw("application/json", b"{\"name\": ".to_vec()))
        .await
        .expect(400);
    app.send(raw("application/json", b"[1, 2]".to_vec()))
        .await
        .expect(400);
    app.send(raw("application/json", b"".to_vec()))
        .await
        .expect(400);
    app.send(raw("text/plain", b"{}".to_vec()))
        .await
        .expect(400);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    app.send(raw("application/json", deep.into_bytes()))
        .await
        .expect(400);
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    app.send(raw("application/json", huge.into_bytes()))
        .await
        .expect(413);
}

async fn emails_are_unique_across_the_service(app: TestApp) {
    app.signup("Acme", "jo@acme.io").await;
    let r = app
        .post(
            "/api/v1/signup",
            None,
            json!({"account_name": "Other", "name": "Jo", "email": "JO@acme.io", "password": "correct-horse-battery-42"}),
        )
        .await;
    r.expect(409);
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(accounts, 1, "the failed sign-up left no account behind");
}

async fn login_logout_and_me(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let login = |email: &str, password: &str| {
        app.post(
            "/api/v1/login",
            None,
            json!({"email": email, "password": password}),
        )
    };
    let r = login("O@acme.io", "correct-horse-battery-42").await;
    r.expect(200);
    assert_eq!(r.json["user"]["id"], owner.id.as_str());
    let token = r.json["token"].as_str().unwrap().to_owned();
    assert_ne!(token, owner.token, "every sign-in gets its own token");
    login("o@acme.io", "wrong-password").await.expect(401);
    login("nobody@acme.io", "correct-horse-battery-42")
        .await
        .expect(401);
    app.post("/api/v1/login", None, json!({"email": "o@acme.io"}))
        .await
        .expect(422);

    app.get("/api/v1/me", &token).await.expect(200);
    app.call(Method::GET, "/api/v1/me", None, None)
        .await
        .expect(401);
    app.get("/api/v1/me", "not-a-token").await.expect(401);
    app.call(Method::POST, "/api/v1/logout", Some(&token), None)
        .await
        .expect(204);
    app.get("/api/v1/me", &token).await.expect(401);
    // Other sessions are untouched.
    app.get("/api/v1/me", &owner.token).await.expect(200);
}

async fn unknown_routes_and_methods_have_the_error_body(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    app.get("/api/v1/nothing-here", &owner.token)
        .await
        .expect(404);
    let r = app
        .call(Method::DELETE, "/api/v1/me", Some(&owner.token), None)
        .await;
    assert_eq!(r.status.as_u16(), 405);
    assert_eq!(r.json["error"]["code"], "bad_request");
}

/// `LEADROUTE_LOGIN_RATE_LIMIT`: failed attempts per minute per address and per email from
/// an address (successes do not count), and `0`.
async fn login_limit(backend: &'static str) {
    let Some(app) = TestApp::with_config(backend, |c| c.login_rate_limit = 3).await else {
        return;
    };
    app.signup("Acme", "o@acme.io").await;
    crate::helpers::one_window_for(std::time::Duration::from_secs(20)).await;
    let attempt = |password: &'static str| {
        app.post(
            "/api/v1/login",
            None,
            json!({"email": "o@acme.io", "password": password}),
        )
    };
    attempt("wrong-1").await.expect(401);
    attempt("correct-horse-battery-42").await.expect(200);
    attempt("wrong-2").await.expect(401);
    attempt("correct-horse-battery-42").await.expect(200);
    attempt("wrong-3").await.expect(401);
    let r = attempt("correct-horse-battery-42").await;
    r.expect(429);
    assert!(r.headers.contains_key("retry-after"));
    // The page says so too, instead of a wrong-password message.
    let form = serde_urlencoded::to_string([
        ("email", "o@acme.io"),
        ("password", "correct-horse-battery-42"),
    ])
    .unwrap();
    let page = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/signin")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, 429);
    assert!(page.text.contains("Too many requests"));

    let Some(open) = TestApp::with_config(backend, |c| c.login_rate_limit = 0).await else {
        return;
    };
    open.signup("Open", "o@open.io").await;
    for _ in 0..15 {
        open.post(
            "/api/v1/login",
            None,
            json!({"email": "o@open.io", "password": "nope-nope"}),
        )
        .await
        .expect(401);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_limit_on_sqlite() {
    login_limit("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_limit_on_postgres() {
    login_limit("postgres").await;
}

async fn easy_passwords_are_refused_at_signup_invitation_and_reset(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let invited = app
        .post(
            "/api/v1/team/invitations",
            Some(&owner.token),
            json!({"email": "sam@acme.io", "name": "Sam", "role": "sales"}),
        )
        .await;
    invited.expect(201);
    let token = invited.json["invitation"]["token"].as_str().unwrap();
    let sales = app.add_member(&owner, "sales", "s@acme.io").await;
    let reset = app
        .post(
            format!("/api/v1/team/{}/password-reset", sales.id),
            Some(&owner.token),
            json!({}),
        )
        .await;
    reset.expect(201);
    let reset_token = reset.json["reset_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let before = app.snapshot().await;
    for weak in [
        "password",
        "password123",
        "12345678",
        "aaaaaaaaaaaa",
        "qwertyuiop",
    ] {
        let signup = app
            .post(
                "/api/v1/signup",
                None,
                json!({"account_name": "Beta", "name": "Bo", "email": "bo@beta.io", "password": weak}),
            )
            .await;
        let accept = app
            .post(
                format!("/api/v1/invitations/{token}/accept"),
                None,
                json!({"password": weak}),
            )
            .await;
        let reset = app
            .post(
                format!("/api/v1/password-resets/{reset_token}"),
                None,
                json!({"password": weak}),
            )
            .await;
        for r in [signup, accept, reset] {
            r.expect(422);
            let why = r.field("password").unwrap_or_default();
            assert!(
                why.starts_with("is too easy to guess")
                    && why.contains("add a few more words or characters"),
                "{weak}: {}",
                r.text
            );
        }
    }
    assert_eq!(app.snapshot().await, before);
    // The too-short rule still comes first.
    let r = app
        .post(
            format!("/api/v1/invitations/{token}/accept"),
            None,
            json!({"password": "aaaa"}),
        )
        .await;
    assert_eq!(r.field("password"), Some("must be at least 8 characters"));
    app.post(
        format!("/api/v1/invitations/{token}/accept"),
        None,
        json!({"password": "tulip umbrella cobalt"}),
    )
    .await
    .expect(201);
}
