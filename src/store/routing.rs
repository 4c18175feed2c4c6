//! Routing settings (one row per account, which also serialises decisions and hands out
//! `seq`), the candidates the engine reads, and the routed-lead counts for the chart.

use crate::domain::HistoryKind;

use super::leads::Person;
use super::{Conn, Flag};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use crate::domain::routing::settings::{IfNoneAvailable, SlaAction};
use crate::domain::routing::{Candidate, Strategy};
use crate::domain::rules::Rule;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub enabled: bool,
    pub strategy: Strategy,
    /// The saved picks, as saved.
    pub rotation: Vec<String>,
    /// The seq the next routed lead gets.
    pub next_seq: i64,
    pub updated_at: Option<i64>,
    pub updated_by: Option<Person>,
    /// The routing rules in order (shared: parsed once per version, see [`parsed_rules`]),
    /// and the list's version (bumped by each save).
    pub rules: Arc<Vec<Rule>>,
    pub rules_version: i64,
    /// The default rotation's weights other than 100, and its other settings.
    pub weights: HashMap<String, i64>,
    pub if_none_available: IfNoneAvailable,
    pub first_touch_minutes: Option<i64>,
    pub sla_action: SlaAction,
    pub max_hops: i64,
}

/// The settings as stored: the strategy is its name, the rotation JSON, the editor two columns.
#[derive(sqlx::FromRow)]
struct SettingsRow {
    account_id: String,
    #[sqlx(try_from = "Flag")]
    enabled: bool,
    strategy: String,
    rotation: String,
    next_seq: i64,
    updated_at: Option<i64>,
    updated_by: Option<String>,
    updated_by_name: Option<String>,
    rules: String,
    rules_version: i64,
    weights: String,
    #[sqlx(try_from = "String")]
    if_none_available: IfNoneAvailable,
    first_touch_minutes: Option<i64>,
    #[sqlx(try_from = "String")]
    sla_action: SlaAction,
    max_hops: i64,
}

/// An account's rule list, parsed once per version: every routed batch reads the settings
/// row, and parsing 50 rules each time cost the intake rate. The version comes from the
/// row read in the caller's transaction, so every process sees a save at once.
fn parsed_rules(account_id: &str, version: i64, text: &str) -> sqlx::Result<Arc<Vec<Rule>>> {
    /// Account id -> (version, its rules).
    type Parsed = HashMap<String, (i64, Arc<Vec<Rule>>)>;
    static PARSED: LazyLock<Mutex<Parsed>> = LazyLock::new(Mutex::default);
    if text == "[]" {
        return Ok(Arc::default());
    }
    let cached = PARSED
        .lock()
        .ok()
        .and_then(|m| m.get(account_id).filter(|(v, _)| *v == version).cloned());
    if let Some((_, rules)) = cached {
        return Ok(rules);
    }
    let rules: Arc<Vec<Rule>> = Arc::new(json(text)?);
    if let Ok(mut m) = PARSED.lock() {
        m.insert(account_id.to_owned(), (version, Arc::clone(&rules)));
    }
    Ok(rules)
}

fn json<T: serde::de::DeserializeOwned>(text: &str) -> sqlx::Result<T> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(e.into()))
}

impl TryFrom<SettingsRow> for Settings {
    type Error = sqlx::Error;

    fn try_from(r: SettingsRow) -> sqlx::Result<Self> {
        Ok(Settings {
            enabled: r.enabled,
            strategy: Strategy::parse(&r.strategy)
                .ok_or_else(|| sqlx::Error::Decode(format!("strategy {}", r.strategy).into()))?,
            rotation: json(&r.rotation)?,
            next_seq: r.next_seq,
            updated_at: r.updated_at,
            updated_by: r.updated_by.zip(r.updated_by_name),
            rules: parsed_rules(&r.account_id, r.rules_version, &r.rules)?,
            rules_version: r.rules_version,
            weights: json(&r.weights)?,
            if_none_available: r.if_none_available,
            first_touch_minutes: r.first_touch_minutes,
            sla_action: r.sla_action,
            max_hops: r.max_hops,
        })
    }
}

/// A candidate as stored: `active` is a 0/1 flag.
#[derive(sqlx::FromRow)]
struct CandidateRow {
    id: String,
    name: String,
    #[sqlx(try_from = "Flag")]
    active: bool,
    open_leads: i64,
    last_routed_seq: Option<i64>,
}

