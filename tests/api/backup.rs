//! `leadroute backup PATH` copies a live SQLite database while it takes writes, and the copy
//! restores: a server started on it has every lead the copy holds, and check passes.

use serde_json::json;

use crate::helpers::TestApp;
use crate::server::{check_passes, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_serving_and_restore() {
    let app = TestApp::new("sqlite").await.unwrap();
    let owner = app.signup("Acme", "o@acme.io").await;
    app.routing_on(&owner, None, None).await.expect(200);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    // Writers keep going while the backup runs.
    let writer = {
        let router = app.router.clone();
        let token = owner.token.clone();
        tokio::spawn(async move {
            use tower::ServiceExt;
            for i in 0..150 {
                let request = axum::http::Request::post("/api/v1/leads")
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(
                        json!({"name": format!("L{i}")}).to_string(),
                    ))
                    .unwrap();
                assert_eq!(router.clone().oneshot(request).await.unwrap().status(), 201);
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let out = run(&["backup", copy.to_str().unwrap()], &app.database_url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    writer.await.unwrap();
    let again = run(&["backup", copy.to_str().unwrap()], &app.database_url);
    assert!(
        !again.status.success(),
        "an existing file is never overwritten"
    );

    // The copy is consistent: check passes, and it holds a prefix of the leads, whole.
    let copy_url = format!("sqlite://{}", copy.display());
    check_passes(&copy_url, "on the copy");
    let restored = leadroute::store::Db::connect(&copy_url).await.unwrap();
    let in_copy: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM leads")
        .fetch_one(&restored.pool)
        .await
        .unwrap();
    let max_seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(routing_seq), 0) FROM leads")
        .fetch_one(&restored.pool)
        .await
        .unwrap();
    assert!(in_copy > 0 && in_copy <= 150, "{in_copy}");
    assert_eq!(
        max_seq, in_copy,
        "every lead in the copy is routed, seq gapless"
    );
    // Restoring is starting on the copy: sign-in and the data are there.
    let restored_app = leadroute::app::router(
        restored.clone(),
        leadroute::config::Config::for_database(copy_url),
    );
    use tower::ServiceExt;
    let request = axum::http::Request::get("/api/v1/leads?limit=1")
        .header("authorization", format!("Bearer {}", owner.token))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(restored_app.oneshot(request).await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backups_point_to_pg_dump() {
    let Some(app) = TestApp::new("postgres").await else {
        return;
    };
    let out = run(&["backup", "/tmp/never-written.db"], &app.database_url);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
}
