//! The one table the benchmark prints (Markdown, so it can be pasted as it is) and the raw
//! numbers it writes as JSON.

use std::path::Path;

use anyhow::Result;
use serde_json::{Map, Value, json};

use crate::verify::Verdict;

/// How much of a result (a failure's message, say) the table shows.
const RESULT_MAX: usize = 160;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A performance target met.
    Pass,
    /// A performance target not met.
    Miss,
    /// A correctness check failed: the benchmark exits non-zero.
    Fail,
    /// A step could not run to the end: the benchmark exits non-zero.
    Failed,
    Skip,
    /// A number with no target of its own.
    Info,
}

impl Status {
    pub fn target(met: bool) -> Status {
        if met { Status::Pass } else { Status::Miss }
    }

    pub fn check(ok: bool) -> Status {
        if ok { Status::Pass } else { Status::Fail }
    }

    fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Miss => "MISS",
            Status::Fail => "FAIL",
            Status::Failed => "FAILED",
            Status::Skip => "SKIP",
            Status::Info => "",
        }
    }
}

struct Row {
    measurement: String,
    result: String,
    target: String,
    status: Status,
}

pub struct Report {
    heading: String,
    rows: Vec<Row>,
    raw: Map<String, Value>,
}

impl Report {
    pub fn new(heading: String) -> Report {
        Report {
            heading,
            rows: Vec::new(),
            raw: Map::new(),
        }
    }

    pub fn row(
        &mut self,
        measurement: impl Into<String>,
        result: impl Into<String>,
        target: &str,
        status: Status,
    ) {
        // One table line per row: no line breaks or column bars, long messages cut short.
        let result = result.into().replace(['\n', '|'], " ");
        self.rows.push(Row {
            measurement: measurement.into(),
            result: result.chars().take(RESULT_MAX).collect(),
            target: target.to_owned(),
            status,
        });
    }

    /// The two correctness rows of an intake run: what the database holds against what was
    /// acknowledged, and `leadroute check`.
    pub fn intake_checks(&mut self, what: &str, verdict: &Verdict, check: &Result<()>) {
        self.row(
            format!("{what}: stored == 2xx, seq gapless, routing order"),
            verdict.summary(),
            "all equal / 0",
            Status::check(verdict.ok()),
        );
        self.row(
            format!("{what}: leadroute check"),
            check
                .as_ref()
                .map_or_else(|e| format!("{e:#}"), |()| "clean".into()),
            "clean",
            Status::check(check.is_ok()),
        );
    }

    /// A step that stopped with an error: the table says which and why (the start of it;
    /// results.json has all of it).
    pub fn step_failed(&mut self, step: &str, err: &anyhow::Error) {
        self.row(step, format!("{err:#}"), "", Status::Failed);
        let failures = self.raw.entry("failures").or_insert_with(|| json!([]));
        if let Some(list) = failures.as_array_mut() {
            list.push(json!({"step": step, "error": format!("{err:#}")}));
        }
    }

    /// Raw numbers for results.json.
    pub fn record(&mut self, key: &str, value: Value) {
        self.raw.insert(key.to_owned(), value);
    }

    /// A correctness check failed or a step could not finish.
    pub fn failed(&self) -> bool {
        self.rows
            .iter()
            .any(|r| matches!(r.status, Status::Fail | Status::Failed))
    }

    pub fn print(&self) {
        let header = ["measurement", "result", "target", "status"];
        let cells: Vec<[&str; 4]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.measurement.as_str(),
                    r.result.as_str(),
                    r.target.as_str(),
                    r.status.label(),
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &cells {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |row: &[&str; 4]| {
            let padded: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            format!("| {} |", padded.join(" | "))
        };
        println!("\n{}\n", self.heading);
        println!("{}", line(&header));
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        println!("|-{}-|", rule.join("-|-"));
        for row in &cells {
            println!("{}", line(row));
        }
    }

    pub fn write_json(&self, path: &Path) -> Result<()> {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| json!({"measurement": r.measurement, "result": r.result, "target": r.target, "status": r.status.label()}))
            .collect();
        let mut all = self.raw.clone();
        all.insert("heading".into(), json!(self.heading));
        all.insert("table".into(), Value::Array(rows));
        std::fs::write(path, serde_json::to_string_pretty(&all)?)?;
        Ok(())
    }
}

/// 1000000 as "1,000,000".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
