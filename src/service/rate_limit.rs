//! The public endpoints' rate limits: hits per address and per form key in fixed windows,
//! kept in `rate_limits` and guarded by the account's routing lock (every public write
//! takes it before any other row, on every process). A transaction counts its hits in
//! [`Windows`] and writes each window once, when it writes its other rows: a batch of
//! website leads reads the windows of the submissions it has just received by one query,
//! and their hits go with the batch's closing statements. (Two upserts per submission
//! halved the group commit's leads/s with the limit on; a read per submission from
//! distinct addresses cost nearly as much.)

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::store::{Conn, Db, intake, website};

/// The rate-limit window.
pub const WINDOW_MS: i64 = 60_000;
/// One form key takes this many times the per-address limit.
pub const KEY_LIMIT_FACTOR: u32 = 50;

/// The form key's bucket: every request to the account's public endpoints.
const KEY_BUCKET: &str = "key";

fn address_bucket(address: &str) -> String {
    format!("addr:{address}")
}

/// The start of the window `now` falls in.
fn window_of(now: i64) -> i64 {
    now - now.rem_euclid(WINDOW_MS)
}

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
    /// Reads the windows that requests from `addresses` to `account_id` count in (each
    /// address's and the form key's) and this transaction has not read yet, by one query
    /// under the account's routing lock. A batch reads those of every submission it has
    /// just received at once.
    pub(crate) async fn read(
        &mut self,
        db: &Db,
        tx: &mut Conn,
        account_id: &str,
        addresses: &[&str],
        now: i64,
    ) -> Result<()> {
        let window = window_of(now);
        let mut unread: Vec<String> = addresses
            .iter()
            .map(|address| address_bucket(address))
            .chain([KEY_BUCKET.to_owned()])
            .filter(|bucket| {
                !self
                    .counts
                    .contains_key(&(account_id.to_owned(), bucket.clone(), window))
            })
            .collect();
        unread.sort_unstable();
        unread.dedup();
        if unread.is_empty() {
            return Ok(());
        }
        db.lock_routing(tx, account_id).await?;
        let buckets: Vec<&str> = unread.iter().map(String::as_str).collect();
        let stored: HashMap<String, i64> = website::window_hits(tx, account_id, window, &buckets)
            .await?
            .into_iter()
            .collect();
        for bucket in unread {
            let stored = stored.get(&bucket).copied().unwrap_or(0);
            self.counts.insert(
                (account_id.to_owned(), bucket, window),
                Count { stored, added: 0 },
            );
        }
        Ok(())
    }

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
        self.read(db, tx, account_id, &[address], now).await?;
        let window = window_of(now);
        let limit = i64::from(per_minute);
        let buckets = [
            (address_bucket(address), limit),
            (KEY_BUCKET.to_owned(), limit * i64::from(KEY_LIMIT_FACTOR)),
        ]
        .map(|(bucket, limit)| ((account_id.to_owned(), bucket, window), limit));
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
    intake::write(tx, db.backend, &rows).await?;
    Ok(())
}
