//! Leads, their history events and the members' open-lead counters.

use crate::domain::HistoryKind;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::search::{Trigrams, fts_query, measure_commonness, rare_before, searchable};
use super::{Backend, Conn};
use crate::domain::lead::{LeadSource, LeadStatus};

/// (id, name) of a member a lead points at.
pub type Person = (String, String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    pub strategy: String,
    pub seq: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub notes: Option<String>,
    pub status: LeadStatus,
    pub source: LeadSource,
    pub owner: Option<Person>,
    pub created_by: Option<Person>,
    pub created_at: i64,
    pub updated_at: i64,
    pub routing: Option<Routing>,
    /// The full routing receipt (JSON), for "Why this owner?".
    pub receipt_json: Option<String>,
}

impl Lead {
    pub fn owner_id(&self) -> Option<&str> {
        self.owner.as_ref().map(|(id, _)| id.as_str())
    }
}

/// The columns `from_row` reads (lead `l`, owner `o`, creator `c`).
macro_rules! lead_columns {
    () => {
        " l.id, l.account_id, l.name, l.email, l.phone, l.company, l.notes, l.status, \
         l.source, l.owner_id, o.name AS owner_name, l.created_by, c.name AS creator_name, \
         l.created_at, l.updated_at, l.routing_strategy, l.routing_seq, l.routing_reason "
    };
}

/// The owner and creator of lead `l`, for `lead_columns!`.
macro_rules! lead_people {
    () => {
        "LEFT JOIN users o ON o.id = l.owner_id AND o.account_id = l.account_id \
         LEFT JOIN users c ON c.id = l.created_by AND c.account_id = l.account_id "
    };
}

macro_rules! lead_select {
    () => {
        lead_select!("")
    };
    ($extra:literal) => {
        concat!(
            "SELECT ",
            $extra,
            lead_columns!(),
            "FROM leads l ",
            lead_people!()
        )
    };
}

fn from_row(r: &AnyRow) -> sqlx::Result<Lead> {
    let decode = |what: &str, v: String| sqlx::Error::Decode(format!("{what} {v}").into());
    let status: String = r.try_get("status")?;
    let source: String = r.try_get("source")?;
    let person = |id: &str, name: &str| -> sqlx::Result<Option<Person>> {
        let id: Option<String> = r.try_get(id)?;
        let name: Option<String> = r.try_get(name)?;
        Ok(id.zip(name))
    };
    let strategy: Option<String> = r.try_get("routing_strategy")?;
    let seq: Option<i64> = r.try_get("routing_seq")?;
    let reason: Option<String> = r.try_get("routing_reason")?;
    Ok(Lead {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        phone: r.try_get("phone")?,
        company: r.try_get("company")?,
        notes: r.try_get("notes")?,
        status: LeadStatus::parse(&status).ok_or_else(|| decode("status", status.clone()))?,
        source: LeadSource::parse(&source).ok_or_else(|| decode("source", source.clone()))?,
        owner: person("owner_id", "owner_name")?,
        created_by: person("created_by", "creator_name")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        routing: match (strategy, seq, reason) {
            (Some(strategy), Some(seq), Some(reason)) => Some(Routing {
                strategy,
                seq,
                reason,
            }),
            _ => None,
        },
        // Only single-lead reads select the receipt; lists leave it out (it can be large).
        receipt_json: r.try_get("routing_receipt").unwrap_or(None),
    })
}

