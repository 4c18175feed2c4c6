//! Routing settings (one row per account, which also serialises decisions and hands out
//! `seq`), the candidates the engine reads, and the routed-lead counts for the chart.

use crate::domain::HistoryKind;
use sqlx::Row;

use super::Conn;
use super::leads::Person;
use crate::domain::routing::{Candidate, Strategy};

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
}

pub async fn create_default(conn: &mut Conn, account_id: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO routing_settings (account_id) VALUES ($1)")
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, account_id: &str) -> sqlx::Result<Settings> {
    let r = sqlx::query(
        "SELECT s.enabled, s.strategy, s.rotation, s.next_seq, s.updated_at, s.updated_by, \
         u.name AS updated_by_name FROM routing_settings s \
         LEFT JOIN users u ON u.id = s.updated_by AND u.account_id = s.account_id \
         WHERE s.account_id = $1",
    )
    .bind(account_id)
    .fetch_one(conn)
    .await?;
    let strategy: String = r.try_get("strategy")?;
    let rotation: String = r.try_get("rotation")?;
    let by: Option<String> = r.try_get("updated_by")?;
    let by_name: Option<String> = r.try_get("updated_by_name")?;
    Ok(Settings {
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        strategy: Strategy::parse(&strategy)
            .ok_or_else(|| sqlx::Error::Decode(format!("strategy {strategy}").into()))?,
        rotation: serde_json::from_str(&rotation).map_err(|e| sqlx::Error::Decode(e.into()))?,
        next_seq: r.try_get("next_seq")?,
        updated_at: r.try_get("updated_at")?,
        updated_by: by.zip(by_name),
    })
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

/// The account's sales-capable members in team order, as the engine sees them. Reads one
/// row per member: its cost does not grow with the number of leads.
pub async fn candidates(conn: &mut Conn, account_id: &str) -> sqlx::Result<Vec<Candidate>> {
    let rows = sqlx::query(
        "SELECT id, name, active, open_leads, last_routed_seq FROM users \
         WHERE account_id = $1 AND role <> 'accounting' ORDER BY position, id",
    )
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Candidate {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                active: r.try_get::<i64, _>("active")? != 0,
                open_leads: r.try_get("open_leads")?,
                last_routed_seq: r.try_get("last_routed_seq")?,
            })
        })
        .collect()
}

/// Routed leads per member since each of two times: (user id, since `a`, since `b`), `b <= a`.
pub async fn routed_counts(
    conn: &mut Conn,
    account_id: &str,
    a: i64,
    b: i64,
) -> sqlx::Result<Vec<(String, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT to_owner_id, SUM(CASE WHEN at >= $2 THEN 1 ELSE 0 END) AS recent, COUNT(*) AS total \
         FROM lead_events WHERE account_id = $1 AND kind = $4 AND at >= $3 \
         AND to_owner_id IS NOT NULL GROUP BY to_owner_id",
    )
    .bind(account_id)
    .bind(a)
    .bind(b)
    .bind(HistoryKind::Routed.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("to_owner_id")?,
                r.try_get("recent")?,
                r.try_get("total")?,
            ))
        })
        .collect()
}
