//! Group commit for the website form. Requests queue their accepted submissions; one writer
//! per process opens a transaction for what is waiting and keeps taking submissions into it
//! while they keep coming, routing them lead by lead in arrival order and writing them as it
//! goes. When the queue goes quiet it commits once (one durable sync for the whole batch)
//! and only then answers each request. A lone lead waits only a few scheduler turns.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Mutex, mpsc, oneshot};

use super::Batch;
use crate::error::{Error, Result};
use crate::service::website::{self, Accepted, Caller, Outcome, Submission};
use crate::store::{Conn, Db, now_ms};

/// The most leads one transaction takes; the queue holds a few batches more before
/// requests wait to join it.
const MAX_BATCH: usize = 512;
const QUEUE: usize = 4 * MAX_BATCH;
/// Scheduler turns with no new submission before a batch is closed.
const QUIET_TURNS: u32 = 3;
/// Planned leads that are written while the batch is still open: a chunk of the multi-row
/// inserts, so the commit finds little left to write.
const WRITE_AHEAD: usize = 32;

struct Job {
    sub: Accepted,
    reply: oneshot::Sender<Result<Outcome>>,
}

/// The handle requests use; cheap to clone. The writer stops when the last handle is gone.
#[derive(Clone)]
pub struct Writer {
    db: Db,
    queue: mpsc::Sender<Job>,
    stats: Arc<Stats>,
}

/// What the writer has done so far.
#[derive(Debug, Default)]
pub struct Stats {
    /// Transactions committed (or tried).
    pub batches: AtomicU64,
    /// Submissions they carried.
    pub submissions: AtomicU64,
}

