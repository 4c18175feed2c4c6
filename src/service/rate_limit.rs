//! The public endpoints' rate limits: hits per address and per form key in fixed windows,
//! kept in `rate_limits` and guarded by the account's routing lock (every public write
//! takes it before any other row, on every process). A transaction counts its hits in
//! [`Windows`] and writes each window once, when it writes its other rows: a batch of
//! website leads reads a window the first time it meets it, and its hits go with the
//! batch's closing statements. (A read and two upserts per submission halved the group
//! commit's leads/s with the limit on.)

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::store::{Conn, Db, intake, website};

/// The rate-limit window.
pub const WINDOW_MS: i64 = 60_000;
/// One form key takes this many times the per-address limit.
pub const KEY_LIMIT_FACTOR: u32 = 50;

/// One window as a transaction sees it: the hits stored before it, and its own.
#[derive(Debug, Clone, Copy)]
struct Count {
    stored: i64,
    added: i64,
}

/// (account, bucket, window start) of one window.
pub(crate) type WindowKey = (String, String, i64);

/// The windows one transaction has counted hits in.
#[derive(Debug, Default)]
pub(crate) struct Windows {
    counts: HashMap<WindowKey, Count>,
}

impl Windows {
    /// Counts one request from `address` against the per-address and per-key limits of
    /// `account_id`'s public endpoints. Over either limit it is refused and counts nowhere,
    /// so a refused request adds nothing (the window stays full until it ends). With
    /// `per_minute` 0 there is no limit.
    pub(crate) async fn hit(
        &mut self,
        db: &Db,
        tx: &mut Conn,
        account_id: &str,
        address: &str,
        per_minute: u32,
        now: i64,
    ) -> Result<()> {
        if per_minute == 0 {
            return Ok(());
        }
        let window = now - now.rem_euclid(WINDOW_MS);
        let limit = i64::from(per_minute);
        let buckets = [
            (
                (account_id.to_owned(), format!("addr:{address}"), window),
                limit,
            ),
            (
                (account_id.to_owned(), "key".to_owned(), window),
                limit * i64::from(KEY_LIMIT_FACTOR),
            ),
        ];
        let unread: Vec<&str> = buckets
            .iter()
            .filter(|(key, _)| !self.counts.contains_key(key))
            .map(|((_, bucket, _), _)| bucket.as_str())
            .collect();
        if !unread.is_empty() {
            db.lock_routing(tx, account_id).await?;
            let stored = website::window_hits(tx, account_id, window, &unread).await?;
            for ((account, bucket, start), _) in &buckets {
                let stored = stored
                    .iter()
                    .find(|(b, _)| b == bucket)
                    .map_or(0, |(_, hits)| *hits);
                self.counts
                    .entry((account.clone(), bucket.clone(), *start))
                    .or_insert(Count { stored, added: 0 });
            }
        }
        let over = buckets.iter().any(|(key, limit)| {
            self.counts
                .get(key)
                .is_some_and(|c| c.stored + c.added >= *limit)
        });
        if over {
            let retry_after_secs =
                u64::try_from((window + WINDOW_MS - now + 999) / 1000).unwrap_or(60);
            return Err(Error::RateLimited { retry_after_secs });
        }
        for (key, _) in &buckets {
            if let Some(count) = self.counts.get_mut(key) {
                count.added += 1;
            }
        }
        Ok(())
    }

    /// The hits to add to each window, in (account, bucket, window) order.
    pub(crate) fn added(&self) -> Vec<(&WindowKey, i64)> {
        let mut added: Vec<_> = self
            .counts
            .iter()
            .filter(|(_, c)| c.added != 0)
            .map(|(key, c)| (key, c.added))
            .collect();
        added.sort_unstable();
        added
    }
}

/// Counts one request against the limits and stores its hits at once: for a transaction
/// that is not a batch (an assistant turn).
pub(crate) async fn check(
    db: &Db,
    tx: &mut Conn,
    account_id: &str,
    address: &str,
    per_minute: u32,
    now: i64,
) -> Result<()> {
    let mut windows = Windows::default();
    windows
        .hit(db, tx, account_id, address, per_minute, now)
        .await?;
    let hits = windows.added();
    let rows = intake::Rows {
        hits: &hits,
        ..intake::Rows::default()
    };
    intake::write(tx, &rows).await?;
    Ok(())
}
