//! Links handed out (invitations, resets, the form) are built from the Host header only
//! when it is the listen address or one the operator allowed; any other Host gets links
//! to the listen address instead.

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::{Value, json};

use crate::helpers::{Member, Resp, TestApp, spawn_server};

async fn with_host(app: &TestApp, host: &str, method: Method, path: &str, who: &Member) -> Resp {
    let body = if method == Method::POST {
        json!({"email": "sam@acme.io", "name": "Sam", "role": "sales"}).to_string()
    } else {
        String::new()
    };
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, host)
        .header(header::AUTHORIZATION, format!("Bearer {}", who.token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    app.send(request).await
}

async fn links_for(app: &TestApp, host: &str) -> (String, String) {
    let owner = app
        .signup("Acme", &format!("o{}@acme.io", rand::random::<u32>()))
        .await;
    let r = with_host(app, host, Method::POST, "/api/v1/team/invitations", &owner).await;
    r.expect(201);
    let accept_url = r.json["invitation"]["accept_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = with_host(app, host, Method::GET, "/api/v1/website", &owner).await;
    r.expect(200);
    (accept_url, r.json["form_url"].as_str().unwrap().to_owned())
}

async fn links_use_only_allowed_hosts(backend: &'static str) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let (accept_url, form_url) = links_for(&app, "evil.example").await;
    for url in [&accept_url, &form_url] {
        assert!(!url.contains("evil.example"), "{url}");
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "the listen address: {url}"
        );
    }
    // The allowed Host (the harness allows app.test) is used as sent.
    let (accept_url, _) = links_for(&app, "app.test").await;
    assert!(
        accept_url.starts_with("http://app.test/invitations/"),
        "{accept_url}"
    );

    let Some(allowing) = TestApp::with_config(backend, |config| {
        config.allowed_hosts.push("evil.example".to_owned());
    })
    .await
    else {
        return;
    };
    let (accept_url, form_url) = links_for(&allowing, "EVIL.example").await;
    assert!(
        accept_url.starts_with("http://EVIL.example/invitations/"),
        "{accept_url}"
    );
    assert!(form_url.starts_with("http://EVIL.example/f/"), "{form_url}");

    // Listening on every interface: loopback names on its port are its own, and a refused
    // Host falls back to a loopback address, never to 0.0.0.0.
    let Some(everywhere) = TestApp::with_config(backend, |config| {
        config.listen = "0.0.0.0:8080".parse().unwrap();
    })
    .await
    else {
        return;
    };
    let (accept_url, _) = links_for(&everywhere, "evil.example").await;
    assert!(
        accept_url.starts_with("http://127.0.0.1:8080/invitations/"),
        "{accept_url}"
    );
    let (accept_url, _) = links_for(&everywhere, "localhost:8080").await;
    assert!(
        accept_url.starts_with("http://localhost:8080/invitations/"),
        "{accept_url}"
    );
}

/// A real server on loopback: its own address and `localhost` on its port are fine.
async fn a_loopback_server_answers_to_its_own_names(backend: &'static str) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let owner = app.signup("Acme", "o@acme.io").await;
    let base = spawn_server(&app).await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    let client = reqwest::Client::new();
    for (host, expected) in [
        (
            format!("127.0.0.1:{port}"),
            format!("http://127.0.0.1:{port}/f/"),
        ),
        (
            format!("localhost:{port}"),
            format!("http://localhost:{port}/f/"),
        ),
        (
            "evil.example".to_owned(),
            format!("http://127.0.0.1:{port}/f/"),
        ),
        (
            format!("localhost:{port}9"),
            format!("http://127.0.0.1:{port}/f/"),
        ),
    ] {
        let r: Value = client
            .get(format!("{base}/api/v1/website"))
            .header(header::HOST, &host)
            .bearer_auth(&owner.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = r["form_url"].as_str().unwrap();
        assert!(url.starts_with(&expected), "Host {host}: {url}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_use_only_allowed_hosts_on_sqlite() {
    links_use_only_allowed_hosts("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_use_only_allowed_hosts_on_postgres() {
    links_use_only_allowed_hosts("postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_server_answers_to_its_own_names_on_sqlite() {
    a_loopback_server_answers_to_its_own_names("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_server_answers_to_its_own_names_on_postgres() {
    a_loopback_server_answers_to_its_own_names("postgres").await;
}