impl Writer {
    /// Starts this process's writer on the current tokio runtime.
    pub fn start(db: Db) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let stats = Arc::new(Stats::default());
        tokio::spawn(run(db.clone(), jobs, stats.clone()));
        Self { db, queue, stats }
    }

    /// Batches and submissions so far: their ratio is the average batch size.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.stats.batches.load(Ordering::Relaxed),
            self.stats.submissions.load(Ordering::Relaxed),
        )
    }

    /// A website submission: checked here, then stored with whatever else is waiting.
    /// Answers once the lead's transaction is durable.
    #[tracing::instrument(skip_all)]
    pub async fn submit(
        &self,
        form_key: &str,
        sub: Submission,
        caller: Caller<'_>,
    ) -> Result<Outcome> {
        let Some(sub) = website::prepare(&self.db, form_key, &sub, caller).await? else {
            return Ok(Outcome::Ignored);
        };
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { sub, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> Error {
    Error::Internal(anyhow::anyhow!("the intake writer stopped"))
}

async fn run(db: Db, queue: mpsc::Receiver<Job>, stats: Arc<Stats>) {
    // Shared with the batch task, which takes submissions from it while its transaction is
    // open; a panicking batch releases it and the writer carries on.
    let queue = Arc::new(Mutex::new(queue));
    let mut next = Vec::with_capacity(MAX_BATCH);
    loop {
        if next.is_empty() && queue.lock().await.recv_many(&mut next, MAX_BATCH).await == 0 {
            return;
        }
        let first = std::mem::take(&mut next);
        // A task of its own, so a panic fails this batch's requests, not the writer.
        match tokio::spawn(batch(db.clone(), queue.clone(), first, stats.clone())).await {
            Ok(deferred) => next = deferred,
            Err(err) => tracing::error!("an intake batch panicked: {err}"),
        }
    }
}

/// The submissions of one transaction.
#[derive(Default)]
struct Gathered {
    /// Taken into the batch, in arrival order: each gets an answer from it.
    taken: Vec<Job>,
    /// Received, not yet taken.
    incoming: VecDeque<Job>,
    /// For an account the batch did not lock: they start the next batch, in order.
    deferred: Vec<Job>,
}

/// Runs one batch from `first` and answers its requests; returns the submissions deferred
/// to the next batch.
async fn batch(
    db: Db,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    first: Vec<Job>,
    stats: Arc<Stats>,
) -> Vec<Job> {
    let mut jobs = Gathered {
        incoming: first.into(),
        ..Gathered::default()
    };
    let result = {
        let mut queue = queue.lock().await;
        store_batch(&db, &mut queue, &mut jobs).await
    };
    let Gathered {
        mut taken,
        incoming,
        deferred,
    } = jobs;
    // Empty unless the batch failed before taking everything it had received.
    taken.extend(incoming);
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats
        .submissions
        .fetch_add(taken.len() as u64, Ordering::Relaxed);
    match result {
        Ok(outcomes) => {
            for (job, outcome) in taken.into_iter().zip(outcomes) {
                let _ = job.reply.send(outcome);
            }
        }
        Err(err) => {
            // Nothing of the batch was stored. One submission must not fail the others:
            // each goes again in a transaction of its own.
            tracing::warn!(
                leads = taken.len(),
                "intake batch failed, storing one by one: {err}"
            );
            for job in taken {
                let outcome = website::submit_accepted(&db, &job.sub).await;
                let _ = job.reply.send(outcome);
            }
        }
    }
    deferred
}

/// Stores a batch in one transaction: an answer per submission taken (a refusal such as
/// the rate limit is an answer), or the error that rolled the whole batch back.
///
/// The batch's accounts are those of the submissions it starts with: their routing locks
/// are taken first, in one order, so two processes' batches cannot deadlock. Submissions
/// arriving while it is open join it, unless they are for another account: those wait for
/// the next batch (one account's submissions stay in arrival order either way).
async fn store_batch(
    db: &Db,
    queue: &mut mpsc::Receiver<Job>,
    jobs: &mut Gathered,
) -> Result<Vec<Result<Outcome>>> {
    let mut tx = db.begin_write().await?;
    let mut batch = Batch::new(now_ms());
    let mut accounts = Vec::new();
    for job in &jobs.incoming {
        match batch.account_of(&mut tx, &job.sub.form_key).await {
            Ok(account_id) => accounts.push(account_id),
            // An unknown key is answered when its turn comes.
            Err(Error::NotFound) => {}
            Err(err) => return Err(err),
        }
    }
    accounts.sort_unstable();
    accounts.dedup();
    for account_id in &accounts {
        db.lock_routing(&mut tx, account_id).await?;
    }
    let mut outcomes = Vec::with_capacity(jobs.incoming.len());
    let mut quiet = 0;
    loop {
        read_windows(db, &mut tx, &mut batch, &jobs.incoming, &accounts).await?;
        while let Some(job) = jobs.incoming.pop_front() {
            match batch.account_of(&mut tx, &job.sub.form_key).await {
                Ok(account_id) if !accounts.contains(&account_id) => {
                    jobs.deferred.push(job);
                    continue;
                }
                Ok(_) | Err(Error::NotFound) => {}
                Err(err) => {
                    jobs.incoming.push_front(job);
                    return Err(err);
                }
            }
            jobs.taken.push(job);
            let sub = &jobs.taken[jobs.taken.len() - 1].sub;
            match website::accept(db, &mut tx, &mut batch, sub).await {
                Err(Error::Internal(err)) => return Err(Error::Internal(err)),
                outcome => outcomes.push(outcome),
            }
        }
        if batch.unwritten() >= WRITE_AHEAD {
            batch.write_leads(db, &mut tx).await?;
        }
        // Requests arriving right now are worth a few turns of the scheduler: while more
        // keep coming, they join before the batch pays for a commit. (Closing at once split
        // 64 connections into two half batches.)
        if quiet >= QUIET_TURNS || jobs.taken.len() >= MAX_BATCH {
            break;
        }
        tokio::task::yield_now().await;
        let mut arrived = false;
        while jobs.taken.len() + jobs.incoming.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => {
                    jobs.incoming.push_back(job);
                    arrived = true;
                }
                Err(_) => break,
            }
        }
        quiet = if arrived { 0 } else { quiet + 1 };
    }
    batch.write(db, &mut tx).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// Reads the rate-limit windows of the submissions just received for the batch's accounts,
/// one query per account, so counting each costs no round trip of its own. (One read per
/// submission from distinct addresses halved the writer's leads/s.)
async fn read_windows(
    db: &Db,
    tx: &mut Conn,
    batch: &mut Batch,
    incoming: &VecDeque<Job>,
    accounts: &[String],
) -> Result<()> {
    let mut addresses: Vec<(String, &str)> = Vec::new();
    for job in incoming.iter().filter(|job| job.sub.rate_limit > 0) {
        match batch.account_of(tx, &job.sub.form_key).await {
            Ok(account_id) if accounts.contains(&account_id) => {
                addresses.push((account_id, job.sub.address.as_str()));
            }
            Ok(_) | Err(Error::NotFound) => {}
            Err(err) => return Err(err),
        }
    }
    for account_id in accounts {
        let of_account: Vec<&str> = addresses
            .iter()
            .filter(|(a, _)| a == account_id)
            .map(|(_, address)| *address)
            .collect();
        if !of_account.is_empty() {
            batch.read_windows(db, tx, account_id, &of_account).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::accounts::{self, SignupInput};
    use crate::service::{Actor, website as site};
    use crate::store::sessions::Kind;
    use crate::store::temp_sqlite;

    async fn migrated() -> (tempfile::TempDir, Db) {
        let (dir, db) = temp_sqlite().await;
        db.migrate().await.unwrap();
        (dir, db)
    }

    /// A new account's website form key.
    async fn form_key(db: &Db, name: &str) -> String {
        let input = SignupInput {
            account_name: Some(name.to_owned()),
            name: Some("Owner".to_owned()),
            email: Some(format!("owner@{name}.example")),
            password: Some("correct horse battery".to_owned()),
        };
        let signed_in = accounts::signup(db, input, Kind::Api).await.unwrap();
        let actor = Actor {
            user: signed_in.user,
            account: signed_in.account,
        };
        site::settings(db, &actor).await.unwrap().form_key
    }

    fn job(form_key: &str, name: &str) -> Job {
        let sub = Submission {
            name: Some(name.to_owned()),
            email: Some("visitor@example.com".to_owned()),
            ..Submission::default()
        };
        let lead = website::validate(&sub).unwrap();
        Job {
            sub: Accepted {
                form_key: form_key.to_owned(),
                lead,
                address: "203.0.113.7".to_owned(),
                idempotency_key: None,
                rate_limit: 0,
            },
            reply: oneshot::channel().0,
        }
    }

    /// A job from `address` under a per-address limit of `limit` a minute.
    fn limited_job(form_key: &str, name: &str, address: &str, limit: u32) -> Job {
        let mut job = job(form_key, name);
        job.sub.address = address.to_owned();
        job.sub.rate_limit = limit;
        job
    }

    fn names(jobs: &[Job]) -> Vec<&str> {
        jobs.iter().map(|j| j.sub.lead.name.as_str()).collect()
    }

    async fn stored_names(db: &Db, form_key: &str) -> Vec<String> {
        let mut conn = db.conn().await.unwrap();
        sqlx::query_scalar(
            "SELECT l.name FROM leads l JOIN website_forms f ON f.account_id = l.account_id \
             WHERE f.form_key = $1 ORDER BY l.rowid",
        )
        .bind(form_key)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn an_open_batch_takes_its_accounts_late_arrivals_and_defers_the_others() {
        let (_dir, db) = migrated().await;
        let (a, b) = (form_key(&db, "alpha").await, form_key(&db, "beta").await);
        let (send, mut queue) = mpsc::channel(8);
        for (key, name) in [(&b, "B1"), (&a, "A2"), (&b, "B2"), (&a, "A3")] {
            send.send(job(key, name)).await.unwrap();
        }
        let mut jobs = Gathered {
            incoming: VecDeque::from([job(&a, "A1")]),
            ..Gathered::default()
        };
        let outcomes = store_batch(&db, &mut queue, &mut jobs).await.unwrap();
        assert_eq!(names(&jobs.taken), ["A1", "A2", "A3"]);
        assert_eq!(names(&jobs.deferred), ["B1", "B2"], "in arrival order");
        assert!(jobs.incoming.is_empty());
        assert_eq!(outcomes.len(), 3);
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Ok(Outcome::Created(_))))
        );
        assert_eq!(stored_names(&db, &a).await, ["A1", "A2", "A3"]);
        assert!(
            stored_names(&db, &b).await.is_empty(),
            "the deferred account's leads wait for the next batch"
        );
    }

    #[tokio::test]
    async fn one_key_with_another_request_in_the_same_batch_is_refused() {
        let (_dir, db) = migrated().await;
        let key = form_key(&db, "alpha").await;
        let keyed = |name: &str| {
            let mut job = job(&key, name);
            job.sub.idempotency_key = Some("k-1".to_owned());
            job
        };
        let (send, mut queue) = mpsc::channel(8);
        for name in ["First", "Other"] {
            send.send(keyed(name)).await.unwrap();
        }
        let mut jobs = Gathered {
            incoming: VecDeque::from([keyed("First")]),
            ..Gathered::default()
        };
        let outcomes = store_batch(&db, &mut queue, &mut jobs).await.unwrap();
        assert_eq!(jobs.taken.len(), 3, "one batch took all three");
        let Ok(Outcome::Created(id)) = &outcomes[0] else {
            panic!("{outcomes:?}")
        };
        assert!(matches!(&outcomes[1], Ok(Outcome::Repeated(same)) if same == id));
        match &outcomes[2] {
            Err(Error::Validation(f)) => assert!(f.get("Idempotency-Key").is_some()),
            other => panic!("{other:?}"),
        }
        assert_eq!(stored_names(&db, &key).await, ["First"]);
        // A later batch compares with the hash stored with the key.
        let mut jobs = Gathered {
            incoming: VecDeque::from([keyed("Other"), keyed("First")]),
            ..Gathered::default()
        };
        let outcomes = store_batch(&db, &mut queue, &mut jobs).await.unwrap();
        assert!(
            matches!(&outcomes[0], Err(Error::Validation(_))),
            "{outcomes:?}"
        );
        assert!(matches!(&outcomes[1], Ok(Outcome::Repeated(same)) if same == id));
    }

    #[tokio::test]
    async fn a_batch_that_writes_ahead_stores_every_lead_once_in_arrival_order() {
        let (_dir, db) = migrated().await;
        let key = form_key(&db, "alpha").await;
        let sent: Vec<String> = (0..3 * WRITE_AHEAD + 5)
            .map(|i| format!("Lead {i}"))
            .collect();
        let (send, mut queue) = mpsc::channel(sent.len());
        for name in &sent[1..] {
            send.send(job(&key, name)).await.unwrap();
        }
        let mut jobs = Gathered {
            incoming: VecDeque::from([job(&key, &sent[0])]),
            ..Gathered::default()
        };
        let outcomes = store_batch(&db, &mut queue, &mut jobs).await.unwrap();
        assert_eq!(outcomes.len(), sent.len(), "one transaction took them all");
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Ok(Outcome::Created(_))))
        );
        assert_eq!(stored_names(&db, &key).await, sent);
    }

    #[tokio::test]
    async fn a_batch_reads_its_submissions_windows_at_once_and_counts_them_in_order() {
        let (_dir, db) = migrated().await;
        let key = form_key(&db, "alpha").await;
        let now = now_ms();
        let window = now - now.rem_euclid(crate::service::rate_limit::WINDOW_MS);
        let mut conn = db.conn().await.unwrap();
        let account: String =
            sqlx::query_scalar("SELECT account_id FROM website_forms WHERE form_key = $1")
                .bind(&key)
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        // Address a is full (3 of 3), b has room for one more.
        for (bucket, hits) in [("addr:a", 3), ("addr:b", 2), ("key", 5)] {
            sqlx::query("INSERT INTO rate_limits VALUES ($1, $2, $3, $4)")
                .bind(&account)
                .bind(bucket)
                .bind(window)
                .bind(hits)
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        drop(conn);
        let (send, mut queue) = mpsc::channel(8);
        for (name, address) in [("B1", "b"), ("B2", "b"), ("C1", "c")] {
            send.send(limited_job(&key, name, address, 3))
                .await
                .unwrap();
        }
        let mut jobs = Gathered {
            incoming: VecDeque::from([limited_job(&key, "A1", "a", 3)]),
            ..Gathered::default()
        };
        let outcomes = store_batch(&db, &mut queue, &mut jobs).await.unwrap();
        let refused: Vec<bool> = outcomes
            .iter()
            .map(|o| matches!(o, Err(Error::RateLimited { .. })))
            .collect();
        assert_eq!(names(&jobs.taken), ["A1", "B1", "B2", "C1"]);
        assert_eq!(refused, [true, false, true, false]);
        assert_eq!(stored_names(&db, &key).await, ["B1", "C1"]);
        let hits: Vec<(String, i64)> =
            sqlx::query_as("SELECT bucket, hits FROM rate_limits ORDER BY bucket")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        let hit = |b: &str, n| (b.to_owned(), n);
        assert_eq!(
            hits,
            [
                hit("addr:a", 3),
                hit("addr:b", 3),
                hit("addr:c", 1),
                hit("key", 7)
            ]
        );
    }
}
