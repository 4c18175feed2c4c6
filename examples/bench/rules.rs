//! Routing rules at intake and on the big account: website intake with 50 rules and 5
//! rotations against a server without rules, each on a fresh database (target: within 10%, and
//! >= 10,000 leads/s); then the simulator and a 30-day backtest on the million-lead account.

use std::time::Instant;

use anyhow::{Result, bail};
use leadroute::store::Db;
use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{self, Api, Member};
use crate::intake::{NO_RATE_LIMIT, REPS};
use crate::reads::percentile;
use crate::report::{Report, Status};
use crate::server::{self, Server};
use crate::{Config, load};

/// Five rotations of the reps, and 50 rules: 49 that every lead fails (on its email's
/// domain, the last condition of three, so each rule is read to its end) and a last one
/// that sends website leads to the fifth rotation. Every lead reads all 50.
async fn add_rules(api: &Api, owner: &Member, reps: &[String]) -> Result<()> {
    let mut rotations = Vec::new();
    for k in 0..5 {
        let members: Vec<Value> = reps
            .iter()
            .skip(k)
            .step_by(2)
            .map(|id| json!({"user_id": id}))
            .collect();
        let r = api
            .call(
                Method::POST,
                "/api/v1/rotations",
                Some(&owner.token),
                Some(json!({"name": format!("Bench pool {k}"), "members": members})),
            )
            .await?;
        rotations.push(r["id"].as_str().unwrap_or_default().to_owned());
    }
    let mut rules: Vec<Value> = (0..49)
        .map(|i| {
            json!({"name": format!("Bench rule {i}"), "rotation_id": rotations[i % 4], "conditions": [
                {"field": "source", "op": "in", "value": ["website", "assistant"]},
                {"field": "company_size", "op": "is_empty"},
                {"field": "email_domain", "op": "is", "value": format!("nobody-{i}.example")}]})
        })
        .collect();
    rules.push(
        json!({"name": "Website", "rotation_id": rotations[4], "conditions": [
        {"field": "source", "op": "is", "value": "website"}]}),
    );
    api.call(
        Method::PUT,
        "/api/v1/routing/rules",
        Some(&owner.token),
        Some(json!({"rules": rules})),
    )
    .await?;
    Ok(())
}

/// One intake run on a fresh server and database (a warm-up first), with or without the
/// rules: each side starts from an empty database, so neither pays for the other's leads.
async fn intake_run(
    config: &Config,
    name: &str,
    with_rules: bool,
) -> Result<(load::Load, load::Load, String)> {
    let url = config.sqlite_url(name);
    let server = Server::start(&config.server, &url, &[NO_RATE_LIMIT])?;
    let team = api::set_up_team(&server.base, REPS, "round_robin").await?;
    if with_rules {
        add_rules(&Api::new(&server.base)?, &team.owner, &team.rep_ids()).await?;
    }
    let form = format!("{}/f/{}", server.base, team.form_key);
    let warm_up = load::run(&config.oha, &form, 3, config.conns)?;
    let measured = load::run(&config.oha, &form, config.secs, config.conns)?;
    server.stop()?;
    Ok((warm_up, measured, url))
}