pub(super) fn search_text(name: &str, email: Option<&str>, company: Option<&str>) -> String {
    [Some(name), email, company]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

pub async fn get(conn: &mut Conn, account_id: &str, id: &str) -> sqlx::Result<Option<Lead>> {
    let row = sqlx::query(concat!(
        lead_select!("l.routing_receipt,"),
        "WHERE l.account_id = $1 AND l.id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OwnerFilter {
    #[default]
    Anyone,
    Nobody,
    Member(String),
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub owner: OwnerFilter,
    pub status: Option<LeadStatus>,
    pub source: Option<LeadSource>,
    /// Lower-cased text to find in name, email or company (a substring, as `LIKE '%q%'`).
    pub q: Option<String>,
    /// Keyset position: only leads older than this (created_at, id).
    pub before: Option<(i64, String)>,
    pub limit: i64,
}

/// How `list` finds a page: the statement `list_sql` builds for a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListPlan {
    /// Walk one index newest first, test each lead against the filters and stop after
    /// `limit` matches: the plan for every list without a search, and for a search whose
    /// matches are dense among the newest leads.
    Walk,
    /// How many of the first `PROBE_ROWS` leads the walk would visit match `q` (`hits`, up
    /// to `limit`: it stops there) and, if fewer than `limit` do, how many leads the walk
    /// would visit (`visited`, up to `PROBE_ROWS`): decides between `Walk` and `Search` on
    /// SQLite.
    Probe,
    /// Find `q` through the trigram index: the plan for a term too rare to meet soon on a
    /// walk. On SQLite the FTS5 index hands out the leads holding the chosen trigrams,
    /// newest first, and the page is cut from them; on PostgreSQL the planner chooses
    /// between the GIN index and the walk (and the trigrams are its own business).
    Search(Trigrams),
}

/// How many leads a search walks before it asks the trigram index instead: a term found
/// `limit` times among them is cheaper to find by walking on.
pub const PROBE_ROWS: i64 = 1000;

/// A value bound to a `list_sql` statement, for `$1`, `$2`, ... in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Int(i64),
}

/// The SQL of one list plan and its arguments. One builder for every shape, so each shape
/// gets exactly one index to walk, chosen here rather than left to the planner:
/// - the owner index (account, owner, created_at, id) when an owner or "nobody" is asked for,
/// - else the source index when a source is asked for, else the status index, else
///   leads_newest (account, created_at, id);
/// - the other filters are written as `(column || '') = $n`, which no index serves, so
///   neither SQLite (without statistics) nor PostgreSQL can pick a worse index for them;
/// - the cursor is a row value, `(created_at, id) < ($a, $b)`: a range on the walked
///   index, so a page deep in the chain starts where it should instead of counting there.
///
/// `Search` runs on the trigram index: on SQLite the FTS5 table leads_search, whose rowid
/// is `created_at << 21 | (lead rowid & 0x1FFFFF)` (migration 0009), read newest first;
/// on PostgreSQL the pg_trgm GIN index on search_text, when the planner judges it cheaper.
pub fn list_sql(
    backend: Backend,
    plan: ListPlan,
    account_id: &str,
    filter: &ListFilter,
) -> (String, Vec<Arg>) {
    let mut args = vec![Arg::Text(account_id.to_owned())];
    let mut slot = |arg: Arg| {
        args.push(arg);
        format!("${}", args.len())
    };
    // Which index the walk takes; the filters it does not cover are kept off the others.
    let by_owner = filter.owner != OwnerFilter::Anyone;
    let by_source = !by_owner && filter.source.is_some();
    let by_status = !by_owner && !by_source && filter.status.is_some();
    let mut filters = String::new();
    match &filter.owner {
        OwnerFilter::Anyone => {}
        OwnerFilter::Nobody => filters.push_str(" AND l.owner_id IS NULL"),
        OwnerFilter::Member(id) => {
            let s = slot(Arg::Text(id.clone()));
            filters.push_str(&format!(" AND l.owner_id = {s}"));
        }
    }
    let equals = [
        ("source", filter.source.map(LeadSource::as_str), by_source),
        ("status", filter.status.map(LeadStatus::as_str), by_status),
    ];
    for (column, value, walked) in equals {
        if let Some(value) = value {
            let s = slot(Arg::Text(value.to_owned()));
            if walked {
                filters.push_str(&format!(" AND l.{column} = {s}"));
            } else {
                filters.push_str(&format!(" AND (l.{column} || '') = {s}"));
            }
        }
    }
    let mut cursor = String::new();
    let mut cursor_at = None;
    if let Some((at, id)) = &filter.before {
        let (a, b) = (slot(Arg::Int(*at)), slot(Arg::Text(id.clone())));
        cursor = format!(" AND (l.created_at, l.id) < ({a}, {b})");
        cursor_at = Some((a, b));
    }
    let q = filter.q.as_deref().filter(|q| !q.is_empty());
    let search = matches!(plan, ListPlan::Search(_)) && q.is_some_and(searchable);
    // The pattern that decides what matches q, in every plan: `LIKE '%q%'` with q's
    // wildcards escaped. The walk writes it as `(search_text || '') LIKE`, which no index
    // serves: a walk runs when walking is right (q too short for a trigram, or found common
    // by the probe), and PostgreSQL must not trade it for a scan of the whole trigram index.
    let pattern = q.map(|q| slot(Arg::Text(like_pattern(q))));
    let like = pattern
        .as_ref()
        .map(|p| format!(" AND (l.search_text || '') LIKE {p} ESCAPE '\\'"))
        .unwrap_or_default();
    let order = " ORDER BY l.created_at DESC, l.id DESC";
    let sql = match plan {
        ListPlan::Probe => {
            let rows = slot(Arg::Int(PROBE_ROWS));
            let limit = slot(Arg::Int(filter.limit));
            let test = like.strip_prefix(" AND ").unwrap_or("1 = 1");
            let walk = format!(
                "FROM leads l WHERE l.account_id = $1{filters}{cursor}{order} LIMIT {rows}"
            );
            // Stops at the `limit`-th match; only when there are fewer does it count the
            // leads the walk would visit (with no LIKE, from the index where it can).
            format!(
                "SELECT x.hits AS hits, CASE WHEN x.hits < {limit} \
                 THEN (SELECT count(*) FROM (SELECT 1 AS one {walk}) v) ELSE {rows} END AS visited \
                 FROM (SELECT count(*) AS hits FROM (SELECT 1 AS one FROM \
                 (SELECT CASE WHEN {test} THEN 1 ELSE 0 END AS hit {walk}) w \
                 WHERE w.hit = 1 LIMIT {limit}) y) x"
            )
        }
        ListPlan::Search(picked) if search && backend == Backend::Sqlite => {
            let term = slot(Arg::Text(fts_query(q.unwrap_or_default(), picked)));
            let limit = slot(Arg::Int(filter.limit));
            // The cursor bounds the index entries (at or below its millisecond); the row
            // value, written so that no index takes it for a range to walk, decides ties.
            let (below, cursor) = match &cursor_at {
                Some((a, b)) => (
                    format!(" AND f.rowid < (({a} + 1) << 21)"),
                    format!(" AND (+l.created_at, +l.id) < ({a}, {b})"),
                ),
                None => (String::new(), String::new()),
            };
            // Each entry leads back to its lead through (account_id, created_at) and the low
            // bits of the lead's rowid; the LIKE keeps the leads that hold q's trigrams in
            // another order out.
            let matches = |from: &str| {
                format!(
                    "SELECT l.rowid AS r, l.created_at AS at \
                     FROM leads_search f CROSS JOIN leads l \
                     WHERE f.leads_search MATCH {term}{from}{below} AND l.account_id = $1 \
                     AND l.created_at = (f.rowid >> 21) \
                     AND (l.rowid & 2097151) = (f.rowid & 2097151){filters}{like}{cursor}"
                )
            };
            // The first `limit` matches in index order (newest millisecond first) hold every
            // match newer than the millisecond they reach back to, and some of that
            // millisecond's; with the rest of that millisecond's (`edge`) they hold the page,
            // which is cut from them in (created_at, id) order.
            let first = matches("");
            let edge = matches(
                " AND f.rowid >= ((SELECT min(h.at) FROM hits h) << 21) \
                 AND f.rowid < (((SELECT min(h.at) FROM hits h) + 1) << 21)",
            );
            format!(
                concat!(
                    "WITH hits AS MATERIALIZED ({first} ORDER BY f.rowid DESC LIMIT {limit}), \
                     edge AS ({edge}) SELECT",
                    lead_columns!(),
                    "FROM leads l ",
                    lead_people!(),
                    "WHERE l.rowid IN (SELECT r FROM hits UNION SELECT r FROM edge){order} \
                     LIMIT {limit}"
                ),
                first = first,
                edge = edge,
                order = order,
                limit = limit
            )
        }
        ListPlan::Search(_) if search => {
            // PostgreSQL: the plain LIKE, which the pg_trgm GIN index serves. `list` runs it
            // planned for its own pattern, and PostgreSQL's statistics of search_text tell
            // a rare term (the trigram index, then a sort) from a common one (the walk).
            let pattern = pattern.unwrap_or_default();
            let limit = slot(Arg::Int(filter.limit));
            format!(
                concat!(
                    lead_select!(),
                    "WHERE l.account_id = $1{filters} AND l.search_text LIKE {pattern} \
                     ESCAPE '\\'{cursor}{order} LIMIT {limit}"
                ),
                filters = filters,
                pattern = pattern,
                cursor = cursor,
                order = order,
                limit = limit
            )
        }
        ListPlan::Walk | ListPlan::Search(_) => {
            let limit = slot(Arg::Int(filter.limit));
            format!(
                concat!(
                    lead_select!(),
                    "WHERE l.account_id = $1{filters}{like}{cursor}{order} LIMIT {limit}"
                ),
                filters = filters,
                like = like,
                cursor = cursor,
                order = order,
                limit = limit
            )
        }
    };
    (sql, args)
}

/// `%q%` with LIKE's wildcards and escape character taken literally.
fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The created_at of an account's `$2 + 1`-th newest lead: where the probe's walk of the
/// newest `PROBE_ROWS` leads would end (read from leads_newest alone).
pub const PROBE_EDGE_SQL: &str = "SELECT created_at FROM leads WHERE account_id = $1 \
     ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET $2";

/// A `list_sql` statement with its arguments bound in order.
pub fn bound(
    sql: String,
    args: Vec<Arg>,
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    args.into_iter()
        .fold(sqlx::query(AssertSqlSafe(sql)), |query, arg| match arg {
            Arg::Text(text) => query.bind(text),
            Arg::Int(n) => query.bind(n),
        })
}

/// Leads newest first, `filter.limit` at most. Without a search (or with a q of fewer than
/// three characters, which no trigram can narrow) this is one walk of the index `list_sql`
/// picks.
///
/// A search on SQLite first probes the newest `PROBE_ROWS` leads of that walk: if they
/// hold a page of matches (or are all there is), walking is the cheapest way; otherwise the
/// term is rare among recent leads and the FTS5 index finds it, newest first. A search on
/// PostgreSQL is one statement planned for its own pattern (not a prepared statement's
/// generic plan, which would have to guess how common every pattern is), so the planner's
/// statistics choose between the trigram index and the walk.
pub async fn list(
    conn: &mut Conn,
    account_id: &str,
    filter: &ListFilter,
) -> sqlx::Result<Vec<Lead>> {
    let backend = if conn.backend_name() == "PostgreSQL" {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let search = filter.q.as_deref().is_some_and(searchable);
    let q = filter.q.as_deref().unwrap_or_default();
    let plan = match backend {
        Backend::Sqlite if search => {
            // A search for q alone (no other filter, the first page) asks the index how
            // common q's trigrams are first: when that alone shows q is rare among the
            // newest leads, the probe's walk (2-3 ms at a million leads) is skipped.
            let plain = filter.owner == OwnerFilter::Anyone
                && filter.status.is_none()
                && filter.source.is_none()
                && filter.before.is_none();
            let (commonness, edge) = if plain {
                let edge: Option<i64> = sqlx::query_scalar(PROBE_EDGE_SQL)
                    .bind(account_id)
                    .bind(PROBE_ROWS - 1)
                    .fetch_optional(&mut *conn)
                    .await?;
                (Some(measure_commonness(conn, q).await?), edge)
            } else {
                (None, None)
            };
            let rare = match &commonness {
                Some(commonness) if rare_before(commonness, edge) => true,
                _ => {
                    let (sql, args) = list_sql(backend, ListPlan::Probe, account_id, filter);
                    let probe = bound(sql, args).fetch_one(&mut *conn).await?;
                    let visited: i64 = probe.try_get("visited")?;
                    let hits: i64 = probe.try_get("hits")?;
                    visited == PROBE_ROWS && hits < filter.limit
                }
            };
            if !rare {
                ListPlan::Walk
            } else {
                let commonness = match commonness {
                    Some(commonness) => commonness,
                    None => measure_commonness(conn, q).await?,
                };
                ListPlan::Search(Trigrams::rarest(q, &commonness))
            }
        }
        Backend::Postgres if search => ListPlan::Search(Trigrams::spread(q)),
        _ => ListPlan::Walk,
    };
    let (sql, args) = list_sql(backend, plan, account_id, filter);
    let query = bound(sql, args).persistent(!(backend == Backend::Postgres && search));
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// Sets the owner only if it is still `expected` (compare-and-set); false when it is not.
pub async fn set_owner_if(
    conn: &mut Conn,
    account_id: &str,
    id: &str,
    expected: Option<&str>,
    new_owner: Option<&str>,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE leads SET owner_id = $1, updated_at = $2 \
         WHERE account_id = $3 AND id = $4 \
         AND (owner_id = $5 OR (owner_id IS NULL AND $5 IS NULL))",
    )
    .bind(new_owner)
    .bind(now)
    .bind(account_id)
    .bind(id)
    .bind(expected)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes a lead's editable fields and status as given.
pub async fn update(conn: &mut Conn, lead: &Lead, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE leads SET name = $1, email = $2, phone = $3, company = $4, notes = $5, \
         status = $6, search_text = $7, updated_at = $8 WHERE account_id = $9 AND id = $10",
    )
    .bind(&lead.name)
    .bind(&lead.email)
    .bind(&lead.phone)
    .bind(&lead.company)
    .bind(&lead.notes)
    .bind(lead.status.as_str())
    .bind(search_text(
        &lead.name,
        lead.email.as_deref(),
        lead.company.as_deref(),
    ))
    .bind(now)
    .bind(&lead.account_id)
    .bind(&lead.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// How many leads (of any status) a member owns.
pub async fn count_owned(conn: &mut Conn, account_id: &str, user_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM leads WHERE account_id = $1 AND owner_id = $2")
        .bind(account_id)
        .bind(user_id)
        .fetch_one(conn)
        .await
}

pub struct NewEvent<'a> {
    pub account_id: &'a str,
    pub lead_id: &'a str,
    pub actor_id: Option<&'a str>,
    pub kind: HistoryKind,
    pub from_owner: Option<&'a str>,
    pub to_owner: Option<&'a str>,
    pub detail: &'a str,
}

pub async fn add_event(conn: &mut Conn, e: &NewEvent<'_>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO lead_events (account_id, lead_id, at, actor_id, kind, from_owner_id, \
         to_owner_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.account_id)
    .bind(e.lead_id)
    .bind(now)
    .bind(e.actor_id)
    .bind(e.kind.as_str())
    .bind(e.from_owner)
    .bind(e.to_owner)
    .bind(e.detail)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Event {
    pub at: i64,
    pub actor: Option<Person>,
    pub kind: HistoryKind,
    pub from_owner: Option<Person>,
    pub to_owner: Option<Person>,
    pub detail: String,
}

const EVENTS_SQL: &str = "SELECT e.at, e.kind, e.detail, e.actor_id, a.name AS actor_name, \
     e.from_owner_id, f.name AS from_name, e.to_owner_id, t.name AS to_name \
     FROM lead_events e \
     LEFT JOIN users a ON a.id = e.actor_id AND a.account_id = e.account_id \
     LEFT JOIN users f ON f.id = e.from_owner_id AND f.account_id = e.account_id \
     LEFT JOIN users t ON t.id = e.to_owner_id AND t.account_id = e.account_id \
     WHERE e.account_id = $1 AND e.lead_id = $2 ORDER BY e.id";

/// A lead's history, oldest first.
pub async fn events(conn: &mut Conn, account_id: &str, lead_id: &str) -> sqlx::Result<Vec<Event>> {
    let rows = sqlx::query(EVENTS_SQL)
        .bind(account_id)
        .bind(lead_id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            let person = |id: &str, name: &str| -> sqlx::Result<Option<Person>> {
                let id: Option<String> = r.try_get(id)?;
                let name: Option<String> = r.try_get(name)?;
                Ok(id.zip(name))
            };
            Ok(Event {
                at: r.try_get("at")?,
                actor: person("actor_id", "actor_name")?,
                kind: {
                    let kind: String = r.try_get("kind")?;
                    HistoryKind::parse(&kind)
                        .ok_or_else(|| sqlx::Error::Decode(format!("history kind {kind}").into()))?
                },
                from_owner: person("from_owner_id", "from_name")?,
                to_owner: person("to_owner_id", "to_name")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::{EVENTS_SQL, like_pattern};

    /// A lead's history is found through its lead (and sorted, a handful of rows), never by
    /// walking the account's events in id order.
    #[tokio::test]
    async fn a_leads_history_reads_its_own_events() {
        let (_dir, db) = crate::store::temp_sqlite().await;
        db.migrate().await.unwrap();
        let mut conn = db.conn().await.unwrap();
        let plan: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "EXPLAIN QUERY PLAN {EVENTS_SQL}"
        )))
        .bind("a")
        .bind("l")
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect();
        assert!(
            plan[0].starts_with(
                "SEARCH e USING INDEX lead_events_lead_kind (account_id=? AND lead_id=?)"
            ),
            "{plan:?}"
        );
    }

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(like_pattern(r"1%_\"), r"%1\%\_\\%");
    }
}
