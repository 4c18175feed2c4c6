//! Measurement 1: routed website intake over HTTP on SQLite with the durable defaults,
//! round-robin then balanced, and the server's memory (measurement 6).

use anyhow::Result;
use leadroute::domain::routing::Strategy;
use leadroute::store::Db;
use serde_json::json;

use crate::report::{Report, Status};
use crate::server::{self, Server, mb};
use crate::{Config, api, load, verify};

/// Without this one load generator (one client address) would be refused after 120
/// requests a minute: the public endpoints' per-address limit.
pub const NO_RATE_LIMIT: (&str, &str) = ("LEADROUTE_PUBLIC_RATE_LIMIT", "0");
/// The limit on (as it is by default) but far above what one load generator sends, so it
/// refuses nothing and its bookkeeping is what is measured.
const HIGH_RATE_LIMIT: (&str, &str) = ("LEADROUTE_PUBLIC_RATE_LIMIT", "1000000000");
pub const REPS: usize = 10;
/// An unreported round-robin run first, so the measured runs see a warmed-up server and
/// database (a fresh SQLite file grows its write-ahead log during the first commits).
const WARM_UP_SECS: u64 = 3;

/// Routed leads per second of each run, for the ceiling's ratio.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub round_robin: f64,
    pub balanced: f64,
}

pub async fn sqlite(config: &Config, report: &mut Report) -> Result<Rates> {
    let url = config.sqlite_url("intake");
    let server = Server::start(&config.server, &url, &[NO_RATE_LIMIT])?;
    let started = server.memory()?;
    let team = api::set_up_team(&server.base, REPS, "round_robin").await?;
    let set_up = server.memory()?;
    let form = format!("{}/f/{}", server.base, team.form_key);

    let warm_up = load::run(&config.oha, &form, WARM_UP_SECS, config.conns)?;
    let round_robin = load::run(&config.oha, &form, config.secs, config.conns)?;
    api::Api::new(&server.base)?
        .set_routing(&team.owner, "balanced", &team.rep_ids())
        .await?;
    let balanced = load::run(&config.oha, &form, config.secs, config.conns)?;
    let loaded = server.memory()?;
    let log = server.stop()?;
    let (submissions, batches) = writer_stats(&log);

    for (name, run) in [("round-robin", &round_robin), ("balanced", &balanced)] {
        report.row(
            format!(
                "Intake SQLite {name}: routed leads/s ({} conns, {} s)",
                config.conns, config.secs
            ),
            format!("{:.0}", run.rate()),
            ">= 10000",
            Status::target(run.rate() >= 10_000.0),
        );
        report.row(
            format!("Intake SQLite {name}: latency p50 / p99"),
            format!("{:.1} / {:.1} ms", run.p50_ms, run.p99_ms),
            "p99 < 25 ms",
            Status::target(run.p99_ms < 25.0),
        );
    }
    report.row(
        "Intake SQLite: leads per transaction (group commit, all runs)",
        format!(
            "{:.1} ({submissions} in {batches} commits)",
            submissions as f64 / batches.max(1) as f64
        ),
        "",
        Status::Info,
    );
    let errors = warm_up.errors + round_robin.errors + balanced.errors;
    let runs = [
        (Strategy::RoundRobin, warm_up.ok + round_robin.ok),
        (Strategy::Balanced, balanced.ok),
    ];
    let (verdict, check) =
        checked(config, report, "Intake SQLite", &url, &team, errors, &runs).await?;
    report.row(
        "Memory SQLite server idle: at start / after setup (RSS)",
        format!("{:.1} / {:.1} MB", mb(started.rss_kb), mb(set_up.rss_kb)),
        "< 40 MB",
        Status::target(mb(started.rss_kb.max(set_up.rss_kb)) < 40.0),
    );
    report.row(
        "Memory SQLite server under intake: end RSS / peak RSS",
        format!("{:.1} / {:.1} MB", mb(loaded.rss_kb), mb(loaded.peak_kb)),
        "< 200 MB",
        Status::target(mb(loaded.peak_kb) < 200.0),
    );
    report.record(
        "intake_sqlite",
        json!({
            "warm_up": {"secs": WARM_UP_SECS, "ok": warm_up.ok, "errors": warm_up.errors},
            "round_robin": {"rate": round_robin.rate(), "ok": round_robin.ok, "errors": round_robin.errors,
                            "p50_ms": round_robin.p50_ms, "p99_ms": round_robin.p99_ms, "oha": round_robin.raw},
            "balanced": {"rate": balanced.rate(), "ok": balanced.ok, "errors": balanced.errors,
                         "p50_ms": balanced.p50_ms, "p99_ms": balanced.p99_ms, "oha": balanced.raw},
            "writer": {"submissions": submissions, "batches": batches},
            "verdict": verdict.json(),
            "check_clean": check.is_ok(),
            "memory_kb": {"start_rss": started.rss_kb, "after_setup_rss": set_up.rss_kb,
                          "end_rss": loaded.rss_kb, "peak_rss": loaded.peak_kb},
        }),
    );
    Ok(Rates {
        round_robin: round_robin.rate(),
        balanced: balanced.rate(),
    })
}

