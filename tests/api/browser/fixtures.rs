//! Data and checks the browser tests share: an account on a real server, members made
//! through the API, routing settings, and the bell's badge.

use std::time::Instant;

use serde_json::json;

use super::{Browser, POLL, WAIT};
use crate::helpers::{Member, TestApp, spawn_server};

/// What the API helpers give every member.
pub(super) const PASSWORD: &str = "correct-horse-battery-42";

/// A fresh account on a real server: its Owner ("Owner of Acme Rockets", olive@acme.test).
pub(super) async fn acme() -> (TestApp, String, Member) {
    let app = TestApp::new("sqlite").await.unwrap();
    let base = spawn_server(&app).await;
    let owner = app.signup("Acme Rockets", "olive@acme.test").await;
    (app, base, owner)
}

/// Invites `name` with `role` and accepts, through the API.
pub(super) async fn join(
    app: &TestApp,
    inviter: &Member,
    role: &str,
    name: &str,
    email: &str,
) -> Member {
    let body = json!({"email": email, "name": name, "role": role});
    let r = app
        .post("/api/v1/team/invitations", Some(&inviter.token), body)
        .await;
    r.expect(201);
    let token = r.json["invitation"]["token"].as_str().unwrap();
    let accept = format!("/api/v1/invitations/{token}/accept");
    let r = app.post(accept, None, json!({"password": PASSWORD})).await;
    r.expect(201);
    Member {
        token: r.json["token"].as_str().unwrap().to_owned(),
        id: r.json["user"]["id"].as_str().unwrap().to_owned(),
        account_id: inviter.account_id.clone(),
    }
}

/// The bell's badge: whether it shows, and its text.
pub(super) async fn badge(browser: &Browser) -> (bool, String) {
    let script = "const b = document.querySelector('a.bell .badge');
        return [!b.hidden && getComputedStyle(b).display !== 'none', b.textContent.trim()]";
    let v = browser.js(script).await;
    (v[0].as_bool().unwrap(), v[1].as_str().unwrap().to_owned())
}

/// Polls, with no reload, until the bell's badge shows `count`.
pub(super) async fn wait_for_badge(browser: &Browser, count: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let (shown, text) = badge(browser).await;
        if shown && text == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the bell still shows {text:?} (shown: {shown}), expected {count}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Acme with two Sales reps, Sam and Rita, and routing on with Rita alone in the rotation.
pub(super) async fn acme_routed_to_rita() -> (TestApp, String, Member, Member) {
    let (app, base, owner) = acme().await;
    join(&app, &owner, "sales", "Sam Sales", "sam@acme.test").await;
    let rita = join(&app, &owner, "sales", "Rita Rep", "rita@acme.test").await;
    let saved = app.routing_on(&owner, None, Some(&[&rita])).await;
    saved.expect(200);
    assert_eq!(saved.json["next"], json!(rita.id), "{}", saved.text);
    (app, base, owner, rita)
}

/// Serves `html` at `/` on a second local port: another website, another origin.
pub(super) async fn other_site(html: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let page = axum::response::Html(html);
    let router = axum::Router::new().route("/", axum::routing::get(move || async move { page }));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}
