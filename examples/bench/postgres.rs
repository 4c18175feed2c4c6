//! Measurement 5: PostgreSQL. Intake through two server processes sharing one database
//! (one oha each, at once), the same checks as on SQLite, and pgbench running the SQL of one
//! website lead's transaction on a copy of the same set-up database as the ceiling.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use leadroute::domain::routing::{self, Candidate, Strategy};
use leadroute::store::Db;
use serde_json::json;

use crate::api::Team;
use crate::intake::{NO_RATE_LIMIT, REPS};
use crate::report::{Report, Status};
use crate::server::{self, Memory, Server, mb};
use crate::{Config, api, load, verify};

const DATABASE: &str = "leadroute_bench";
const PGBENCH_DATABASE: &str = "leadroute_bench_pgbench";

pub async fn run(config: &Config, report: &mut Report) -> Result<()> {
    let Some((url, team)) = set_up(config, report).await? else {
        return Ok(());
    };
    let Intake {
        loads,
        idle,
        loaded,
    } = intake(config, &url, &team)?;
    let rate: f64 = loads.iter().map(load::Load::rate).sum();
    let ok: u64 = loads.iter().map(|l| l.ok).sum();
    let errors: u64 = loads.iter().map(|l| l.errors).sum();
    let p50 = loads.iter().map(|l| l.p50_ms).fold(0.0, f64::max);
    let p99 = loads.iter().map(|l| l.p99_ms).fold(0.0, f64::max);
    let db = Db::connect(&url).await?;
    let verdict = verify::intake(
        &db,
        &team.account_id,
        &team.rep_ids(),
        &[(Strategy::RoundRobin, ok)],
    )
    .await?;
    // `leadroute check` analyses the tables it reads itself (statistics of tables just
    // filled in a burst would be missing otherwise).
    db.pool.close().await;
    let check = server::check(&config.server, &url);
    // One client and as many as the load generator's connections (PostgreSQL's row lock
    // gets slower as more transactions queue on it); the better is the ceiling.
    let pgbench = [1, config.conns]
        .map(|clients| pgbench(config, &team, clients))
        .into_iter()
        .collect::<Result<Option<Vec<f64>>>>();

    report.row(
        format!(
            "Intake PostgreSQL, 2 processes, round-robin: routed leads/s ({} conns, {} s)",
            per_process(config) * 2,
            config.secs
        ),
        format!("{rate:.0} (p50 {p50:.1} / p99 {p99:.1} ms, worst process)"),
        "(ratio below)",
        Status::Info,
    );
    report.row(
        "Intake PostgreSQL: errors (non-2xx + no answer)",
        errors.to_string(),
        "0",
        Status::check(errors == 0),
    );
    report.intake_checks("Intake PostgreSQL", &verdict, &check);
    match &pgbench {
        Ok(None) => report.row(
            "Ceiling PostgreSQL: pgbench",
            "skipped: pgbench is not installed",
            "",
            Status::Skip,
        ),
        Ok(Some(tps)) => {
            let ceiling = tps.iter().copied().fold(0.0, f64::max);
            report.row(
                format!(
                    "Ceiling PostgreSQL: pgbench, one lead's transaction, 1 / {} clients",
                    config.conns
                ),
                format!("{:.0} / {:.0} tps", tps[0], tps[1]),
                "(ceiling = the better)",
                Status::Info,
            );
            report.row(
                "Intake / pgbench ceiling (PostgreSQL)",
                format!("{:.2}", rate / ceiling),
                ">= 0.5",
                Status::target(rate / ceiling >= 0.5),
            );
        }
        Err(e) => report.step_failed("pgbench", e),
    }
    let memory = |m: &[Memory; 2]| format!("{:.1} + {:.1} MB", mb(m[0].rss_kb), mb(m[1].rss_kb));
    report.row(
        "Memory PostgreSQL servers: idle at start (RSS)",
        memory(&idle),
        "< 40 MB each",
        Status::target(idle.iter().all(|m| mb(m.rss_kb) < 40.0)),
    );
    report.row(
        "Memory PostgreSQL servers: end of intake RSS / peak",
        format!(
            "{} / peak {:.1} MB",
            memory(&loaded),
            mb(loaded[0].peak_kb.max(loaded[1].peak_kb))
        ),
        "< 200 MB each",
        Status::target(loaded.iter().all(|m| mb(m.peak_kb) < 200.0)),
    );
    report.record(
        "postgres",
        json!({
            "rate": rate, "ok": ok, "errors": errors, "p50_ms": p50, "p99_ms": p99,
            "per_process": loads.iter().map(|l| json!({"rate": l.rate(), "ok": l.ok, "errors": l.errors,
                "p50_ms": l.p50_ms, "p99_ms": l.p99_ms, "oha": l.raw})).collect::<Vec<_>>(),
            "verdict": verdict.json(), "check_clean": check.is_ok(),
            "pgbench_tps_1_and_conns_clients": pgbench.as_ref().ok().cloned().flatten(),
            "memory_kb": {"idle_rss": [idle[0].rss_kb, idle[1].rss_kb],
                          "end_rss": [loaded[0].rss_kb, loaded[1].rss_kb],
                          "peak_rss": [loaded[0].peak_kb, loaded[1].peak_kb]},
        }),
    );
    Ok(())
}