/// Round-robin intake as in [`sqlite`] with the public rate limit on, set far above the
/// load: the default configuration's path, where every submission is counted in its
/// address's and its form key's windows. One load generator is one address, so each batch
/// reads and writes the same two windows.
pub async fn sqlite_rate_limited(config: &Config, report: &mut Report) -> Result<()> {
    let url = config.sqlite_url("intake-limited");
    let server = Server::start(&config.server, &url, &[HIGH_RATE_LIMIT])?;
    let team = api::set_up_team(&server.base, REPS, "round_robin").await?;
    let form = format!("{}/f/{}", server.base, team.form_key);
    let warm_up = load::run(&config.oha, &form, WARM_UP_SECS, config.conns)?;
    let run = load::run(&config.oha, &form, config.secs, config.conns)?;
    server.stop()?;
    report.row(
        format!(
            "Intake SQLite round-robin, rate limit on: leads/s, p50 / p99 ({} conns, {} s)",
            config.conns, config.secs
        ),
        format!(
            "{:.0}, {:.1} / {:.1} ms",
            run.rate(),
            run.p50_ms,
            run.p99_ms
        ),
        "(the default path)",
        Status::Info,
    );
    let errors = warm_up.errors + run.errors;
    let runs = [(Strategy::RoundRobin, warm_up.ok + run.ok)];
    let what = "Intake SQLite, rate limit on";
    let (verdict, check) = checked(config, report, what, &url, &team, errors, &runs).await?;
    report.record(
        "intake_sqlite_rate_limited",
        json!({
            "warm_up": {"secs": WARM_UP_SECS, "ok": warm_up.ok, "errors": warm_up.errors},
            "round_robin": {"rate": run.rate(), "ok": run.ok, "errors": run.errors,
                            "p50_ms": run.p50_ms, "p99_ms": run.p99_ms, "oha": run.raw},
            "verdict": verdict.json(),
            "check_clean": check.is_ok(),
        }),
    );
    Ok(())
}

/// The correctness rows of an intake run on the SQLite file at `url`: errors, then
/// stored == 2xx, seq, routing order and `leadroute check`.
async fn checked(
    config: &Config,
    report: &mut Report,
    what: &str,
    url: &str,
    team: &api::Team,
    errors: u64,
    runs: &[(Strategy, u64)],
) -> Result<(verify::Verdict, Result<()>)> {
    report.row(
        format!("{what}: errors (non-2xx + no answer, warm-up included)"),
        errors.to_string(),
        "0",
        Status::check(errors == 0),
    );
    let db = Db::connect(url).await?;
    let verdict = verify::intake(&db, &team.account_id, &team.rep_ids(), runs).await?;
    db.pool.close().await;
    let check = server::check(&config.server, url);
    report.intake_checks(what, &verdict, &check);
    Ok((verdict, check))
}

/// (submissions, transactions) from the server's last words: "intake: N website
/// submissions in M transactions".
fn writer_stats(log: &str) -> (u64, u64) {
    let line = log
        .lines()
        .rfind(|l| l.contains("website submissions in"))
        .unwrap_or_default();
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    match numbers[..] {
        [.., submissions, batches] => (submissions, batches),
        _ => (0, 0),
    }
}
