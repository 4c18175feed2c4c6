//! Header and path tricks: whatever arrives gets a clear 4xx (or an answer), never a 5xx.

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, header};

use crate::helpers::TestApp;

crate::backend_tests!(odd_paths_and_headers_never_break_the_server);

async fn odd_paths_and_headers_never_break_the_server(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let key = app.form_key(&owner).await;
    let long = "a".repeat(20_000);
    let paths = [
        "/api/v1/leads/%00".to_owned(),
        "/api/v1/leads/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/api/v1/leads/%FF%FE".to_owned(),
        "/api/v1//leads".to_owned(),
        "/api/v1/leads/%E2%80%AE".to_owned(),
        format!("/api/v1/leads/{long}"),
        format!("/api/v1/leads?q={long}"),
        "/api/v1/leads?limit=-1&limit=5&owner[]=x".to_owned(),
        "/api/v1/leads?cursor=9999999999999999999999.x".to_owned(),
        "/api/v1/audit?cursor=-5".to_owned(),
        "/leads/%00".to_owned(),
        "/f/%00".to_owned(),
        format!("/f/{key}/../../api/v1/me"),
        "/chat/%2e%2e".to_owned(),
        "/static/../Cargo.toml".to_owned(),
        "/api/v1/leads?q=%00".to_owned(),
        format!("/api/v1/leads?owner=%00{long}"),
    ];
    for path in &paths {
        for token in [Some(owner.token.as_str()), None] {
            let r = app.call(Method::GET, path.as_str(), token, None).await;
            assert!(r.status.as_u16() < 500, "GET {path}: {}", r.status);
            if path.starts_with("/api/") && !r.status.is_success() {
                assert!(
                    r.json["error"]["code"].is_string(),
                    "GET {path}: {}",
                    r.text
                );
            }
        }
    }
    let headers: Vec<(header::HeaderName, HeaderValue)> = vec![
        (
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        ),
        (header::AUTHORIZATION, HeaderValue::from_static("Bearer ")),
        (
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcjpwYXNz"),
        ),
        (
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {long}")).unwrap(),
        ),
        (
            header::COOKIE,
            HeaderValue::from_bytes(b"lr_session=\xff; ;;=; lr_session=").unwrap(),
        ),
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-16"),
        ),
        (header::ORIGIN, HeaderValue::from_static("null")),
        (header::HOST, HeaderValue::from_bytes(b"\xffweird").unwrap()),
        (
            header::HeaderName::from_static("x-forwarded-proto"),
            HeaderValue::from_static("gopher"),
        ),
        (
            header::HeaderName::from_static("idempotency-key"),
            HeaderValue::from_str(&long).unwrap(),
        ),
    ];
    for (name, value) in headers {
        for (method, path, body) in [
            (Method::GET, "/api/v1/me".to_owned(), ""),
            (
                Method::POST,
                "/api/v1/leads".to_owned(),
                r#"{"name": "Odd"}"#,
            ),
            (
                Method::POST,
                format!("/f/{key}"),
                r#"{"name": "Odd", "email": "odd@x.io"}"#,
            ),
            (
                Method::POST,
                "/signin".to_owned(),
                "email=a%40b.io&password=x",
            ),
        ] {
            let content_type = if path == "/signin" {
                "application/x-www-form-urlencoded"
            } else {
                "application/json"
            };
            let mut request = Request::builder()
                .method(method.clone())
                .uri(path.as_str())
                .header(header::CONTENT_TYPE, content_type);
            request
                .headers_mut()
                .unwrap()
                .insert(name.clone(), value.clone());
            let r = app.send(request.body(Body::from(body)).unwrap()).await;
            assert!(
                r.status.as_u16() < 500,
                "{method} {path} with {name}: {} {}",
                r.status,
                r.text
            );
        }
    }
    // NUL characters (which PostgreSQL refuses in text) in JSON fields: a 422 naming the
    // field; in addresses and form bodies a 400. Never a 500.
    let nul = "a\u{0}b@x.io";
    app.post(
        "/api/v1/login",
        None,
        serde_json::json!({"email": nul, "password": "correct-horse-battery-42"}),
    )
    .await
    .expect(422);
    app.post(
        format!("/api/v1/public/chat/{key}"),
        None,
        serde_json::json!({"conversation_id": nul, "message": "hi"}),
    )
    .await
    .expect(422);
    app.post(
        "/api/v1/leads",
        Some(&owner.token),
        serde_json::json!({"name": "N", "owner_id": nul}),
    )
    .await
    .expect(422);
    for (path, form) in [
        ("/signin", "email=a%00b&password=x"),
        ("/leads", "name=N&owner_id=%00"),
    ] {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        assert_eq!(app.send(request).await.status, 400, "{path}");
    }
    app.check().await;
}
