//! Request logs at DEBUG keep link tokens, form keys and query values out: a subscriber
//! writing to a buffer records real in-process requests.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tracing::instrument::WithSubscriber;

use crate::helpers::TestApp;

crate::backend_tests!(request_logs_carry_no_tokens_keys_or_query_values);

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn request_logs_carry_no_tokens_keys_or_query_values(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let invited = app
        .post(
            "/api/v1/team/invitations",
            Some(&owner.token),
            json!({"email": "sam@acme.io", "name": "Sam", "role": "sales"}),
        )
        .await;
    let token = invited.json["invitation"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let form_key = app.form_key(&owner).await;
    let secret_query = "jane-query-value-71";

    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    async {
        app.call(
            axum::http::Method::GET,
            format!("/invitations/{token}"),
            None,
            None,
        )
        .await;
        app.post(
            &format!("/api/v1/invitations/{token}/accept"),
            None,
            json!({"password": "correct-horse-battery-42"}),
        )
        .await
        .expect(201);
        app.call(
            axum::http::Method::GET,
            format!("/reset/{token}"),
            None,
            None,
        )
        .await;
        app.post(&format!("/api/v1/password-resets/{token}"), None, json!({}))
            .await;
        app.call(
            axum::http::Method::GET,
            format!("/f/{form_key}"),
            None,
            None,
        )
        .await;
        app.post(
            &format!("/api/v1/public/chat/{form_key}"),
            None,
            json!({"message": "hi"}),
        )
        .await;
        app.get(format!("/api/v1/leads?q={secret_query}"), &owner.token)
            .await
            .expect(200);
    }
    .with_subscriber(subscriber)
    .await;

    let logged = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("uri=/api/v1/invitations/[redacted]/accept"),
        "the request logs were captured: {logged}"
    );
    assert!(
        logged.contains("uri=/api/v1/leads?q=[redacted]"),
        "{logged}"
    );
    for secret in [token.as_str(), form_key.as_str(), secret_query] {
        assert!(!logged.contains(secret), "{secret} leaked: {logged}");
    }
}
