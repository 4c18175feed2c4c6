//! The server's housekeeping: every few minutes it deletes rows that no longer mean
//! anything (ended rate-limit and sign-in windows, expired sessions, idempotency keys past
//! their 24 hours). Without it those tables only grow: a window row per client address per
//! minute. Never needed for correctness: every read already ignores such rows.

use std::time::Duration;

use super::accounts::LOGIN_WINDOW_MS;
use super::rate_limit::WINDOW_MS;
use super::website::IDEMPOTENCY_TTL_MS;
use crate::error::Result;
use crate::store::sweep::{self, Dead};
use crate::store::{Db, now_ms};

/// How often the server sweeps.
pub const EVERY: Duration = Duration::from_secs(10 * 60);

/// Below which rows of each kind are dead at `now`. A window is dead once it has ended
/// (it started a whole window before now).
fn bound(dead: Dead, now: i64) -> i64 {
    match dead {
        Dead::RateWindows => now - WINDOW_MS,
        Dead::LoginWindows => now - LOGIN_WINDOW_MS,
        Dead::Sessions => now,
        Dead::IdempotencyKeys => now - IDEMPOTENCY_TTL_MS,
    }
}

/// Deletes every dead row, [`sweep::ROWS`] per transaction; returns how many went.
pub async fn sweep(db: &Db, now: i64) -> Result<u64> {
    let mut deleted = 0;
    for dead in Dead::ALL {
        loop {
            let mut tx = db.begin_write().await?;
            let n = sweep::delete_some(&mut tx, dead, bound(dead, now)).await?;
            tx.commit().await?;
            deleted += n;
            if n < sweep::ROWS as u64 {
                break;
            }
        }
    }
    Ok(deleted)
}

/// Sweeps every [`EVERY`] until the task is dropped.
pub async fn run(db: Db) {
    loop {
        tokio::time::sleep(EVERY).await;
        match sweep(&db, now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("housekeeping: {n} rows that no longer mean anything deleted"),
            Err(err) => tracing::warn!("housekeeping: {err}"),
        }
    }
}
