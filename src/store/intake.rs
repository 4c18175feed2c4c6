//! What new leads add to the database: a batch of any size costs a few multi-row
//! statements, sent together, instead of a round trip per row, and the members' counters
//! and the routing seq go with them.

use crate::domain::lead::LeadStatus;
use crate::domain::{HistoryKind, NotificationKind};
use sqlx::AssertSqlSafe;

use super::Conn;
use super::leads::{Routing, search_text};
use crate::domain::lead::LeadSource;

/// The most rows one statement takes. A batch is cut into chunks of 64, 32, .., 1 rows
/// (its binary digits), so each table has a handful of statement shapes that stay prepared
/// and a batch of 50 costs three statements. 64 rows of the widest table is 1,152 values.
const CHUNK: usize = 64;

/// The sizes a batch of `rows` rows is cut into.
fn chunk_sizes(mut rows: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let size = if rows >= CHUNK {
            CHUNK
        } else {
            rows.checked_ilog2().map(|b| 1 << b)?
        };
        rows -= size;
        Some(size)
    })
}

/// How a statement numbers its values. SQLite gets anonymous `?` slots: it looks a named
/// one up by walking a list of every name, so a 1,000-value statement paid for a million
/// steps (measured: 6% of the writer thread). PostgreSQL needs `$n`.
#[derive(Clone, Copy)]
enum Slots {
    Anonymous,
    Numbered,
}

impl Slots {
    fn of(conn: &Conn) -> Self {
        if conn.backend_name() == "SQLite" {
            Slots::Anonymous
        } else {
            Slots::Numbered
        }
    }

    /// The slot of the `n`th value of a statement: `?` or `$n`. Anonymous slots take
    /// values in the order they appear, so a statement using `one` must use them in order.
    fn one(self, n: usize) -> String {
        match self {
            Slots::Anonymous => "?".to_owned(),
            Slots::Numbered => format!("${n}"),
        }
    }

    /// `rows` tuples of `width` slots: `(?, ?), (?, ?)` or `($1, $2), ($3, $4)`. Written
    /// into one string: a 64-row insert has over a thousand slots, and a batch builds
    /// several such statements.
    fn tuples(self, width: usize, rows: usize) -> String {
        use std::fmt::Write;
        let mut sql = String::with_capacity(rows * width * 6);
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 1..=width {
                if c > 1 {
                    sql.push_str(", ");
                }
                match self {
                    Slots::Anonymous => sql.push('?'),
                    Slots::Numbered => {
                        let _ = write!(sql, "${}", r * width + c);
                    }
                }
            }
            sql.push(')');
        }
        sql
    }
}

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
    pub kind: HistoryKind,
    pub to_owner: Option<String>,
    pub detail: String,
    pub at: i64,
}

pub struct NotificationRow {
    pub id: String,
    pub account_id: String,
    pub user_id: String,
    pub kind: NotificationKind,
    pub lead_id: String,
    pub text: String,
    pub created_at: i64,
}

/// A value bound into a multi-row insert.
enum Value<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
}

/// Statements (multi-row inserts, then updates) sent by one call. On SQLite they go as one
/// query of many statements: one hand-off to sqlx's SQLite thread instead of one per
/// statement (under load each hand-off waited behind the HTTP work for the runtime, ~0.2
/// ms), and SQLite takes anonymous `?` values in order across the statements. PostgreSQL
/// prepares one statement at a time, so there they go one by one, in the order added.
struct Statements<'a> {
    slots: Slots,
    /// Each statement and how many of `values` it takes.
    statements: Vec<(String, usize)>,
    values: Vec<Value<'a>>,
}

