//! The HTTP load generator: oha posting website leads as JSON, its JSON summary read back.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// What a visitor's form sends.
const LEAD: &str = r#"{"name":"Bench Lead","email":"lead@example.com","company":"Acme"}"#;

/// One oha run, as the benchmark reports it.
#[derive(Debug, Clone, Default)]
pub struct Load {
    /// 2xx answers: leads the server acknowledged.
    pub ok: u64,
    /// Non-2xx answers plus requests that got no answer.
    pub errors: u64,
    pub secs: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// oha's whole JSON summary, for results.json.
    pub raw: Value,
}

impl Load {
    /// Acknowledged leads per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.secs
    }
}

/// Starts oha: `conns` connections posting to `url` for `secs` seconds. Requests still in
/// flight at the deadline are waited for (`-w`), never abandoned, so every lead the server
/// stores is a lead oha counted.
pub fn spawn(oha: &Path, url: &str, secs: u64, conns: usize) -> Result<Child> {
    Command::new(oha)
        .args(["-z", &format!("{secs}s"), "-c", &conns.to_string(), "-w"])
        .args(["--no-tui", "--output-format", "json"])
        .args([
            "-m",
            "POST",
            "-H",
            "content-type: application/json",
            "-d",
            LEAD,
        ])
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", oha.display()))
}

/// Waits for oha and reads its summary.
pub fn finish(child: Child) -> Result<Load> {
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "oha failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let raw: Value = serde_json::from_slice(&out.stdout).context("oha's JSON output")?;
    let count = |map: &Value, pick: &dyn Fn(&str) -> bool| -> u64 {
        map.as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| pick(k))
            .filter_map(|(_, v)| v.as_u64())
            .sum()
    };
    let statuses = &raw["statusCodeDistribution"];
    let ok = count(statuses, &|code| code.starts_with('2'));
    let errors = count(statuses, &|code| !code.starts_with('2'))
        + count(&raw["errorDistribution"], &|_| true);
    let latency = &raw["metrics"]["latency_ms"];
    Ok(Load {
        ok,
        errors,
        secs: raw["summary"]["total"]
            .as_f64()
            .context("oha summary.total")?,
        p50_ms: latency["p50"].as_f64().unwrap_or(f64::NAN),
        p99_ms: latency["p99"].as_f64().unwrap_or(f64::NAN),
        raw,
    })
}

pub fn run(oha: &Path, url: &str, secs: u64, conns: usize) -> Result<Load> {
    finish(spawn(oha, url, secs, conns)?)
}
