//! Health, readiness, security headers and the OpenAPI document.

use axum::http::Method;

use crate::helpers::TestApp;

crate::backend_tests!(health_and_readiness, pages_carry_security_headers);

async fn health_and_readiness(app: TestApp) {
    let r = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status, 200);
    let r = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, 200);
    app.db.pool.close().await;
    let r = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, 503);
    let r = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status, 200);
}

async fn pages_carry_security_headers(app: TestApp) {
    for path in ["/signin", "/api/v1/me", "/healthz"] {
        let r = app.call(Method::GET, path, None, None).await;
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}"
        );
        assert_eq!(r.headers["x-content-type-options"], "nosniff", "{path}");
        assert!(r.headers.contains_key("referrer-policy"), "{path}");
        assert_eq!(r.headers["x-frame-options"], "DENY", "{path}");
    }
    // Only the chat page may be framed (that is how the widget works), and it says so alone.
    let owner = app.signup("Acme", "o@acme.io").await;
    let key = app.form_key(&owner).await;
    let r = app
        .call(Method::GET, format!("/chat/{key}"), None, None)
        .await;
    assert_eq!(r.status, 200);
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors *") && !csp.contains("unsafe-inline"));
    assert!(!r.headers.contains_key("x-frame-options"));
    let js = app.call(Method::GET, "/static/chat.js", None, None).await;
    assert_eq!(js.status, 200, "the chat page's script is served");
}

/// The OpenAPI document is generated from the handlers; this snapshot makes every change to
/// it visible in review. Rewrite it with `UPDATE_SNAPSHOTS=1 cargo test openapi`.
#[test]
fn openapi_document_matches_snapshot() {
    let doc = serde_json::to_string_pretty(&leadroute::http::api::openapi()).unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/openapi.json");
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(path, &doc).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        expected == doc,
        "the OpenAPI document changed; review it and run UPDATE_SNAPSHOTS=1 cargo test openapi\n{}",
        changed_lines(&expected, &doc)
    );
}

/// The lines between the first and the last difference, as `-` snapshot / `+` now.
fn changed_lines(expected: &str, actual: &str) -> String {
    let (old, new): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = format!("@@ line {} @@\n", head + 1);
    for line in &old[head..old.len() - tail] {
        out.push_str(&format!("-{line}\n"));
    }
    for line in &new[head..new.len() - tail] {
        out.push_str(&format!("+{line}\n"));
    }
    out
}

#[test]
fn snapshot_diff_shows_what_changed() {
    let diff = changed_lines("a\nb\nc\nd\n", "a\nB\nx\nd\n");
    assert_eq!(diff, "@@ line 2 @@\n-b\n-c\n+B\n+x\n");
    assert_eq!(changed_lines("a\n", "a\nb\n"), "@@ line 2 @@\n+b\n");
}

/// Every route of the contract implemented so far is in the document.
#[test]
fn openapi_covers_the_contract_routes() {
    let doc = serde_json::to_value(leadroute::http::api::openapi()).unwrap();
    for (path, method) in [
        ("/api/v1/signup", "post"),
        ("/api/v1/login", "post"),
        ("/api/v1/logout", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/team", "get"),
        ("/api/v1/team/invitations", "post"),
        ("/api/v1/invitations/{token}/accept", "post"),
        ("/api/v1/team/{user_id}", "patch"),
        ("/api/v1/audit", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing"
        );
    }
}