pub async fn intake(config: &Config, report: &mut Report) -> Result<()> {
    let (_, plain, _) = intake_run(config, "intake-plain", false).await?;
    let (warm_up, ruled, url) = intake_run(config, "intake-rules", true).await?;
    let within = ruled.rate() >= plain.rate() * 0.9;
    report.row(
        format!(
            "Intake SQLite, 50 rules and 5 rotations: routed leads/s, p99 ({} conns, {} s)",
            config.conns, config.secs
        ),
        format!(
            "{:.0}, {:.1} ms (no rules, own server: {:.0}, {:.1} ms)",
            ruled.rate(),
            ruled.p99_ms,
            plain.rate(),
            plain.p99_ms
        ),
        ">= 10000, within 10%",
        Status::target(within && ruled.rate() >= 10_000.0),
    );
    // Everything acknowledged is stored, one seq each, and every rule-routed lead went
    // through the rule that sends website leads to the fifth rotation.
    let acknowledged = warm_up.ok + ruled.ok;
    let db = Db::connect(&url).await?;
    let (stored, max_seq, by_rule): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(MAX(routing_seq), 0), \
         SUM(CASE WHEN routing_rule_name = 'Website' THEN 1 ELSE 0 END) FROM leads",
    )
    .fetch_one(&db.pool)
    .await?;
    db.pool.close().await;
    let errors = warm_up.errors + ruled.errors;
    let consistent = errors == 0
        && u64::try_from(stored)? == acknowledged
        && stored == max_seq
        && u64::try_from(by_rule)? == acknowledged;
    report.row(
        "Intake SQLite, 50 rules: errors, stored == 2xx, seq gapless, routed by the rule",
        format!(
            "errors {errors}, stored {stored} / acknowledged {acknowledged}, max seq {max_seq}, \
             by the rule {by_rule}"
        ),
        "0 / all equal",
        Status::check(consistent),
    );
    let check = server::check(&config.server, &url);
    report.row(
        "Intake SQLite, 50 rules: leadroute check",
        if check.is_ok() { "clean" } else { "problems" },
        "clean",
        Status::check(check.is_ok()),
    );
    report.record(
        "intake_rules",
        json!({"plain": {"rate": plain.rate(), "p99_ms": plain.p99_ms},
               "rules": {"rate": ruled.rate(), "p99_ms": ruled.p99_ms},
               "stored": stored, "acknowledged": acknowledged, "by_rule": by_rule}),
    );
    Ok(())
}

/// On the big account (its server already running, `owner` its Owner's token): the
/// simulator's latency, and a 30-day backtest of a draft with a few rules.
pub async fn big_account(api: &Api, owner_token: &str, report: &mut Report) -> Result<()> {
    let owner = Member {
        id: String::new(),
        token: owner_token.to_owned(),
    };
    let team = api
        .call(Method::GET, "/api/v1/routing", Some(owner_token), None)
        .await?;
    let reps: Vec<String> = team["candidates"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|c| c["user"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if reps.len() < 2 {
        bail!("the big account has no reps");
    }
    add_rules(api, &owner, &reps).await?;
    let lead =
        json!({"country": "DE", "company_size": 800, "source": "website", "email": "a@b.example"});
    let mut times = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        api.call(
            Method::POST,
            "/api/v1/routing/simulate",
            Some(owner_token),
            Some(lead.clone()),
        )
        .await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let (p50, p95) = (percentile(&times, 0.5), percentile(&times, 0.95));
    report.row(
        "Simulate a lead (50 rules, million-lead account)",
        format!("p50 {p50:.1} / p95 {p95:.1} ms"),
        "p95 < 20 ms",
        Status::target(p95 < 20.0),
    );
    let draft = json!({"days": 30, "rules": [
        {"name": "DACH", "rotation_id": "default", "conditions": [{"field": "country", "op": "in", "value": ["DE", "AT", "CH"]}]},
        {"name": "Big", "rotation_id": "default", "conditions": [{"field": "company_size", "op": "gte", "value": 500}]},
        {"name": "Logistics", "rotation_id": "default", "conditions": [{"field": "company", "op": "contains", "value": "logistics"}]}]});
    let mut best = f64::INFINITY;
    let mut leads = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let r = api
            .call(
                Method::POST,
                "/api/v1/routing/backtest",
                Some(owner_token),
                Some(draft.clone()),
            )
            .await?;
        best = best.min(started.elapsed().as_secs_f64());
        leads = r["leads"].as_i64().unwrap_or_default();
    }
    report.row(
        "Backtest of 30 days (million-lead account): leads replayed, best of 3",
        format!("{leads} leads in {best:.2} s"),
        "< 2 s",
        Status::target(best < 2.0),
    );
    report.record(
        "rules_big_account",
        json!({"simulate_p50_ms": p50, "simulate_p95_ms": p95, "backtest_secs": best, "backtest_leads": leads}),
    );
    Ok(())
}