impl<'a> Statements<'a> {
    fn new(slots: Slots) -> Self {
        Self {
            slots,
            statements: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Adds `rows` to `table`, cut into chunks of 64, 32, .. rows.
    fn add<T>(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &'a [T],
        values: impl Fn(&'a T) -> Vec<Value<'a>>,
    ) {
        self.add_then(table, columns, rows, "", values);
    }

    /// As [`Statements::add`], each insert ending with `then` (an `ON CONFLICT` clause).
    fn add_then<T>(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &'a [T],
        then: &str,
        values: impl Fn(&'a T) -> Vec<Value<'a>>,
    ) {
        let mut rest = rows;
        for size in chunk_sizes(rows.len()) {
            let (chunk, after) = rest.split_at(size);
            rest = after;
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES {}{then}",
                columns.join(", "),
                self.slots.tuples(columns.len(), size)
            );
            self.statements.push((sql, size * columns.len()));
            for row in chunk {
                self.values.extend(values(row));
            }
        }
    }

    /// Adds one statement whose slots (numbered as `self.slots` says) take `values`.
    fn push(&mut self, sql: String, values: impl IntoIterator<Item = Value<'a>>) {
        let before = self.values.len();
        self.values.extend(values);
        self.statements.push((sql, self.values.len() - before));
    }

    async fn run(self, conn: &mut Conn) -> sqlx::Result<()> {
        fn bound<'q>(
            sql: String,
            values: impl Iterator<Item = Value<'q>>,
        ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for value in values {
                query = match value {
                    Value::Text(v) => query.bind(v),
                    Value::Int(v) => query.bind(v),
                };
            }
            query
        }
        match self.slots {
            _ if self.statements.is_empty() => {}
            Slots::Anonymous => {
                let sql: Vec<&str> = self.statements.iter().map(|(s, _)| s.as_str()).collect();
                bound(sql.join(";\n"), self.values.into_iter())
                    .execute(&mut *conn)
                    .await?;
            }
            Slots::Numbered => {
                let mut values = self.values.into_iter();
                for (sql, n) in self.statements {
                    bound(sql, values.by_ref().take(n))
                        .execute(&mut *conn)
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// What a batch writes. Leads' history events keep the order given (their ids keep it).
#[derive(Default)]
pub struct Rows<'a> {
    pub leads: &'a [LeadRow],
    pub events: &'a [EventRow],
    pub notifications: &'a [NotificationRow],
    /// What the batch adds to each member, in (account, member) order.
    pub members: &'a [(&'a (String, String), &'a MemberDelta)],
    /// Each account whose routing decided leads, with its next routing seq.
    pub next_seqs: &'a [(&'a str, i64)],
    /// Rate-limit windows, (account, bucket, window start), and the hits to add to each.
    pub hits: &'a [(&'a (String, String, i64), i64)],
}

/// Writes a batch's rows by one call: new leads, their history and notifications, then the
/// members' counters, the accounts' routing seq and the rate-limit windows' hits.
pub async fn write(conn: &mut Conn, rows: &Rows<'_>) -> sqlx::Result<()> {
    write_with(conn, Slots::of(conn), rows).await
}

async fn write_with(conn: &mut Conn, slots: Slots, rows: &Rows<'_>) -> sqlx::Result<()> {
    let search: Vec<String> = rows
        .leads
        .iter()
        .map(|l| search_text(&l.name, l.email.as_deref(), l.company.as_deref()))
        .collect();
    let leads: Vec<(&LeadRow, &str)> = rows
        .leads
        .iter()
        .zip(search.iter().map(String::as_str))
        .collect();
    let mut statements = Statements::new(slots);
    add_leads(&mut statements, &leads);
    add_events(&mut statements, rows.events);
    add_notifications(&mut statements, rows.notifications);
    add_to_members(&mut statements, rows.members);
    for &(account_id, next) in rows.next_seqs {
        let sql = format!(
            "UPDATE routing_settings SET next_seq = {} WHERE account_id = {}",
            statements.slots.one(1),
            statements.slots.one(2)
        );
        statements.push(sql, [Value::Int(Some(next)), Value::Text(Some(account_id))]);
    }
    add_hits(&mut statements, rows.hits);
    statements.run(conn).await
}

fn add_leads<'a>(statements: &mut Statements<'a>, rows: &'a [(&'a LeadRow, &'a str)]) {
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
    statements.add("leads", COLUMNS, rows, |(l, search)| {
        vec![
            Text(Some(&l.id)),
            Text(Some(&l.account_id)),
            Text(Some(&l.name)),
            Text(l.email.as_deref()),
            Text(l.phone.as_deref()),
            Text(l.company.as_deref()),
            Text(l.notes.as_deref()),
            Text(Some(LeadStatus::Open.as_str())),
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
    });
}

fn add_events<'a>(statements: &mut Statements<'a>, rows: &'a [EventRow]) {
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
    statements.add("lead_events", COLUMNS, rows, |e| {
        vec![
            Text(Some(&e.account_id)),
            Text(Some(&e.lead_id)),
            Int(Some(e.at)),
            Text(e.actor_id.as_deref()),
            Text(Some(e.kind.as_str())),
            Text(e.to_owner.as_deref()),
            Text(Some(&e.detail)),
        ]
    });
}

fn add_notifications<'a>(statements: &mut Statements<'a>, rows: &'a [NotificationRow]) {
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
    statements.add("notifications", COLUMNS, rows, |n| {
        vec![
            Text(Some(&n.id)),
            Text(Some(&n.account_id)),
            Text(Some(&n.user_id)),
            Text(Some(n.kind.as_str())),
            Text(Some(&n.lead_id)),
            Text(Some(&n.text)),
            Int(Some(n.created_at)),
        ]
    });
}

