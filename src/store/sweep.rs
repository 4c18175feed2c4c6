//! Deleting rows that no longer mean anything: rate-limit and sign-in windows that have
//! ended, expired sessions, idempotency keys past their time. A little at a time, so a
//! table left to grow never holds the writer for long.

use sqlx::AssertSqlSafe;

use super::Conn;

/// The most rows one call deletes.
pub const ROWS: i64 = 1_000;

/// What a sweep deletes: a table, its key, and which of its rows are dead (compared with
/// a bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dead {
    /// Public endpoints' rate-limit windows that started before the bound.
    RateWindows,
    /// Sign-in attempt windows that started before the bound.
    LoginWindows,
    /// Sessions that expired at or before the bound.
    Sessions,
    /// Idempotency keys first used before the bound.
    IdempotencyKeys,
}

impl Dead {
    pub const ALL: [Dead; 4] = [
        Dead::RateWindows,
        Dead::LoginWindows,
        Dead::Sessions,
        Dead::IdempotencyKeys,
    ];

    /// (table, key columns, condition on `$1`).
    fn sql(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Dead::RateWindows => (
                "rate_limits",
                "account_id, bucket, window_start",
                "window_start < $1",
            ),
            Dead::LoginWindows => (
                "login_attempts",
                "bucket, window_start",
                "window_start < $1",
            ),
            Dead::Sessions => ("sessions", "token_hash", "expires_at <= $1"),
            Dead::IdempotencyKeys => (
                "idempotency_keys",
                "account_id, idem_key",
                "created_at < $1",
            ),
        }
    }
}

/// Deletes up to [`ROWS`] dead rows of one kind; returns how many went.
pub async fn delete_some(conn: &mut Conn, dead: Dead, bound: i64) -> sqlx::Result<u64> {
    let (table, key, condition) = dead.sql();
    let sql = format!(
        "DELETE FROM {table} WHERE ({key}) IN \
         (SELECT {key} FROM {table} WHERE {condition} LIMIT {ROWS})"
    );
    Ok(sqlx::query(AssertSqlSafe(sql))
        .bind(bound)
        .execute(conn)
        .await?
        .rows_affected())
}
