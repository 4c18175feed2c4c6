//! The server's housekeeping deletes what no longer means anything, and only that.

use leadroute::service::housekeeping::sweep;
use leadroute::store::sweep::ROWS;
use serde_json::json;

use crate::helpers::TestApp;

crate::backend_tests!(
    a_sweep_deletes_only_dead_rows,
    a_sweep_deletes_more_than_one_transaction_takes,
);

const MINUTE: i64 = 60_000;

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

async fn exec(app: &TestApp, sql: &str, binds: &[&str], ints: &[i64]) {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    for b in binds {
        q = q.bind(*b);
    }
    for i in ints {
        q = q.bind(*i);
    }
    q.execute(&app.db.pool).await.unwrap();
}

async fn a_sweep_deletes_only_dead_rows(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let lead = app
        .post(
            "/api/v1/leads",
            Some(&owner.token),
            json!({"name": "Jane Roe", "email": "jane@roe.io"}),
        )
        .await;
    lead.expect(201);
    let lead_id = lead.json["id"].as_str().unwrap().to_owned();
    // Half a minute into a window: the one before it ended half a minute ago.
    let now: i64 = 1_000 * 24 * 3600 * 1000 + 30_000;
    let window = now - now.rem_euclid(MINUTE);
    let a = owner.account_id.as_str();
    for (bucket, start) in [
        ("addr:1", window),
        ("addr:1", window - MINUTE),
        ("key", window - 10 * MINUTE),
    ] {
        exec(
            &app,
            "INSERT INTO rate_limits VALUES ($1, $2, $3, $4)",
            &[a, bucket],
            &[start, 1],
        )
        .await;
        exec(
            &app,
            "INSERT INTO login_attempts VALUES ($1, $2, $3)",
            &[bucket],
            &[start, 1],
        )
        .await;
    }
    let sessions = count(&app, "sessions").await;
    for (hash, expires) in [("old", now - 1), ("edge", now), ("live", now + 1)] {
        exec(
            &app,
            "INSERT INTO sessions (token_hash, account_id, user_id, kind, created_at, expires_at) \
             VALUES ($1, $2, $3, 'api', $4, $5)",
            &[hash, a, &owner.id],
            &[0, expires],
        )
        .await;
    }
    let day = 24 * 3600 * 1000;
    for (key, at) in [("stale", now - day - 1), ("fresh", now - day + 1)] {
        exec(
            &app,
            "INSERT INTO idempotency_keys (account_id, idem_key, lead_id, created_at) VALUES ($1, $2, $3, $4)",
            &[a, key, &lead_id],
            &[at],
        )
        .await;
    }

    let deleted = sweep(&app.db, now).await.unwrap();

    // Only the current windows are left.
    for table in ["rate_limits", "login_attempts"] {
        let starts: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT window_start FROM {table} ORDER BY window_start"
        )))
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        assert_eq!(starts, [window], "{table}");
    }
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT token_hash FROM sessions WHERE token_hash IN ('old', 'edge', 'live')",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(left, ["live"]);
    assert_eq!(
        count(&app, "sessions").await,
        sessions + 1,
        "the sign-up's session is live"
    );
    let keys: Vec<String> = sqlx::query_scalar("SELECT idem_key FROM idempotency_keys")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(keys, ["fresh"]);
    assert_eq!(deleted, 2 + 2 + 2 + 1);
    app.check().await;
}

async fn a_sweep_deletes_more_than_one_transaction_takes(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let now: i64 = 1_000 * 24 * 3600 * 1000;
    let rows = ROWS + 5;
    exec(
        &app,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2) \
         INSERT INTO rate_limits (account_id, bucket, window_start, hits) \
         SELECT $1, 'addr:' || i, 0, 1 FROM n",
        &[&owner.account_id],
        &[rows],
    )
    .await;
    assert_eq!(count(&app, "rate_limits").await, rows);
    assert_eq!(sweep(&app.db, now).await.unwrap(), rows as u64);
    assert_eq!(count(&app, "rate_limits").await, 0);
}
