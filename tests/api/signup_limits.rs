//! The per-address limit on sign-ups and invitations (`LEADROUTE_SIGNUP_RATE_LIMIT`), the
//! bounded new-password hashing lane under a sign-up flood, and the sign-in limit that
//! counts failures per address and per email-and-address, so nobody can lock out another.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{Member, Resp, TestApp};
use crate::pages::Browser;

/// A JSON request as sent from `address` (the socket peer the limits go by).
fn from(address: &str, path: &str, token: Option<&str>, body: &Value) -> Request<Body> {
    let ip: IpAddr = address.parse().unwrap();
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, "app.test")
        .header(header::CONTENT_TYPE, "application/json")
        .extension(ConnectInfo(SocketAddr::new(ip, 40_000)));
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

fn signup_body(email: &str) -> Value {
    json!({"account_name": "Acme", "name": "Olivia", "email": email, "password": "correct-horse-battery-42"})
}

async fn signup_from(app: &TestApp, address: &str, email: &str) -> Resp {
    app.send(from(address, "/api/v1/signup", None, &signup_body(email)))
        .await
}

async fn login_from(app: &TestApp, address: &str, email: &str, password: &str) -> Resp {
    let body = json!({"email": email, "password": password});
    app.send(from(address, "/api/v1/login", None, &body)).await
}

async fn invite_from(app: &TestApp, address: &str, inviter: &Member, email: &str) -> Resp {
    let body = json!({"email": email, "name": "Sam", "role": "sales"});
    let request = from(
        address,
        "/api/v1/team/invitations",
        Some(&inviter.token),
        &body,
    );
    app.send(request).await
}

async fn account_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// Runs `$name(backend)` once per backend (these tests configure their own app).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name("sqlite").await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name("postgres").await;
                }
            )*
        }
    };
}

on_both_backends!(
    signups_and_invitations_share_a_limit_per_address,
    the_pages_are_limited_too,
    a_sign_up_flood_is_refused_not_queued_and_sign_in_goes_on,
    failures_from_one_address_do_not_lock_out_another,
    successful_sign_ins_do_not_use_the_budget,
);

/// Every sign-up request counts (valid, invalid or taken), invitations share the budget,
/// the client address is the socket peer (never `X-Forwarded-For`), and a refused request
/// changes nothing.
async fn signups_and_invitations_share_a_limit_per_address(backend: &'static str) {
    let Some(app) = TestApp::with_config(backend, |c| c.signup_rate_limit = 3).await else {
        return;
    };
    crate::helpers::one_window_for(Duration::from_secs(20)).await;
    let a = "10.0.0.1";
    signup_from(&app, a, "a1@acme.io").await.expect(201);
    let no_password = json!({"account_name": "Acme", "name": "Olivia", "email": "a2@acme.io"});
    app.send(from(a, "/api/v1/signup", None, &no_password))
        .await
        .expect(422);
    signup_from(&app, a, "a1@acme.io").await.expect(409);

    let before = app.snapshot().await;
    let r = signup_from(&app, a, "a3@acme.io").await;
    r.expect(429);
    r.retry_after_secs();
    let mut forwarded = from(a, "/api/v1/signup", None, &signup_body("a4@acme.io"));
    forwarded
        .headers_mut()
        .insert("x-forwarded-for", "10.9.9.9".parse().unwrap());
    app.send(forwarded).await.expect(429);
    assert_eq!(
        app.snapshot().await,
        before,
        "refused sign-ups change nothing"
    );
    let counted: Vec<i64> = sqlx::query_scalar("SELECT hits FROM login_attempts WHERE bucket = $1")
        .bind(format!("signup-addr:{a}"))
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        counted,
        [3],
        "a refused request writes nothing, not even its hit"
    );

    // Another address has its own budget, shared by sign-ups and invitations.
    let b = "10.0.0.2";
    let r = signup_from(&app, b, "b@acme.io").await;
    r.expect(201);
    let owner = Member {
        token: r.json["token"].as_str().unwrap().to_owned(),
        id: r.json["user"]["id"].as_str().unwrap().to_owned(),
        account_id: r.json["account"]["id"].as_str().unwrap().to_owned(),
    };
    invite_from(&app, b, &owner, "s1@acme.io").await.expect(201);
    invite_from(&app, b, &owner, "s2@acme.io").await.expect(201);
    let before = app.snapshot().await;
    let r = invite_from(&app, b, &owner, "s3@acme.io").await;
    r.expect(429);
    r.retry_after_secs();
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused invitation changes nothing"
    );
    // The owner may still invite from another address.
    invite_from(&app, "10.0.0.3", &owner, "s3@acme.io")
        .await
        .expect(201);
}