/// Adds hits to rate-limit windows, creating the windows that have none yet. The windows
/// are guarded by their account's routing lock, which the transaction holds.
fn add_hits<'a>(statements: &mut Statements<'a>, hits: &'a [(&'a (String, String, i64), i64)]) {
    use Value::{Int, Text};
    statements.add_then(
        "rate_limits",
        &["account_id", "bucket", "window_start", "hits"],
        hits,
        " ON CONFLICT (account_id, bucket, window_start) \
         DO UPDATE SET hits = rate_limits.hits + excluded.hits",
        |((account_id, bucket, window_start), added)| {
            vec![
                Text(Some(account_id)),
                Text(Some(bucket)),
                Int(Some(*window_start)),
                Int(Some(*added)),
            ]
        },
    );
}

/// What a batch adds to one member: open leads, unread notifications and, when routing
/// gave them leads, the seq of the last one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberDelta {
    pub open: i64,
    pub unread: i64,
    pub last_routed_seq: Option<i64>,
}

/// Adds each member's new open leads and unread notifications and records the seq of the
/// last lead routed to them, for ((account, member), delta) pairs.
/// SQLite (one writer, nothing to deadlock with) takes them in one statement a chunk;
/// PostgreSQL row by row in the order given, so two transactions lock members in the same
/// order.
fn add_to_members<'a>(
    statements: &mut Statements<'a>,
    members: &'a [(&'a (String, String), &'a MemberDelta)],
) {
    use Value::{Int, Text};
    const SET: &str = "UPDATE users SET open_leads = open_leads + ";
    let values = |((account_id, user_id), m): &'a (&'a (String, String), &'a MemberDelta)| {
        [
            Text(Some(account_id.as_str())),
            Text(Some(user_id.as_str())),
            Int(Some(m.open)),
            Int(Some(m.unread)),
            Int(m.last_routed_seq),
        ]
    };
    match statements.slots {
        Slots::Anonymous => {
            for chunk in members.chunks(CHUNK) {
                let sql = format!(
                    "{SET}v.column3, unread_notifications = unread_notifications + v.column4, \
                     last_routed_seq = COALESCE(v.column5, last_routed_seq) \
                     FROM (VALUES {}) AS v \
                     WHERE users.account_id = v.column1 AND users.id = v.column2",
                    Slots::Anonymous.tuples(5, chunk.len())
                );
                statements.push(sql, chunk.iter().flat_map(values));
            }
        }
        Slots::Numbered => {
            for member in members {
                let sql = format!(
                    "{SET}$3, unread_notifications = unread_notifications + $4, \
                     last_routed_seq = COALESCE($5, last_routed_seq) \
                     WHERE account_id = $1 AND id = $2"
                );
                statements.push(sql, values(member));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_cut_into_binary_chunks() {
        let sizes = |n| chunk_sizes(n).collect::<Vec<_>>();
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), vec![1]);
        assert_eq!(sizes(50), vec![32, 16, 2]);
        assert_eq!(sizes(64), vec![64]);
        assert_eq!(sizes(200), vec![64, 64, 64, 8]);
        for n in 0..300 {
            assert_eq!(sizes(n).iter().sum::<usize>(), n);
        }
    }

    #[test]
    fn slots_are_anonymous_on_sqlite_and_numbered_on_postgres() {
        assert_eq!(Slots::Anonymous.tuples(2, 2), "(?, ?), (?, ?)");
        assert_eq!(Slots::Numbered.tuples(2, 3), "($1, $2), ($3, $4), ($5, $6)");
        assert_eq!(Slots::Anonymous.tuples(3, 1), "(?, ?, ?)");
        assert_eq!(Slots::Numbered.tuples(1, 3), "($1), ($2), ($3)");
        assert_eq!(Slots::Numbered.tuples(7, 64).matches('$').count(), 448);
        assert!(Slots::Numbered.tuples(7, 64).ends_with("$448)"));
    }

    #[tokio::test]
    async fn inserts_of_more_rows_than_a_chunk_into_two_tables_are_written_whole() {
        let (_dir, db) = super::super::temp_sqlite().await;
        let mut conn = db.conn().await.unwrap();
        sqlx::query("CREATE TABLE t (a TEXT, b INTEGER); CREATE TABLE u (c INTEGER)")
            .execute(&mut *conn)
            .await
            .unwrap();
        let rows: Vec<i64> = (0..(CHUNK as i64 * 2 + 5)).collect();
        for slots in [Slots::Anonymous, Slots::Numbered] {
            if matches!(slots, Slots::Numbered) {
                // SQLite reads `$n` too: the PostgreSQL path, one statement at a time.
                sqlx::query("DELETE FROM t; DELETE FROM u")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
            let mut inserts = Statements::new(slots);
            inserts.add("t", &["a", "b"], &rows, |n| {
                vec![Value::Text(Some("x")), Value::Int(Some(*n))]
            });
            inserts.add("u", &["c"], &rows[..3], |n| vec![Value::Int(Some(-n))]);
            inserts.run(&mut conn).await.unwrap();
            let t: Vec<(String, i64)> = sqlx::query_as("SELECT a, b FROM t ORDER BY rowid")
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            assert_eq!(
                t,
                rows.iter()
                    .map(|&n| ("x".to_owned(), n))
                    .collect::<Vec<_>>()
            );
            let u: Vec<i64> = sqlx::query_scalar("SELECT c FROM u ORDER BY rowid")
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            assert_eq!(
                u,
                vec![0, -1, -2],
                "values taken in order across statements"
            );
        }
    }

    #[tokio::test]
    async fn counters_and_routing_seqs_are_written_on_both_slot_kinds() {
        let (_dir, db) = super::super::temp_sqlite().await;
        let mut conn = db.conn().await.unwrap();
        sqlx::query(
            "CREATE TABLE users (account_id TEXT, id TEXT, open_leads INTEGER, \
             unread_notifications INTEGER, last_routed_seq INTEGER); \
             CREATE TABLE routing_settings (account_id TEXT, next_seq INTEGER)",
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        let key = |a: &str, u: &str| (a.to_owned(), u.to_owned());
        let keys = [key("a", "u1"), key("a", "u2"), key("b", "u1")];
        let deltas = [
            MemberDelta {
                open: 2,
                unread: 1,
                last_routed_seq: Some(9),
            },
            MemberDelta {
                open: 1,
                unread: 0,
                last_routed_seq: None,
            },
            MemberDelta {
                open: 0,
                unread: 3,
                last_routed_seq: None,
            },
        ];
        let members: Vec<_> = keys.iter().zip(&deltas).collect();
        for slots in [Slots::Anonymous, Slots::Numbered] {
            // SQLite reads `$n` too: the PostgreSQL path, one statement at a time.
            sqlx::query(
                "DELETE FROM users; DELETE FROM routing_settings; \
                 INSERT INTO users VALUES ('a', 'u1', 0, 0, NULL), ('a', 'u2', 5, 1, 7), \
                 ('a', 'u3', 1, 1, 4), ('b', 'u1', 0, 0, NULL); \
                 INSERT INTO routing_settings VALUES ('a', 8), ('b', 1)",
            )
            .execute(&mut *conn)
            .await
            .unwrap();
            let rows = Rows {
                members: &members,
                next_seqs: &[("a", 10)],
                ..Rows::default()
            };
            write_with(&mut conn, slots, &rows).await.unwrap();
            let users: Vec<(String, String, i64, i64, Option<i64>)> =
                sqlx::query_as("SELECT * FROM users ORDER BY account_id, id")
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap();
            let row = |a: &str, u: &str, open, unread, seq| {
                (a.to_owned(), u.to_owned(), open, unread, seq)
            };
            assert_eq!(
                users,
                vec![
                    row("a", "u1", 2, 1, Some(9)),
                    row("a", "u2", 6, 1, Some(7)),
                    row("a", "u3", 1, 1, Some(4)),
                    row("b", "u1", 0, 3, None),
                ]
            );
            let seqs: Vec<(String, i64)> =
                sqlx::query_as("SELECT * FROM routing_settings ORDER BY account_id")
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap();
            assert_eq!(seqs, vec![("a".to_owned(), 10), ("b".to_owned(), 1)]);
        }
    }

    #[tokio::test]
    async fn window_hits_add_to_stored_windows_and_create_new_ones_on_both_slot_kinds() {
        let (_dir, db) = super::super::temp_sqlite().await;
        let mut conn = db.conn().await.unwrap();
        sqlx::query(
            "CREATE TABLE rate_limits (account_id TEXT NOT NULL, bucket TEXT NOT NULL, \
             window_start INTEGER NOT NULL, hits INTEGER NOT NULL, \
             PRIMARY KEY (account_id, bucket, window_start))",
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        let window = |a: &str, b: &str, w| (a.to_owned(), b.to_owned(), w);
        let windows = [
            window("a", "addr:1", 60),
            window("a", "key", 60),
            window("b", "key", 120),
        ];
        let hits: Vec<_> = windows.iter().zip([3, 5, 1]).collect();
        for slots in [Slots::Anonymous, Slots::Numbered] {
            sqlx::query(
                "DELETE FROM rate_limits; INSERT INTO rate_limits VALUES \
                 ('a', 'key', 60, 10), ('a', 'key', 0, 7)",
            )
            .execute(&mut *conn)
            .await
            .unwrap();
            let rows = Rows {
                hits: &hits,
                ..Rows::default()
            };
            write_with(&mut conn, slots, &rows).await.unwrap();
            let stored: Vec<(String, String, i64, i64)> = sqlx::query_as(
                "SELECT * FROM rate_limits ORDER BY account_id, bucket, window_start",
            )
            .fetch_all(&mut *conn)
            .await
            .unwrap();
            let row = |a: &str, b: &str, w, h| (a.to_owned(), b.to_owned(), w, h);
            assert_eq!(
                stored,
                vec![
                    row("a", "addr:1", 60, 3),
                    row("a", "key", 0, 7),
                    row("a", "key", 60, 15),
                    row("b", "key", 120, 1),
                ]
            );
        }
    }
}
