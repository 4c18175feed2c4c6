//! The append-only audit log. Rows are only ever inserted.

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

/// An entry as stored: the actor is two columns, the states JSON text.
#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    at: i64,
    actor_id: Option<String>,
    actor_name: Option<String>,
    #[sqlx(try_from = "String")]
    action: AuditAction,
    target: String,
    before_json: Option<String>,
    after_json: Option<String>,
}

impl From<EntryRow> for Entry {
    fn from(r: EntryRow) -> Self {
        let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        Entry {
            id: r.id,
            at: r.at,
            actor: r.actor_id.zip(r.actor_name),
            action: r.action,
            target: r.target,
            before: json(r.before_json),
            after: json(r.after_json),
        }
    }
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
    let rows: Vec<EntryRow> = sqlx::query_as(
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
    Ok(rows.into_iter().map(Entry::from).collect())
}