/// The sign-up page and the Team page's invite form count in the same budget and say
/// why they refused, in a sentence.
async fn the_pages_are_limited_too(backend: &'static str) {
    let Some(app) = TestApp::with_config(backend, |c| c.signup_rate_limit = 3).await else {
        return;
    };
    crate::helpers::one_window_for(Duration::from_secs(20)).await;
    // Requests without a peer address (in-process) share one bucket.
    let mut browser = Browser::new(&app);
    assert_eq!(browser.sign_up("o@acme.io").await.status, 303);
    let invite = |email: &'static str| [("email", email), ("name", "Sam"), ("role", "sales")];
    let r = browser
        .submit(
            "/settings/team",
            "/settings/team/invitations",
            &invite("s1@acme.io"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = browser
        .submit(
            "/settings/team",
            "/settings/team/invitations",
            &invite("s2@acme.io"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let before = app.snapshot().await;
    let r = browser
        .submit(
            "/settings/team",
            "/settings/team/invitations",
            &invite("s3@acme.io"),
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(
        r.text.contains("Too many requests; try again in"),
        "{}",
        r.text
    );
    let r = Browser::new(&app).sign_up("p@acme.io").await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(
        r.text.contains("Too many requests; try again in"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("p@acme.io"),
        "the form keeps what was typed"
    );
    assert_eq!(app.snapshot().await, before);
}

/// With the limit off, a burst of sign-ups far beyond the new-password lane's queue: the
/// overflow is refused at once with 429 (not left waiting), the rest are created, and
/// sign-ins made meanwhile complete. No timing is asserted beyond "completes".
async fn a_sign_up_flood_is_refused_not_queued_and_sign_in_goes_on(backend: &'static str) {
    let Some(app) = TestApp::with_config(backend, |c| c.signup_rate_limit = 0).await else {
        return;
    };
    app.signup("Acme", "member@acme.io").await;
    let flood: Vec<_> = (0..150)
        .map(|i| {
            let request = from(
                "10.0.0.9",
                "/api/v1/signup",
                None,
                &signup_body(&format!("flood{i}@acme.io")),
            );
            let router = app.router.clone();
            tokio::spawn(async move {
                use tower::ServiceExt;
                let response = router.oneshot(request).await.unwrap();
                let status = response.status();
                let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
                let body = http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .unwrap()
                    .to_bytes();
                let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                (status, retry_after, json)
            })
        })
        .collect();
    for _ in 0..5 {
        let r = tokio::time::timeout(
            Duration::from_secs(120),
            login_from(
                &app,
                "10.0.0.8",
                "member@acme.io",
                "correct-horse-battery-42",
            ),
        )
        .await
        .expect("sign-in completes during the flood");
        r.expect(200);
    }
    let mut created = 0;
    let mut busy = 0;
    for task in flood {
        let (status, retry_after, json) = tokio::time::timeout(Duration::from_secs(300), task)
            .await
            .expect("every sign-up is answered")
            .unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                busy += 1;
                assert_eq!(json["error"]["code"], "rate_limited", "{json}");
                assert_eq!(
                    json["error"]["message"],
                    "The server is busy; try again in a few seconds."
                );
                assert!(retry_after.is_some());
            }
            other => panic!("unexpected {other}: {json}"),
        }
    }
    assert!(busy > 0, "150 at once overflow a queue of 32");
    assert!(created > 0);
    assert_eq!(account_count(&app).await, created + 1);
    // The queue drains: sign-ups work again.
    signup_from(&app, "10.0.0.9", "after@acme.io")
        .await
        .expect(201);
    app.check().await;
}

/// An attacker's wrong passwords for someone's email use up the attacker's budget, not
/// the victim's: the victim signs in from elsewhere; the attacker's address is refused,
/// for that email and for any other.
async fn failures_from_one_address_do_not_lock_out_another(backend: &'static str) {
    let Some(app) = TestApp::with_config(backend, |c| c.login_rate_limit = 10).await else {
        return;
    };
    app.signup("Acme", "victim@acme.io").await;
    app.signup("Other", "other@other.io").await;
    crate::helpers::one_window_for(Duration::from_secs(30)).await;
    let attacker = "10.0.0.66";
    for i in 0..20 {
        let r = login_from(&app, attacker, "victim@acme.io", &format!("guess-{i}")).await;
        r.expect(if i < 10 { 401 } else { 429 });
    }
    login_from(
        &app,
        "10.0.0.5",
        "victim@acme.io",
        "correct-horse-battery-42",
    )
    .await
    .expect(200);
    let r = login_from(&app, attacker, "victim@acme.io", "correct-horse-battery-42").await;
    r.expect(429);
    r.retry_after_secs();
    login_from(&app, attacker, "other@other.io", "correct-horse-battery-42")
        .await
        .expect(429);
    // Same-address guesses spread over many emails are slowed as well.
    let spread = "10.0.0.67";
    for i in 0..10 {
        login_from(&app, spread, &format!("user{i}@acme.io"), "guess")
            .await
            .expect(401);
    }
    login_from(&app, spread, "victim@acme.io", "guess")
        .await
        .expect(429);
    login_from(
        &app,
        "10.0.0.5",
        "victim@acme.io",
        "correct-horse-battery-42",
    )
    .await
    .expect(200);
}

/// Successes give back what they counted: 15 sign-ins in a row with a limit of 10, and
/// the address still has its 10 failures left.
async fn successful_sign_ins_do_not_use_the_budget(backend: &'static str) {
    let Some(app) = TestApp::with_config(backend, |c| c.login_rate_limit = 10).await else {
        return;
    };
    app.signup("Acme", "o@acme.io").await;
    crate::helpers::one_window_for(Duration::from_secs(30)).await;
    let office = "10.0.0.7";
    for _ in 0..15 {
        login_from(&app, office, "o@acme.io", "correct-horse-battery-42")
            .await
            .expect(200);
    }
    for _ in 0..10 {
        login_from(&app, office, "o@acme.io", "typo")
            .await
            .expect(401);
    }
    login_from(&app, office, "o@acme.io", "correct-horse-battery-42")
        .await
        .expect(429);
}
