//! What new leads add to the database: a batch of any size costs a few multi-row
//! statements, sent together, instead of a round trip per row, and the members' counters
//! and the routing seq go with them.

use crate::domain::lead::LeadStatus;
use crate::domain::lead::{Company, NewLead, Phone};
use crate::domain::validate::EmailAddress;
use crate::domain::{HistoryKind, NotificationKind};

use super::leads::{Routing, search_text};
use super::sql::{Sql, Value, execute_all};
use super::{Backend, Conn};

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

pub struct LeadRow {
    pub id: String,
    pub account_id: String,
    pub lead: NewLead,
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

/// Statements (multi-row inserts, then updates) written by one call and run in the order
/// added, with placeholders as [`Sql::multi_row`] writes them: on SQLite they go as one
/// query (see [`execute_all`]), on PostgreSQL one by one.
struct Statements<'a> {
    backend: Backend,
    statements: Vec<Sql<'a>>,
}

impl<'a> Statements<'a> {
    fn new(backend: Backend) -> Self {
        Self {
            backend,
            statements: Vec::new(),
        }
    }

    /// Adds `rows` to `table`, cut into chunks of 64, 32, .. rows.
    fn add<T, R: IntoIterator<Item = Value<'a>>>(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &'a [T],
        values: impl Fn(&'a T) -> R,
    ) {
        self.add_then(table, columns, rows, "", values);
    }

    /// As [`Statements::add`], each insert ending with `then` (an `ON CONFLICT` clause).
    fn add_then<T, R: IntoIterator<Item = Value<'a>>>(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &'a [T],
        then: &str,
        values: impl Fn(&'a T) -> R,
    ) {
        let columns = columns.join(", ");
        let mut rest = rows;
        for size in chunk_sizes(rows.len()) {
            let (chunk, after) = rest.split_at(size);
            rest = after;
            let mut sql = Sql::multi_row(self.backend);
            sql.push("INSERT INTO ")
                .push(table)
                .push(" (")
                .push(&columns)
                .push(") VALUES ")
                .values_rows(chunk.iter().map(&values))
                .push(then);
            self.statements.push(sql);
        }
    }

    /// Adds one statement.
    fn push(&mut self, sql: Sql<'a>) {
        self.statements.push(sql);
    }

    async fn run(self, conn: &mut Conn) -> sqlx::Result<()> {
        execute_all(conn, self.statements).await
    }
}

/// A text value (NULL for `None`), borrowed from the rows written.
fn text(value: Option<&str>) -> Value<'_> {
    Value::from(value)
}

/// An integer value (NULL for `None`).
fn int(value: Option<i64>) -> Value<'static> {
    Value::Int(value)
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
pub async fn write(conn: &mut Conn, backend: Backend, rows: &Rows<'_>) -> sqlx::Result<()> {
    let search: Vec<String> = rows
        .leads
        .iter()
        .map(|l| {
            search_text(
                l.lead.name.as_str(),
                l.lead.email.as_ref().map(EmailAddress::as_str),
                l.lead.company.as_ref().map(Company::as_str),
            )
        })
        .collect();
    let leads: Vec<(&LeadRow, &str)> = rows
        .leads
        .iter()
        .zip(search.iter().map(String::as_str))
        .collect();
    let mut statements = Statements::new(backend);
    add_leads(&mut statements, &leads);
    add_events(&mut statements, rows.events);
    add_notifications(&mut statements, rows.notifications);
    add_to_members(&mut statements, rows.members);
    for &(account_id, next) in rows.next_seqs {
        let mut sql = Sql::multi_row(backend);
        sql.push("UPDATE routing_settings SET next_seq = ")
            .push_bind(next)
            .push(" WHERE account_id = ")
            .push_bind(account_id);
        statements.push(sql);
    }
    add_hits(&mut statements, rows.hits);
    statements.run(conn).await
}

fn add_leads<'a>(statements: &mut Statements<'a>, rows: &'a [(&'a LeadRow, &'a str)]) {
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
        "country",
        "company_size",
        "routing_rotation_id",
        "routing_rotation_name",
        "routing_rule_id",
        "routing_rule_name",
    ];
    statements.add("leads", COLUMNS, rows, |(l, search)| {
        let route =
            |part: fn(&Routing) -> Option<&(String, String)>| l.routing.as_ref().and_then(part);
        [
            text(Some(&l.id)),
            text(Some(&l.account_id)),
            text(Some(l.lead.name.as_str())),
            text(l.lead.email.as_ref().map(EmailAddress::as_str)),
            text(l.lead.phone.as_ref().map(Phone::as_str)),
            text(l.lead.company.as_ref().map(Company::as_str)),
            text(l.lead.notes.as_deref()),
            text(Some(LeadStatus::Open.as_str())),
            text(Some(l.lead.source.as_str())),
            text(l.owner_id.as_deref()),
            text(l.created_by.as_deref()),
            int(Some(l.created_at)),
            int(Some(l.created_at)),
            text(l.routing.as_ref().map(|r| r.strategy.as_str())),
            int(l.routing.as_ref().map(|r| r.seq)),
            text(l.routing.as_ref().map(|r| r.reason.as_str())),
            text(Some(search)),
            text(l.receipt.as_deref()),
            text(l.lead.country.as_deref()),
            int(l.lead.company_size),
            text(route(|r| r.rotation.as_ref()).map(|(id, _)| id.as_str())),
            text(route(|r| r.rotation.as_ref()).map(|(_, name)| name.as_str())),
            text(route(|r| r.rule.as_ref()).map(|(id, _)| id.as_str())),
            text(route(|r| r.rule.as_ref()).map(|(_, name)| name.as_str())),
        ]
    });
}

