//! Measurement 2: the ceiling on SQLite, the same database work one lead per transaction
//! with the same durable settings, in-process with no HTTP:
//! `service::website::submit`, sequentially and from many tasks at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use leadroute::domain::routing::Strategy;
use leadroute::service::website::{self, Caller, Submission};
use leadroute::store::Db;
use serde_json::json;

use crate::intake::{self, Rates};
use crate::report::{Report, Status};
use crate::server::Server;
use crate::{Config, api, verify};

fn submission() -> Submission {
    Submission {
        name: Some("Bench Lead".into()),
        email: Some("lead@example.com".into()),
        company: Some("Acme".into()),
        ..Submission::default()
    }
}

/// One website lead through the one-lead-per-transaction path.
pub async fn submit_one(db: &Db, form_key: &str) -> Result<()> {
    let caller = Caller {
        address: "127.0.0.1",
        idempotency_key: None,
        rate_limit: 0,
    };
    match website::submit(db, form_key, submission(), caller).await? {
        website::Outcome::Created(_) => Ok(()),
        other => bail!("expected a new lead, got {other:?}"),
    }
}

pub async fn sqlite(config: &Config, report: &mut Report, intake: Option<Rates>) -> Result<()> {
    let url = config.sqlite_url("ceiling");
    let server = Server::start(&config.server, &url, &[])?;
    let team = api::set_up_team(&server.base, intake::REPS, "round_robin").await?;
    server.stop()?;
    let db = Db::connect(&url).await?;
    let secs = Duration::from_secs((config.secs / 2).max(1));

    let started = Instant::now();
    let mut sequential = 0u64;
    while started.elapsed() < secs {
        submit_one(&db, &team.form_key).await?;
        sequential += 1;
    }
    let sequential_rate = sequential as f64 / started.elapsed().as_secs_f64();

    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..config.conns)
        .map(|_| {
            let (db, key, done) = (db.clone(), team.form_key.clone(), Arc::clone(&done));
            tokio::spawn(async move {
                while started.elapsed() < secs {
                    submit_one(&db, &key).await?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker.await??;
    }
    let concurrent = done.load(Ordering::Relaxed);
    let concurrent_rate = concurrent as f64 / started.elapsed().as_secs_f64();

    let runs = [(Strategy::RoundRobin, sequential + concurrent)];
    let verdict = verify::intake(&db, &team.account_id, &team.rep_ids(), &runs).await?;
    db.pool.close().await;

    let ceiling = sequential_rate.max(concurrent_rate);
    report.row(
        format!(
            "Ceiling SQLite in-process, 1 lead/tx: sequential / {} tasks",
            config.conns
        ),
        format!("{sequential_rate:.0} / {concurrent_rate:.0} leads/s"),
        "(ceiling = the better)",
        Status::Info,
    );
    report.row(
        "Ceiling SQLite: stored == done, seq gapless, routing order",
        verdict.summary(),
        "all equal / 0",
        Status::check(verdict.ok()),
    );
    if let Some(rates) = intake {
        let (rr, bal) = (rates.round_robin / ceiling, rates.balanced / ceiling);
        report.row(
            "Intake / ceiling (SQLite): round-robin / balanced",
            format!("{rr:.2} / {bal:.2}"),
            ">= 1.3",
            Status::target(rr >= 1.3),
        );
    }
    report.record(
        "ceiling_sqlite",
        json!({
            "secs_each": secs.as_secs(), "tasks": config.conns,
            "sequential": {"leads": sequential, "rate": sequential_rate},
            "concurrent": {"leads": concurrent, "rate": concurrent_rate},
            "ceiling": ceiling,
            "ratio_round_robin": intake.map(|r| r.round_robin / ceiling),
            "ratio_balanced": intake.map(|r| r.balanced / ceiling),
            "verdict": verdict.json(),
        }),
    );
    Ok(())
}
