//! Measurement 3: routing cost as the account grows. An account with 100 Sales reps and a
//! thousand leads, and one with a million (made by the generator): the time per lead to
//! create and route 5,000 leads one at a time under balanced routing, in-process through
//! the one-lead-per-transaction path with the durable settings.
//!
//! Each lead costs about one fsync, so the disk's mood is most of the number. Both
//! accounts are therefore measured after both are generated and the generator's writes
//! are flushed, in alternating rounds of 500 leads after an unreported warm-up: whatever
//! the disk does, it does to both. (Measured one after the other, right after writing
//! the big file, the ratio moved between 1.12 and 1.31 from run to run.) The ratio is the
//! median of the rounds' ratios, so one round that meets a disk stall does not decide it;
//! the table shows the ratio of the totals beside it.

use std::time::Instant;

use anyhow::Result;
use leadroute::store::Db;
use serde_json::json;

use crate::api::{Api, OWNER_EMAIL};
use crate::report::{Report, Status, thousands};
use crate::server::{self, Server};
use crate::{Config, ceiling, generate};

const REPS: u64 = 100;
const SMALL: u64 = 1_000;
const ROUTED: u64 = 5_000;
const ROUNDS: u64 = 10;
const WARM_UP: u64 = 200;

/// A generated account, ready to be written to and read from.
pub struct Grown {
    pub url: String,
    form_key: String,
}

pub async fn run(config: &Config, report: &mut Report) -> Result<Grown> {
    let small = grow(config, report, "grow-small", SMALL).await?;
    let big = grow(config, report, "grow-big", config.leads).await?;
    // The generator's dirty pages go to disk now, not during the big account's rounds.
    std::process::Command::new("sync").status()?;
    let (small_db, big_db) = (Db::connect(&small.url).await?, Db::connect(&big.url).await?);
    route_leads(&small_db, &small, WARM_UP).await?;
    route_leads(&big_db, &big, WARM_UP).await?;
    let mut rounds = Vec::new();
    for _ in 0..ROUNDS {
        let small_secs = route_leads(&small_db, &small, ROUTED / ROUNDS).await?;
        let big_secs = route_leads(&big_db, &big, ROUTED / ROUNDS).await?;
        rounds.push((small_secs, big_secs));
    }
    small_db.pool.close().await;
    big_db.pool.close().await;
    let per_lead = |secs: f64| secs * 1e6 / ROUTED as f64;
    let small_us = per_lead(rounds.iter().map(|r| r.0).sum());
    let big_us = per_lead(rounds.iter().map(|r| r.1).sum());
    let ratio = median_ratio(&rounds);
    report.row(
        format!(
            "Routing cost per lead ({} reps, balanced): {} / {} leads",
            REPS,
            thousands(SMALL),
            thousands(config.leads)
        ),
        format!(
            "{small_us:.0} / {big_us:.0} µs, ratio {ratio:.2} (of totals {:.2})",
            big_us / small_us
        ),
        "ratio <= 1.25",
        Status::target(ratio <= 1.25),
    );
    report.record(
        "routing_cost",
        json!({"reps": REPS, "routed": ROUTED, "rounds": ROUNDS, "warm_up": WARM_UP,
               "small_leads": SMALL, "small_us_per_lead": small_us,
               "big_leads": config.leads, "big_us_per_lead": big_us,
               "ratio_median_of_rounds": ratio, "ratio_of_totals": big_us / small_us,
               "round_secs": rounds}),
    );
    Ok(big)
}

/// A fresh database with an account made through the API (so the Owner's password hash is
/// real), grown by the generator to `leads` leads, then checked.
async fn grow(config: &Config, report: &mut Report, name: &str, leads: u64) -> Result<Grown> {
    let url = config.sqlite_url(name);
    // Starting the server creates the schema with every migration.
    let server = Server::start(&config.server, &url, &[])?;
    let api = Api::new(&server.base)?;
    let (_, owner) = api.signup(OWNER_EMAIL).await?;
    let form_key = api.form_key(&owner).await?;
    server.stop()?;

    let started = Instant::now();
    let steps = generate::account(&url, &owner.id, REPS, leads).await?;
    let generated = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let checked = server::check(&config.server, &url);
    let check_secs = started.elapsed().as_secs_f64();
    let size_mb = std::fs::metadata(config.sqlite_path(name))?.len() as f64 / 1e6;
    report.row(
        format!(
            "Generator: {} reps + {} leads, then leadroute check",
            REPS,
            thousands(leads)
        ),
        format!("{generated:.1} s, check {check_secs:.1} s, file {size_mb:.0} MB"),
        "check clean",
        Status::check(checked.is_ok()),
    );
    report.record(
        &format!("generator_{name}"),
        json!({"leads": leads, "secs": generated, "check_secs": check_secs, "file_mb": size_mb,
               "steps": steps.iter().map(|(what, secs)| json!({"step": what, "secs": secs})).collect::<Vec<_>>()}),
    );
    checked?;
    Ok(Grown { url, form_key })
}

/// The median over paired rounds of big / small: a round the disk stalls in moves the
/// totals, not the median.
fn median_ratio(rounds: &[(f64, f64)]) -> f64 {
    let mut ratios: Vec<f64> = rounds.iter().map(|(small, big)| big / small).collect();
    ratios.sort_by(f64::total_cmp);
    let mid = ratios.len() / 2;
    if ratios.len().is_multiple_of(2) {
        (ratios[mid - 1] + ratios[mid]) / 2.0
    } else {
        ratios[mid]
    }
}

/// Seconds to create and route `leads` leads one after another.
async fn route_leads(db: &Db, grown: &Grown, leads: u64) -> Result<f64> {
    let started = Instant::now();
    for _ in 0..leads {
        ceiling::submit_one(db, &grown.form_key).await?;
    }
    Ok(started.elapsed().as_secs_f64())
}
