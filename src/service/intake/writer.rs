//! Group commit for the website form. Requests queue their accepted submissions; one writer
//! per process takes everything waiting, routes it lead by lead in arrival order inside one
//! transaction, commits once (one durable sync for the whole batch) and only then answers
//! each request. While a batch commits the next one gathers, so the batch grows with the
//! load; a lone lead waits only a few scheduler turns.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};

use super::Batch;
use crate::error::{Error, Result};
use crate::service::website::{self, Accepted, Caller, Outcome, Submission};
use crate::store::{Db, now_ms};

/// The most leads one transaction takes; the queue holds a few batches more before
/// requests wait to join it.
const MAX_BATCH: usize = 512;
const QUEUE: usize = 4 * MAX_BATCH;
/// Scheduler turns with no new submission before a batch is closed.
const QUIET_TURNS: u32 = 3;

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

async fn run(db: Db, mut queue: mpsc::Receiver<Job>, stats: Arc<Stats>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        // Requests arriving right now are worth a few turns of the scheduler: while more
        // keep coming, let them join before paying for a commit. (Taking only what was
        // there split 64 connections into two half batches; measured 4,400 -> 5,500
        // leads/s and p99 27 -> 21 ms. Waiting longer, 8 quiet turns, was slower again.)
        let mut quiet = 0;
        while jobs.len() < MAX_BATCH && quiet < QUIET_TURNS {
            tokio::task::yield_now().await;
            let before = jobs.len();
            while jobs.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            quiet = if jobs.len() == before { quiet + 1 } else { 0 };
        }
        let batch = std::mem::take(&mut jobs);
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats
            .submissions
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        // A task of its own, so a panic fails this batch's requests, not the writer.
        if let Err(err) = tokio::spawn(commit(db.clone(), batch)).await {
            tracing::error!("an intake batch panicked: {err}");
        }
    }
}

async fn commit(db: Db, jobs: Vec<Job>) {
    let subs: Vec<&Accepted> = jobs.iter().map(|j| &j.sub).collect();
    match store_batch(&db, &subs).await {
        Ok(outcomes) => {
            for (job, outcome) in jobs.into_iter().zip(outcomes) {
                let _ = job.reply.send(outcome);
            }
        }
        Err(err) => {
            // Nothing of the batch was stored. One submission must not fail the others:
            // each goes again in a transaction of its own.
            tracing::warn!(
                leads = jobs.len(),
                "intake batch failed, storing one by one: {err}"
            );
            for job in jobs {
                let outcome = website::submit_accepted(&db, &job.sub).await;
                let _ = job.reply.send(outcome);
            }
        }
    }
}

/// Stores a batch in one transaction: an answer per submission (a refusal such as the rate
/// limit is an answer), or the error that rolled the whole batch back.
async fn store_batch(db: &Db, subs: &[&Accepted]) -> Result<Vec<Result<Outcome>>> {
    let mut tx = db.begin_write().await?;
    let mut batch = Batch::new(now_ms());
    // Every account's routing lock first, in one order, so two processes' batches cannot
    // deadlock. An unknown key is answered when its turn comes.
    let mut accounts = Vec::new();
    for sub in subs {
        match batch.account_of(&mut tx, &sub.form_key).await {
            Ok(account_id) => accounts.push(account_id),
            Err(Error::NotFound) => {}
            Err(err) => return Err(err),
        }
    }
    accounts.sort_unstable();
    accounts.dedup();
    for account_id in &accounts {
        db.lock_routing(&mut tx, account_id).await?;
    }
    let mut outcomes = Vec::with_capacity(subs.len());
    for sub in subs {
        match website::accept(db, &mut tx, &mut batch, sub).await {
            Err(Error::Internal(err)) => return Err(Error::Internal(err)),
            outcome => outcomes.push(outcome),
        }
    }
    batch.write(&mut tx).await?;
    tx.commit().await?;
    Ok(outcomes)
}
