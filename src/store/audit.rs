//! The append-only audit log. Rows are only ever inserted.

use sqlx::Row;

use super::Conn;
use crate::domain::AuditAction;

pub struct NewEntry<'a> {
    pub account_id: &'a str,
    pub actor_id: Option<&'a str>,
    pub action: AuditAction,
    pub target: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub at: i64,
    pub actor: Option<(String, String)>,
    pub action: AuditAction,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

pub async fn record(conn: &mut Conn, entry: NewEntry<'_>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (account_id, at, actor_id, action, target, before_json, after_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entry.account_id)
    .bind(now)
    .bind(entry.actor_id)
    .bind(entry.action.as_str())
    .bind(entry.target)
    .bind(entry.before.map(|v| v.to_string()))
    .bind(entry.after.map(|v| v.to_string()))
    .execute(conn)
    .await?;
    Ok(())
}

/// Entries newest first, strictly older than `before_id` when given.
pub async fn list(
    conn: &mut Conn,
    account_id: &str,
    action: Option<&str>,
    before_id: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT l.id, l.at, l.actor_id, u.name AS actor_name, l.action, l.target, \
         l.before_json, l.after_json \
         FROM audit_log l LEFT JOIN users u ON u.id = l.actor_id AND u.account_id = l.account_id \
         WHERE l.account_id = $1 AND ($2 IS NULL OR l.action = $2) AND ($3 IS NULL OR l.id < $3) \
         ORDER BY l.id DESC LIMIT $4",
    )
    .bind(account_id)
    .bind(action)
    .bind(before_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let actor_id: Option<String> = r.try_get("actor_id")?;
            let actor_name: Option<String> = r.try_get("actor_name")?;
            let json = |col: &str| -> sqlx::Result<Option<serde_json::Value>> {
                let text: Option<String> = r.try_get(col)?;
                Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
            };
            let action: String = r.try_get("action")?;
            Ok(Entry {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                actor: actor_id.zip(actor_name),
                action: AuditAction::parse(&action)
                    .ok_or_else(|| sqlx::Error::Decode(format!("audit action {action}").into()))?,
                target: r.try_get("target")?,
                before: json("before_json")?,
                after: json("after_json")?,
            })
        })
        .collect()
}
