//! What new leads add to the database, written a table at a time: a batch of any size
//! costs a few multi-row statements instead of a round trip per row.

use sqlx::AssertSqlSafe;

use super::Conn;
use super::leads::{Routing, search_text};
use crate::domain::lead::LeadSource;

/// Rows per statement: a handful of statement shapes (so they stay prepared), and few
/// enough bound values that SQLite's name lookup per value (linear in their number) stays
/// cheap.
const CHUNK: usize = 16;

pub struct LeadRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub notes: Option<String>,
    pub source: LeadSource,
    pub owner_id: Option<String>,
    pub created_by: Option<String>,
    pub routing: Option<Routing>,
    /// The routing receipt as JSON, for a routed lead.
    pub receipt: Option<String>,
    pub created_at: i64,
}

pub struct EventRow {
    pub account_id: String,
    pub lead_id: String,
    pub actor_id: Option<String>,
    pub kind: &'static str,
    pub to_owner: Option<String>,
    pub detail: String,
    pub at: i64,
}

pub struct NotificationRow {
    pub id: String,
    pub account_id: String,
    pub user_id: String,
    pub kind: &'static str,
    pub lead_id: String,
    pub text: String,
    pub created_at: i64,
}

/// `INSERT INTO table (columns) VALUES ($1, ..), (..)` for `rows` rows.
fn insert_sql(table: &str, columns: &[&str], rows: usize) -> String {
    let width = columns.len();
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let slots: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", slots.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        tuples.join(", ")
    )
}

/// A value bound into a multi-row insert.
enum Value<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
}

async fn insert_rows<T>(
    conn: &mut Conn,
    table: &str,
    columns: &[&str],
    rows: &[T],
    values: impl Fn(&T) -> Vec<Value<'_>>,
) -> sqlx::Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let sql = insert_sql(table, columns, chunk.len());
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            for value in values(row) {
                query = match value {
                    Value::Text(v) => query.bind(v),
                    Value::Int(v) => query.bind(v),
                };
            }
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn insert_leads(conn: &mut Conn, rows: &[LeadRow]) -> sqlx::Result<()> {
    use Value::{Int, Text};
    const COLUMNS: &[&str] = &[
        "id",
        "account_id",
        "name",
        "email",
        "phone",
        "company",
        "notes",
        "status",
        "source",
        "owner_id",
        "created_by",
        "created_at",
        "updated_at",
        "routing_strategy",
        "routing_seq",
        "routing_reason",
        "search_text",
        "routing_receipt",
    ];
    let search: Vec<String> = rows
        .iter()
        .map(|l| search_text(&l.name, l.email.as_deref(), l.company.as_deref()))
        .collect();
    let indexed: Vec<(&LeadRow, &str)> =
        rows.iter().zip(search.iter().map(String::as_str)).collect();
    insert_rows(conn, "leads", COLUMNS, &indexed, |(l, search)| {
        vec![
            Text(Some(&l.id)),
            Text(Some(&l.account_id)),
            Text(Some(&l.name)),
            Text(l.email.as_deref()),
            Text(l.phone.as_deref()),
            Text(l.company.as_deref()),
            Text(l.notes.as_deref()),
            Text(Some("open")),
            Text(Some(l.source.as_str())),
            Text(l.owner_id.as_deref()),
            Text(l.created_by.as_deref()),
            Int(Some(l.created_at)),
            Int(Some(l.created_at)),
            Text(l.routing.as_ref().map(|r| r.strategy.as_str())),
            Int(l.routing.as_ref().map(|r| r.seq)),
            Text(l.routing.as_ref().map(|r| r.reason.as_str())),
            Text(Some(search)),
            Text(l.receipt.as_deref()),
        ]
    })
    .await
}

/// History events, in the order given (their ids keep that order).
pub async fn insert_events(conn: &mut Conn, rows: &[EventRow]) -> sqlx::Result<()> {
    use Value::{Int, Text};
    const COLUMNS: &[&str] = &[
        "account_id",
        "lead_id",
        "at",
        "actor_id",
        "kind",
        "to_owner_id",
        "detail",
    ];
    insert_rows(conn, "lead_events", COLUMNS, rows, |e| {
        vec![
            Text(Some(&e.account_id)),
            Text(Some(&e.lead_id)),
            Int(Some(e.at)),
            Text(e.actor_id.as_deref()),
            Text(Some(e.kind)),
            Text(e.to_owner.as_deref()),
            Text(Some(&e.detail)),
        ]
    })
    .await
}

pub async fn insert_notifications(conn: &mut Conn, rows: &[NotificationRow]) -> sqlx::Result<()> {
    use Value::{Int, Text};
    const COLUMNS: &[&str] = &[
        "id",
        "account_id",
        "user_id",
        "kind",
        "lead_id",
        "text",
        "created_at",
    ];
    insert_rows(conn, "notifications", COLUMNS, rows, |n| {
        vec![
            Text(Some(&n.id)),
            Text(Some(&n.account_id)),
            Text(Some(&n.user_id)),
            Text(Some(n.kind)),
            Text(Some(&n.lead_id)),
            Text(Some(&n.text)),
            Int(Some(n.created_at)),
        ]
    })
    .await
}

/// Adds `open` to a member's open-lead count and, for routed leads, records the seq of the
/// last one they received.
pub async fn add_to_member(
    conn: &mut Conn,
    account_id: &str,
    user_id: &str,
    open: i64,
    last_routed_seq: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET open_leads = open_leads + $1, \
         last_routed_seq = COALESCE($2, last_routed_seq) WHERE account_id = $3 AND id = $4",
    )
    .bind(open)
    .bind(last_routed_seq)
    .bind(account_id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_inserts_number_every_slot() {
        let sql = insert_sql("t", &["a", "b"], 3);
        assert_eq!(
            sql,
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6)"
        );
    }

    #[tokio::test]
    async fn a_batch_of_more_rows_than_a_chunk_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let db = super::super::Db::connect(&format!("sqlite://{}/t.db", dir.path().display()))
            .await
            .unwrap();
        let mut conn = db.conn().await.unwrap();
        sqlx::query("CREATE TABLE t (a TEXT, b INTEGER)")
            .execute(&mut *conn)
            .await
            .unwrap();
        let rows: Vec<i64> = (0..(CHUNK as i64 * 2 + 5)).collect();
        insert_rows(&mut conn, "t", &["a", "b"], &rows, |n| {
            vec![Value::Text(Some("x")), Value::Int(Some(*n))]
        })
        .await
        .unwrap();
        let distinct: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT b) FROM t")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(distinct, rows.len() as i64);
    }
}