/// A fresh database with the account, its 10 reps and round-robin routing (set up through
/// a server that is stopped again), and pgbench's copy of it; `None` (and a SKIP row) when
/// PostgreSQL is not reachable.
async fn set_up(config: &Config, report: &mut Report) -> Result<Option<(String, Team)>> {
    let connect = Db::connect(&config.pg_url);
    let admin = match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(Ok(admin)) => admin,
        failed => {
            let why = match failed {
                Ok(Err(e)) => e.to_string(),
                _ => "no answer in 10 s".to_owned(),
            };
            eprintln!("notice: PostgreSQL is not reachable ({why}); its measurements are skipped");
            report.row("PostgreSQL", format!("skipped: {why}"), "", Status::Skip);
            return Ok(None);
        }
    };
    for name in [DATABASE, PGBENCH_DATABASE] {
        execute(
            &admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
        .await?;
    }
    execute(&admin, &format!("CREATE DATABASE {DATABASE}")).await?;
    let url = database_url(&config.pg_url, DATABASE);
    let setup = Server::start(&config.server, &url, &[NO_RATE_LIMIT])?;
    let team = api::set_up_team(&setup.base, REPS, "round_robin").await?;
    setup.stop()?;
    // pgbench's copy, taken before any lead exists (no connection may use the template).
    let copy = format!("CREATE DATABASE {PGBENCH_DATABASE} TEMPLATE {DATABASE}");
    execute(&admin, &copy).await?;
    admin.pool.close().await;
    Ok(Some((url, team)))
}

/// What the two-process intake run measured.
struct Intake {
    loads: Vec<load::Load>,
    /// Each process's memory right after it started, and at the end of the run.
    idle: [Memory; 2],
    loaded: [Memory; 2],
}

/// Two servers on one database, each loaded by its own oha with half the connections.
fn intake(config: &Config, url: &str, team: &Team) -> Result<Intake> {
    let servers = [
        Server::start(&config.server, url, &[NO_RATE_LIMIT])?,
        Server::start(&config.server, url, &[NO_RATE_LIMIT])?,
    ];
    let idle = [servers[0].memory()?, servers[1].memory()?];
    let running = servers
        .iter()
        .map(|s| {
            let form = format!("{}/f/{}", s.base, team.form_key);
            load::spawn(&config.oha, &form, config.secs, per_process(config))
        })
        .collect::<Result<Vec<_>>>()?;
    let loads = running
        .into_iter()
        .map(load::finish)
        .collect::<Result<Vec<_>>>()?;
    let loaded = [servers[0].memory()?, servers[1].memory()?];
    for s in servers {
        s.stop()?;
    }
    Ok(Intake {
        loads,
        idle,
        loaded,
    })
}

fn per_process(config: &Config) -> usize {
    (config.conns / 2).max(1)
}

async fn execute(db: &Db, sql: &str) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&db.pool)
        .await
        .with_context(|| sql.to_owned())?;
    Ok(())
}