impl From<CandidateRow> for Candidate {
    fn from(r: CandidateRow) -> Self {
        Candidate {
            id: r.id,
            name: r.name,
            active: r.active,
            open_leads: r.open_leads,
            last_routed_seq: r.last_routed_seq,
        }
    }
}

pub async fn create_default(conn: &mut Conn, account_id: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO routing_settings (account_id) VALUES ($1)")
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, account_id: &str) -> sqlx::Result<Settings> {
    let r: SettingsRow = sqlx::query_as(
        "SELECT s.account_id, s.enabled, s.strategy, s.rotation, s.next_seq, s.updated_at, s.updated_by, \
         u.name AS updated_by_name, s.rules, s.rules_version, s.weights, s.if_none_available, \
         s.first_touch_minutes, s.sla_action, s.max_hops FROM routing_settings s \
         LEFT JOIN users u ON u.id = s.updated_by AND u.account_id = s.account_id \
         WHERE s.account_id = $1",
    )
    .bind(account_id)
    .fetch_one(conn)
    .await?;
    r.try_into()
}

pub async fn save(
    conn: &mut Conn,
    account_id: &str,
    enabled: bool,
    strategy: Strategy,
    rotation: &[String],
    by: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE routing_settings SET enabled = $1, strategy = $2, rotation = $3, updated_at = $4, \
         updated_by = $5 WHERE account_id = $6",
    )
    .bind(i64::from(enabled))
    .bind(strategy.as_str())
    .bind(serde_json::to_string(rotation).unwrap_or_else(|_| "[]".into()))
    .bind(now)
    .bind(by)
    .bind(account_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces the rule list, with its new version.
pub async fn save_rules(
    conn: &mut Conn,
    account_id: &str,
    rules: &[Rule],
    version: i64,
    by: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE routing_settings SET rules = $1, rules_version = $2, updated_at = $3, \
         updated_by = $4 WHERE account_id = $5",
    )
    .bind(serde_json::to_string(rules).unwrap_or_else(|_| "[]".into()))
    .bind(version)
    .bind(now)
    .bind(by)
    .bind(account_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The account's sales-capable members in team order, as the engine sees them. Reads one
/// row per member: its cost does not grow with the number of leads.
pub async fn candidates(conn: &mut Conn, account_id: &str) -> sqlx::Result<Vec<Candidate>> {
    let rows: Vec<CandidateRow> = sqlx::query_as(
        "SELECT id, name, active, open_leads, last_routed_seq FROM users \
         WHERE account_id = $1 AND role <> 'accounting' ORDER BY position, id",
    )
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Candidate::from).collect())
}

/// Routed leads per member since each of two times: (user id, since `a`, since `b`), `b <= a`.
pub async fn routed_counts(
    conn: &mut Conn,
    account_id: &str,
    a: i64,
    b: i64,
) -> sqlx::Result<Vec<(String, i64, i64)>> {
    // Positional: (to_owner_id, recent, total).
    sqlx::query_as(
        "SELECT to_owner_id, SUM(CASE WHEN at >= $2 THEN 1 ELSE 0 END) AS recent, COUNT(*) AS total \
         FROM lead_events WHERE account_id = $1 AND kind = $4 AND at >= $3 \
         AND to_owner_id IS NOT NULL GROUP BY to_owner_id",
    )
    .bind(account_id)
    .bind(a)
    .bind(b)
    .bind(HistoryKind::Routed.as_str())
    .fetch_all(conn)
    .await
}

/// [`routed_counts`] for the leads one named rotation routed (by the rotation the lead
/// keeps from its decision).
pub async fn routed_counts_in(
    conn: &mut Conn,
    account_id: &str,
    rotation_id: &str,
    a: i64,
    b: i64,
) -> sqlx::Result<Vec<(String, i64, i64)>> {
    sqlx::query_as(
        "SELECT e.to_owner_id, SUM(CASE WHEN e.at >= $2 THEN 1 ELSE 0 END) AS recent, \
         COUNT(*) AS total FROM lead_events e \
         JOIN leads l ON l.account_id = e.account_id AND l.id = e.lead_id \
         WHERE e.account_id = $1 AND e.kind = $4 AND e.at >= $3 \
         AND e.to_owner_id IS NOT NULL AND l.routing_rotation_id = $5 GROUP BY e.to_owner_id",
    )
    .bind(account_id)
    .bind(a)
    .bind(b)
    .bind(HistoryKind::Routed.as_str())
    .bind(rotation_id)
    .fetch_all(conn)
    .await
}
