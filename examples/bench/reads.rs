//! Measurement 4: reading at scale. On the generated million-lead account, p50 and p95 of the
//! leads list as the JSON API (bearer token) and as the HTML page (session cookie) serve it,
//! one request at a time, for each query shape.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use leadroute::store::Db;
use reqwest::header;
use serde_json::{Value, json};
use sqlx::Row;

use crate::Config;
use crate::api::{Api, OWNER_EMAIL};
use crate::growth::Grown;
use crate::report::{Report, Status};
use crate::server::Server;

const WARM_UP: usize = 20;
const WARM_UP_BUDGET: Duration = Duration::from_secs(3);
const SAMPLES: usize = 300;
/// A slow shape stops sampling after this long (the table says how many samples it got),
/// so one bad query plan cannot stall the whole benchmark...
const BUDGET: Duration = Duration::from_secs(15);
/// ... but never with fewer than this.
const MIN_SAMPLES: usize = 10;
/// A term in many companies (every company has one of the generator's industries).
const COMMON_TERM: &str = "logistics";

struct Shape {
    name: String,
    query: String,
    /// Asked by a Sales rep (the "Mine" view) rather than the Owner.
    as_rep: bool,
}

pub async fn run(config: &Config, report: &mut Report, grown: &Grown) -> Result<()> {
    let shapes = shapes(grown).await?;
    let rep_email = busiest_rep(grown).await?;
    let server = Server::start(&config.server, &grown.url, &[])?;
    let api = Api::new(&server.base)?;
    // The Owner's first, then the rep's.
    let tokens = [api.login(OWNER_EMAIL).await?, api.login(&rep_email).await?];
    let cookies = [
        api.signin_cookie(OWNER_EMAIL).await?,
        api.signin_cookie(&rep_email).await?,
    ];
    let mut raw = Vec::new();
    for shape in &shapes {
        let who = usize::from(shape.as_rep);
        for html in [false, true] {
            let (path, auth) = if html {
                ("/leads", (header::COOKIE, cookies[who].clone()))
            } else {
                (
                    "/api/v1/leads",
                    (header::AUTHORIZATION, format!("Bearer {}", tokens[who])),
                )
            };
            let url = api.url(&format!("{path}?{}", shape.query));
            let mut times = sample(&api, &url, &auth, html)
                .await
                .with_context(|| format!("GET {path}?{}", shape.query))?;
            times.sort_by(f64::total_cmp);
            let (p50, p95) = (percentile(&times, 0.50), percentile(&times, 0.95));
            let short = if times.len() < SAMPLES {
                format!(" ({} samples)", times.len())
            } else {
                String::new()
            };
            report.row(
                format!(
                    "Leads list {}: {}",
                    if html { "HTML" } else { "API" },
                    shape.name
                ),
                format!("p50 {p50:.1} / p95 {p95:.1} ms{short}"),
                "p95 < 20 ms",
                Status::target(p95 < 20.0),
            );
            raw.push(
                json!({"shape": shape.name, "query": shape.query, "html": html,
                            "samples": times.len(), "p50_ms": p50, "p95_ms": p95}),
            );
        }
    }
    crate::rules::big_account(&api, &tokens[0], report).await?;
    server.stop()?;
    report.record("reads", Value::Array(raw));
    Ok(())
}

/// The query shapes the targets name, with a selective search term and a deep cursor taken
/// from the generated data.
async fn shapes(grown: &Grown) -> Result<Vec<Shape>> {
    let db = Db::connect(&grown.url).await?;
    let mut conn = db.conn().await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM leads")
        .fetch_one(&mut *conn)
        .await?;
    // A company brand (its first word) from the middle of the data: a handful of leads.
    let company: String = sqlx::query_scalar(
        "SELECT company FROM leads WHERE company IS NOT NULL ORDER BY created_at DESC, id DESC \
         LIMIT 1 OFFSET $1",
    )
    .bind(total / 3)
    .fetch_one(&mut *conn)
    .await?;
    let rare = company.split(' ').next().unwrap_or_default().to_lowercase();
    let mut matches = Vec::new();
    for term in [rare.as_str(), COMMON_TERM] {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM leads WHERE search_text LIKE $1")
            .bind(format!("%{term}%"))
            .fetch_one(&mut *conn)
            .await?;
        matches.push(count);
    }
    let (rare_matches, common_matches) = (matches[0], matches[1]);
    // The cursor `next_cursor` would give after the lead halfway down the newest-first list.
    let middle = sqlx::query(
        "SELECT created_at, id FROM leads ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET $1",
    )
    .bind(total / 2)
    .fetch_one(&mut *conn)
    .await?;
    let cursor = format!(
        "{}.{}",
        middle.try_get::<i64, _>("created_at")?,
        middle.try_get::<String, _>("id")?
    );
    drop(conn);
    db.pool.close().await;
    let shape = |name: String, query: String, as_rep| Shape {
        name,
        query,
        as_rep,
    };
    Ok(vec![
        shape("first page".into(), String::new(), false),
        shape(
            "owner=me&status=open (a rep)".into(),
            "owner=me&status=open".into(),
            true,
        ),
        shape("owner=none".into(), "owner=none".into(), false),
        shape(
            format!("q={rare} ({rare_matches} matches)"),
            format!("q={rare}"),
            false,
        ),
        shape(
            format!("q={COMMON_TERM} ({common_matches} matches)"),
            format!("q={COMMON_TERM}"),
            false,
        ),
        shape(
            format!("cursor at lead {} of {}", total / 2, total),
            format!("cursor={cursor}"),
            false,
        ),
    ])
}

/// The Sales rep with the most open leads.
async fn busiest_rep(grown: &Grown) -> Result<String> {
    let db = Db::connect(&grown.url).await?;
    let email = sqlx::query_scalar(
        "SELECT email FROM users WHERE role = 'sales' ORDER BY open_leads DESC, position LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await?;
    db.pool.close().await;
    Ok(email)
}

/// Milliseconds per request, after a warm-up; each answer must be a page of leads.
async fn sample(
    api: &Api,
    url: &str,
    auth: &(header::HeaderName, String),
    html: bool,
) -> Result<Vec<f64>> {
    let warming = Instant::now();
    for _ in 0..WARM_UP {
        if warming.elapsed() > WARM_UP_BUDGET {
            break;
        }
        fetch(api, url, auth, html).await?;
    }
    let started = Instant::now();
    let mut times = Vec::with_capacity(SAMPLES);
    while times.len() < SAMPLES && (times.len() < MIN_SAMPLES || started.elapsed() < BUDGET) {
        times.push(fetch(api, url, auth, html).await?);
    }
    Ok(times)
}

/// One request, timed from sending to the last byte of the body.
async fn fetch(
    api: &Api,
    url: &str,
    (name, value): &(header::HeaderName, String),
    html: bool,
) -> Result<f64> {
    let sent = Instant::now();
    let response = api.http().get(url).header(name, value).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    let ms = sent.elapsed().as_secs_f64() * 1e3;
    if !status.is_success() {
        bail!("{status}: {}", String::from_utf8_lossy(&body));
    }
    if !html {
        let page: Value = serde_json::from_slice(&body)?;
        if page["leads"].as_array().is_none_or(Vec::is_empty) {
            bail!("no leads in the answer");
        }
    }
    Ok(ms)
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
