//! The leads list: which index a page walks, or whether a search asks the trigram index
//! (`search`) instead, and the statement of each plan.

use sqlx::FromRow;

use super::search::{Trigrams, fts_query, measure_commonness, rare_before, searchable};
use super::{Lead, from_row};
use crate::domain::lead::{LeadSource, LeadStatus};
use crate::store::sql::{Sql, Value, bound};
use crate::store::{Backend, Conn};

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

/// The SQL of one list plan and its values. One planner for every shape, so each shape
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
) -> (String, Vec<Value<'static>>) {
    // The filters, cursor and pattern are written once and read by several parts of a
    // statement (the probe walks twice), so each value is bound first and its numbered
    // placeholder written wherever it is needed.
    let mut sql = Sql::new();
    let account = sql.bind(account_id.to_owned());
    // Which index the walk takes; the filters it does not cover are kept off the others.
    let by_owner = filter.owner != OwnerFilter::Anyone;
    let by_source = !by_owner && filter.source.is_some();
    let by_status = !by_owner && !by_source && filter.status.is_some();
    let mut filters = String::new();
    match &filter.owner {
        OwnerFilter::Anyone => {}
        OwnerFilter::Nobody => filters.push_str(" AND l.owner_id IS NULL"),
        OwnerFilter::Member(id) => {
            let s = sql.bind(id.clone());
            filters.push_str(&format!(" AND l.owner_id = {s}"));
        }
    }
    let equals = [
        ("source", filter.source.map(LeadSource::as_str), by_source),
        ("status", filter.status.map(LeadStatus::as_str), by_status),
    ];
    for (column, value, walked) in equals {
        if let Some(value) = value {
            let s = sql.bind(value);
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
        let (a, b) = (sql.bind(*at), sql.bind(id.clone()));
        cursor = format!(" AND (l.created_at, l.id) < ({a}, {b})");
        cursor_at = Some((a, b));
    }
    let q = filter.q.as_deref().filter(|q| !q.is_empty());
    let search = matches!(plan, ListPlan::Search(_)) && q.is_some_and(searchable);
    // The pattern that decides what matches q, in every plan: `LIKE '%q%'` with q's
    // wildcards escaped. The walk writes it as `(search_text || '') LIKE`, which no index
    // serves: a walk runs when walking is right (q too short for a trigram, or found common
    // by the probe), and PostgreSQL must not trade it for a scan of the whole trigram index.
    let pattern = q.map(|q| sql.bind(like_pattern(q)));
    let like = pattern
        .as_ref()
        .map(|p| format!(" AND (l.search_text || '') LIKE {p} ESCAPE '\\'"))
        .unwrap_or_default();
    let order = " ORDER BY l.created_at DESC, l.id DESC";
    let text = match plan {
        ListPlan::Probe => {
            let rows = sql.bind(PROBE_ROWS);
            let limit = sql.bind(filter.limit);
            let test = like.strip_prefix(" AND ").unwrap_or("1 = 1");
            let walk = format!(
                "FROM leads l WHERE l.account_id = {account}{filters}{cursor}{order} LIMIT {rows}"
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
            let term = sql.bind(fts_query(q.unwrap_or_default(), picked));
            let limit = sql.bind(filter.limit);
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
                     WHERE f.leads_search MATCH {term}{from}{below} AND l.account_id = {account} \
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
            let limit = sql.bind(filter.limit);
            format!(
                concat!(
                    lead_select!(),
                    "WHERE l.account_id = {account}{filters} AND l.search_text LIKE {pattern} \
                     ESCAPE '\\'{cursor}{order} LIMIT {limit}"
                ),
                account = account,
                filters = filters,
                pattern = pattern,
                cursor = cursor,
                order = order,
                limit = limit
            )
        }
        ListPlan::Walk | ListPlan::Search(_) => {
            let limit = sql.bind(filter.limit);
            format!(
                concat!(
                    lead_select!(),
                    "WHERE l.account_id = {account}{filters}{like}{cursor}{order} LIMIT {limit}"
                ),
                account = account,
                filters = filters,
                like = like,
                cursor = cursor,
                order = order,
                limit = limit
            )
        }
    };
    sql.push(&text);
    sql.into_parts()
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
    backend: Backend,
    account_id: &str,
    filter: &ListFilter,
) -> sqlx::Result<Vec<Lead>> {
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
                    #[derive(sqlx::FromRow)]
                    struct Probe {
                        visited: i64,
                        hits: i64,
                    }
                    let probe = bound(sql, args).fetch_one(&mut *conn).await?;
                    let Probe { visited, hits } = Probe::from_row(&probe)?;
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

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(like_pattern(r"1%_\"), r"%1\%\_\\%");
    }
}
