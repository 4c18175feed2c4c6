//! The performance benchmark. `bench/run` builds the release binaries and runs
//! this example, which starts the real server as child processes, loads it with oha, times
//! the in-process paths, and prints one table; the README's "Performance" section says what
//! each row measures.
//!
//! Phases, in order: intake on SQLite (1) with its memory (6), and again with the rate
//! limit on; the SQLite ceiling (2), routing cost as the account grows (3) with the data
//! generator, reads on the generated account (4), PostgreSQL (5), sign-in under a sign-up
//! flood. A phase that fails is a FAILED row; the others still run.

mod api;
mod ceiling;
mod generate;
mod growth;
mod intake;
mod load;
mod postgres;
mod reads;
mod report;
mod rules;
mod server;
mod signup;
mod verify;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::json;

use report::Report;

#[derive(Parser, Debug)]
#[command(about = "Leadroute's performance benchmark (run it through bench/run)")]
pub struct Config {
    /// The release `leadroute` binary.
    #[arg(long)]
    server: PathBuf,
    /// The oha binary.
    #[arg(long, default_value = "oha")]
    oha: PathBuf,
    /// Scratch directory for databases and results (emptied first).
    #[arg(long)]
    data_dir: PathBuf,
    /// A PostgreSQL server URL the benchmark may create databases with.
    #[arg(
        long,
        env = "BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pg_url: String,
    /// Seconds of each intake run.
    #[arg(long, env = "BENCH_SECS", default_value_t = 20)]
    secs: u64,
    /// Leads in the big generated account.
    #[arg(long, env = "BENCH_LEADS", default_value_t = 1_000_000)]
    leads: u64,
    /// Concurrent connections of the load generator.
    #[arg(long, env = "BENCH_CONNS", default_value_t = 64)]
    conns: usize,
    /// Which phases to run, comma-separated: intake, rules, ceiling, growth, reads (needs growth),
    /// postgres, signup; `all` runs every one. For working on one measurement, not for the table.
    #[arg(long, env = "BENCH_PHASES", default_value = "all")]
    phases: String,
}

impl Config {
    pub fn sqlite_path(&self, name: &str) -> PathBuf {
        self.data_dir.join(format!("{name}.db"))
    }

    pub fn sqlite_url(&self, name: &str) -> String {
        format!("sqlite://{}", self.sqlite_path(name).display())
    }

    fn runs(&self, phase: &str) -> bool {
        self.phases
            .split(',')
            .any(|p| matches!(p.trim(), "all") || p.trim() == phase)
    }
}

fn main() -> ExitCode {
    match bench(Config::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every phase and prints the table; false when a check failed or a phase could not
/// finish.
fn bench(mut config: Config) -> Result<bool> {
    prepare(&mut config)?;
    // What `nproc` says: the cores this process may use.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut report = Report::new(format!(
        "Leadroute benchmark: {cores} cores ({}), BENCH_SECS={} BENCH_LEADS={} BENCH_CONNS={}",
        cpu_model(),
        config.secs,
        config.leads,
        config.conns
    ));
    tokio::runtime::Runtime::new()?.block_on(run(&config, &mut report));
    report.print();
    let results = config.data_dir.join("results.json");
    report
        .write_json(&results)
        .with_context(|| format!("cannot write {}", results.display()))?;
    println!("\nraw numbers: {}", results.display());
    Ok(!report.failed())
}

/// Absolute paths (the servers and pgbench run elsewhere) and an empty scratch directory.
fn prepare(config: &mut Config) -> Result<()> {
    if config.data_dir.exists() {
        std::fs::remove_dir_all(&config.data_dir)?;
    }
    std::fs::create_dir_all(&config.data_dir)?;
    config.data_dir = std::fs::canonicalize(&config.data_dir)?;
    config.server = std::fs::canonicalize(&config.server)
        .with_context(|| format!("no server binary at {}", config.server.display()))?;
    Ok(())
}

async fn run(config: &Config, report: &mut Report) {
    let mut secs = serde_json::Map::new();
    let mut intake = None;
    if config.runs("intake") {
        let name = "Intake SQLite";
        let result = timed(&mut secs, name, intake::sqlite(config, report)).await;
        intake = settle(report, name, result);
        let name = "Intake SQLite, rate limit on";
        let result = timed(&mut secs, name, intake::sqlite_rate_limited(config, report)).await;
        settle(report, name, result);
    }
    if config.runs("rules") {
        let name = "Intake SQLite with rules";
        let result = timed(&mut secs, name, rules::intake(config, report)).await;
        settle(report, name, result);
    }
    if config.runs("ceiling") {
        let name = "Ceiling SQLite";
        let result = timed(&mut secs, name, ceiling::sqlite(config, report, intake)).await;
        settle(report, name, result);
    }
    if config.runs("growth") {
        let name = "Routing cost";
        let result = timed(&mut secs, name, growth::run(config, report)).await;
        if let Some(grown) = settle(report, name, result).filter(|_| config.runs("reads")) {
            let name = "Reads";
            let result = timed(&mut secs, name, reads::run(config, report, &grown)).await;
            settle(report, name, result);
        }
    }
    if config.runs("postgres") {
        let name = "PostgreSQL";
        let result = timed(&mut secs, name, postgres::run(config, report)).await;
        settle(report, name, result);
    }
    if config.runs("signup") {
        let name = "Sign-up flood";
        let result = timed(&mut secs, name, signup::run(config, report)).await;
        settle(report, name, result);
    }
    report.record("phase_secs", serde_json::Value::Object(secs));
}

/// Runs one phase, saying on stderr how long it took.
async fn timed<T>(
    secs: &mut serde_json::Map<String, serde_json::Value>,
    name: &str,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    eprintln!("bench: {name} ...");
    let started = Instant::now();
    let result = work.await;
    let took = started.elapsed().as_secs_f64();
    eprintln!("bench: {name} took {took:.1} s");
    secs.insert(name.to_owned(), json!(took));
    result
}

/// A phase's error becomes a FAILED row; the benchmark goes on with the next phase.
fn settle<T>(report: &mut Report, name: &str, result: Result<T>) -> Option<T> {
    result.map_err(|e| report.step_failed(name, &e)).ok()
}

fn cpu_model() -> String {
    let info = std::fs::read_to_string(Path::new("/proc/cpuinfo")).unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown CPU".to_owned(), |(_, m)| m.trim().to_owned())
}