/// The server's URL with another database name.
fn database_url(admin_url: &str, name: &str) -> String {
    let (url, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
    let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{base}/{name}{query}")
}

/// pgbench's transactions per second for the script of one website lead from `clients`
/// clients for half the intake time; `None` when pgbench is not installed.
fn pgbench(config: &Config, team: &Team, clients: usize) -> Result<Option<f64>> {
    let script = config.data_dir.join("pgbench-lead.sql");
    std::fs::write(&script, LEAD_SCRIPT)?;
    let (reason, receipt) = receipt(team)?;
    let out = Command::new("pgbench")
        .args(["-n", "-M", "prepared"])
        .args([
            "-c",
            &clients.to_string(),
            "-j",
            &clients.min(2).to_string(),
        ])
        .args(["-T", &(config.secs / 2).max(1).to_string()])
        .args(["-D", &format!("account={}", team.account_id)])
        .args(["-D", &format!("form_key={}", team.form_key)])
        .args(["-D", &format!("reps={}", team.reps.len())])
        .args(["-D", &format!("reason={reason}")])
        .args(["-D", &format!("receipt={receipt}")])
        .arg("-f")
        .arg(&script)
        .arg(database_url(&config.pg_url, PGBENCH_DATABASE))
        .output();
    let out = match out {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        result => result.context("cannot run pgbench")?,
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench failed: {}{}",
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let tps = tps(&stdout).with_context(|| format!("no tps in pgbench's output: {stdout}"))?;
    Ok(Some(tps))
}

fn tps(output: &str) -> Option<f64> {
    output
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// A real routing receipt for this team (its first decision) and its reason, so the rows
/// pgbench writes are the size the server's are.
fn receipt(team: &Team) -> Result<(String, String)> {
    let member = |id: &str, name: String| Candidate {
        id: id.to_owned(),
        name,
        active: true,
        open_leads: 0,
        last_routed_seq: None,
    };
    let mut candidates = vec![member(&team.owner.id, "Bench Owner".into())];
    for (i, rep) in team.reps.iter().enumerate() {
        candidates.push(member(&rep.id, format!("Rep {:02}", i + 1)));
    }
    let decided = routing::decide(Strategy::RoundRobin, &team.rep_ids(), &candidates, 1)
        .context("a decision for the rotation")?;
    Ok((decided.reason.clone(), serde_json::to_string(&decided)?))
}

/// The statements one website lead's transaction runs today (`service::website::submit`: a
/// `service::intake::Batch` of one), in order, with round-robin decided in SQL (the next seq
/// modulo the rotation's size, the reps in team order). Values are pgbench variables: with
/// `-M prepared` they are bound parameters, as the server's are.
const LEAD_SCRIPT: &str = r#"BEGIN;
SELECT account_id FROM website_forms WHERE form_key = :form_key;
SELECT account_id FROM routing_settings WHERE account_id = :account FOR UPDATE;
SELECT s.enabled, s.strategy, s.rotation, s.next_seq AS seq, s.updated_at, u.name AS updated_by_name, (SELECT c.id FROM users c WHERE c.account_id = s.account_id AND c.role = 'sales' ORDER BY c.position, c.id OFFSET (s.next_seq - 1) % :reps LIMIT 1) AS owner_id, md5(random()::text) AS lead_id, (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now FROM routing_settings s LEFT JOIN users u ON u.id = s.updated_by AND u.account_id = s.account_id WHERE s.account_id = :account \gset
SELECT id, name, active, open_leads, last_routed_seq FROM users WHERE account_id = :account AND role <> 'accounting' ORDER BY position, id;
INSERT INTO leads (id, account_id, name, email, phone, company, notes, status, source, owner_id, created_by, created_at, updated_at, routing_strategy, routing_seq, routing_reason, search_text, routing_receipt) VALUES (:lead_id, :account, 'Bench Lead', 'lead@example.com', NULL, 'Acme', NULL, 'open', 'website', :owner_id, NULL, :now, :now, 'round_robin', :seq, :reason, 'bench lead lead@example.com acme', :receipt);
INSERT INTO lead_events (account_id, lead_id, at, actor_id, kind, to_owner_id, detail) VALUES (:account, :lead_id, :now, NULL, 'created', NULL, 'Came in from Website'), (:account, :lead_id, :now, NULL, 'routed', :owner_id, :reason);
INSERT INTO notifications (id, account_id, user_id, kind, lead_id, text, created_at) VALUES (md5(random()::text), :account, :owner_id, 'lead_routed', :lead_id, 'New website lead routed to you: Bench Lead', :now);
UPDATE users SET open_leads = open_leads + 1, unread_notifications = unread_notifications + 1, last_routed_seq = COALESCE(:seq, last_routed_seq) WHERE account_id = :account AND id = :owner_id;
UPDATE routing_settings SET next_seq = :seq + 1 WHERE account_id = :account;
COMMIT;
"#;