fn add_events<'a>(statements: &mut Statements<'a>, rows: &'a [EventRow]) {
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
        [
            text(Some(&e.account_id)),
            text(Some(&e.lead_id)),
            int(Some(e.at)),
            text(e.actor_id.as_deref()),
            text(Some(e.kind.as_str())),
            text(e.to_owner.as_deref()),
            text(Some(&e.detail)),
        ]
    });
}

fn add_notifications<'a>(statements: &mut Statements<'a>, rows: &'a [NotificationRow]) {
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
        [
            text(Some(&n.id)),
            text(Some(&n.account_id)),
            text(Some(&n.user_id)),
            text(Some(n.kind.as_str())),
            text(Some(&n.lead_id)),
            text(Some(&n.text)),
            int(Some(n.created_at)),
        ]
    });
}

/// Adds hits to rate-limit windows, creating the windows that have none yet. The windows
/// are guarded by their account's routing lock, which the transaction holds.
fn add_hits<'a>(statements: &mut Statements<'a>, hits: &'a [(&'a (String, String, i64), i64)]) {
    statements.add_then(
        "rate_limits",
        &["account_id", "bucket", "window_start", "hits"],
        hits,
        " ON CONFLICT (account_id, bucket, window_start) \
         DO UPDATE SET hits = rate_limits.hits + excluded.hits",
        |((account_id, bucket, window_start), added)| {
            [
                text(Some(account_id)),
                text(Some(bucket)),
                int(Some(*window_start)),
                int(Some(*added)),
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
    const SET: &str = "UPDATE users SET open_leads = open_leads + ";
    let values = |((account_id, user_id), m): &'a (&'a (String, String), &'a MemberDelta)| {
        [
            text(Some(account_id.as_str())),
            text(Some(user_id.as_str())),
            int(Some(m.open)),
            int(Some(m.unread)),
            int(m.last_routed_seq),
        ]
    };
    match statements.backend {
        Backend::Sqlite => {
            for chunk in members.chunks(CHUNK) {
                let mut sql = Sql::multi_row(Backend::Sqlite);
                sql.push(SET)
                    .push(
                        "v.column3, unread_notifications = unread_notifications + v.column4, \
                         last_routed_seq = COALESCE(v.column5, last_routed_seq) \
                         FROM (VALUES ",
                    )
                    .values_rows(chunk.iter().map(values))
                    .push(") AS v WHERE users.account_id = v.column1 AND users.id = v.column2");
                statements.push(sql);
            }
        }
        Backend::Postgres => {
            for member in members {
                let mut sql = Sql::new();
                let [account, user, open, unread, seq] = values(member).map(|v| sql.bind(v));
                sql.push(&format!(
                    "{SET}{open}, unread_notifications = unread_notifications + {unread}, \
                     last_routed_seq = COALESCE({seq}, last_routed_seq) \
                     WHERE account_id = {account} AND id = {user}"
                ));
                statements.push(sql);
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

    #[tokio::test]
    async fn inserts_of_more_rows_than_a_chunk_into_two_tables_are_written_whole() {
        let (_dir, db) = super::super::temp_sqlite().await;
        let mut conn = db.conn().await.unwrap();
        sqlx::query("CREATE TABLE t (a TEXT, b INTEGER); CREATE TABLE u (c INTEGER)")
            .execute(&mut *conn)
            .await
            .unwrap();
        let rows: Vec<i64> = (0..(CHUNK as i64 * 2 + 5)).collect();
        for backend in [Backend::Sqlite, Backend::Postgres] {
            if backend == Backend::Postgres {
                // SQLite reads `$n` too: the PostgreSQL path, one statement at a time.
                sqlx::query("DELETE FROM t; DELETE FROM u")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
            let mut inserts = Statements::new(backend);
            inserts.add("t", &["a", "b"], &rows, |n| {
                [text(Some("x")), int(Some(*n))]
            });
            inserts.add("u", &["c"], &rows[..3], |n| [int(Some(-n))]);
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
    async fn counters_and_routing_seqs_are_written_on_both_backends() {
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
        for backend in [Backend::Sqlite, Backend::Postgres] {
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
            write(&mut conn, backend, &rows).await.unwrap();
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
    async fn window_hits_add_to_stored_windows_and_create_new_ones_on_both_backends() {
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
        for backend in [Backend::Sqlite, Backend::Postgres] {
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
            write(&mut conn, backend, &rows).await.unwrap();
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
