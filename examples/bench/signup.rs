//! Sign-in under a sign-up flood: p95 of one client signing in, one request at a time,
//! on a quiet server and while 32 clients sign up new accounts as fast as they are
//! answered. New passwords are hashed in their own lane (one core, a bounded queue), so
//! sign-in keeps the rest; the flood's overflow is refused with 429 at once. The flood
//! runs with the sign-up limit off (as a flood from many addresses would), then with the
//! default limit, which refuses it before any hashing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::Config;
use crate::api::{Api, OWNER_EMAIL, PASSWORD};
use crate::reads::percentile;
use crate::report::{Report, Status};
use crate::server::{self, Server};

const FLOOD_CLIENTS: usize = 32;
const WARM_UP: usize = 10;
const SAMPLES: usize = 200;
/// Sampling stops after this long (the table says how many samples it got).
const BUDGET: Duration = Duration::from_secs(20);
/// The target: sign-in p95 under the flood within this many times the quiet p95.
const FACTOR: f64 = 3.0;

/// What the flood's sign-ups got.
#[derive(Default)]
struct Answers {
    created: AtomicU64,
    refused: AtomicU64,
    other: AtomicU64,
}

pub async fn run(config: &Config, report: &mut Report) -> Result<()> {
    let mut raw = serde_json::Map::new();
    let mut quiet_p95 = None;
    for (limit, label, hashing) in [("0", "limit off", true), ("120", "default limit", false)] {
        let url = config.sqlite_url(&format!("signup-{limit}"));
        let env = [("LEADROUTE_SIGNUP_RATE_LIMIT", limit)];
        let server = Server::start(&config.server, &url, &env)?;
        let api = Api::new(&server.base)?;
        api.signup(OWNER_EMAIL).await?;
        if quiet_p95.is_none() {
            let quiet = sign_ins(&api).await.context("quiet sign-ins")?;
            let p95 = percentile(&quiet, 0.95);
            report.row(
                "Sign-in p95, quiet",
                format!("p50 {:.1} / p95 {p95:.1} ms", percentile(&quiet, 0.50)),
                "",
                Status::Info,
            );
            raw.insert("quiet".into(), summary(&quiet));
            quiet_p95 = Some(p95);
        }
        let quiet = quiet_p95.unwrap_or(f64::NAN);

        let stop = Arc::new(AtomicBool::new(false));
        let answers = Arc::new(Answers::default());
        let started = Instant::now();
        let flood: Vec<_> = (0..FLOOD_CLIENTS)
            .map(|client| {
                tokio::spawn(sign_up_until(
                    api.clone(),
                    client,
                    stop.clone(),
                    answers.clone(),
                ))
            })
            .collect();
        // Let the flood fill the lane before measuring.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let measured = sign_ins(&api).await;
        stop.store(true, Ordering::Relaxed);
        for task in flood {
            task.await??;
        }
        let flood_secs = started.elapsed().as_secs_f64();
        let measured = measured.context("sign-ins under the flood")?;
        server.stop()?;
        let check = server::check(&config.server, &url);

        let p95 = percentile(&measured, 0.95);
        // The target is for hashing: with the limit on, the flood is 429s answered as
        // fast as 32 clients can ask, a request-rate flood no per-address limit absorbs
        // on cores the load generator shares; its number is shown, not judged.
        let (target, status) = if hashing {
            (
                format!("< {FACTOR}x quiet ({:.1} ms)", quiet * FACTOR),
                Status::target(p95 < quiet * FACTOR),
            )
        } else {
            ("(shown)".to_owned(), Status::Info)
        };
        let short = if measured.len() < SAMPLES {
            format!(" ({} samples)", measured.len())
        } else {
            String::new()
        };
        report.row(
            format!("Sign-in p95 under a sign-up flood ({FLOOD_CLIENTS} clients, {label})"),
            format!(
                "p50 {:.1} / p95 {p95:.1} ms{short}",
                percentile(&measured, 0.50)
            ),
            &target,
            status,
        );
        let (created, refused, other) = (
            answers.created.load(Ordering::Relaxed),
            answers.refused.load(Ordering::Relaxed),
            answers.other.load(Ordering::Relaxed),
        );
        report.row(
            format!("Sign-up flood ({label}): created / 429 / other, in {flood_secs:.1} s"),
            format!("{created} / {refused} / {other}"),
            "other 0",
            Status::check(other == 0),
        );
        report.row(
            format!("Sign-up flood ({label}): leadroute check"),
            check
                .as_ref()
                .map_or_else(|e| format!("{e:#}"), |()| "clean".into()),
            "clean",
            Status::check(check.is_ok()),
        );
        raw.insert(
            format!("flood_limit_{limit}"),
            json!({"sign_in": summary(&measured), "created": created, "refused": refused,
                   "other": other, "secs": flood_secs}),
        );
    }
    report.record("signup", Value::Object(raw));
    Ok(())
}

/// One flood client: sign-ups with fresh emails until told to stop. 201 and 429 are the
/// expected answers; anything else is counted (and fails the row).
async fn sign_up_until(
    api: Api,
    client: usize,
    stop: Arc<AtomicBool>,
    answers: Arc<Answers>,
) -> Result<()> {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let body = json!({"account_name": "Flood Co", "name": "Flood", "password": PASSWORD,
                          "email": format!("flood{client}-{n}@bench.example.com")});
        let response = api
            .http()
            .post(api.url("/api/v1/signup"))
            .json(&body)
            .send()
            .await?;
        let counter = match response.status().as_u16() {
            201 => &answers.created,
            429 => &answers.refused,
            _ => &answers.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        response.bytes().await?;
    }
    Ok(())
}

/// Milliseconds per sign-in (`POST /api/v1/login`), one at a time, after a warm-up.
async fn sign_ins(api: &Api) -> Result<Vec<f64>> {
    for _ in 0..WARM_UP {
        sign_in(api).await?;
    }
    let started = Instant::now();
    let mut times = Vec::with_capacity(SAMPLES);
    while times.len() < SAMPLES && started.elapsed() < BUDGET {
        times.push(sign_in(api).await?);
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

async fn sign_in(api: &Api) -> Result<f64> {
    let body = json!({"email": OWNER_EMAIL, "password": PASSWORD});
    let sent = Instant::now();
    let response = api
        .http()
        .post(api.url("/api/v1/login"))
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    let ms = sent.elapsed().as_secs_f64() * 1e3;
    if !status.is_success() {
        bail!("sign-in: {status} {text}");
    }
    Ok(ms)
}

fn summary(sorted: &[f64]) -> Value {
    json!({"samples": sorted.len(), "p50_ms": percentile(sorted, 0.50),
           "p95_ms": percentile(sorted, 0.95)})
}
