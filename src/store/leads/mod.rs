//! Leads, their history events and the members' open-lead counters. The leads list (its
//! planner: which index a page walks, or the trigram index) is `list`; the trigram index
//! behind a search is `search`, which `list` uses.

use crate::domain::HistoryKind;
use crate::domain::rules::Facts;
use sqlx::FromRow;
use sqlx::any::AnyRow;

use super::Conn;
use crate::domain::lead::{LeadSource, LeadStatus};

/// (id, name) of a member a lead points at.
pub type Person = (String, String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    pub strategy: String,
    pub seq: i64,
    pub reason: String,
    /// (id, name) of the rotation and the rule, as they were at the decision; no rotation
    /// means the default one (leads routed before rules existed).
    pub rotation: Option<Person>,
    pub rule: Option<Person>,
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
    pub country: Option<String>,
    pub company_size: Option<i64>,
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

/// The columns `LeadRecord` reads (lead `l`, owner `o`, creator `c`).
macro_rules! lead_columns {
    () => {
        " l.id, l.account_id, l.name, l.email, l.phone, l.company, l.notes, l.status, \
         l.source, l.owner_id, o.name AS owner_name, l.created_by, c.name AS creator_name, \
         l.created_at, l.updated_at, l.routing_strategy, l.routing_seq, l.routing_reason, \
         l.country, l.company_size, l.routing_rotation_id, l.routing_rotation_name, \
         l.routing_rule_id, l.routing_rule_name "
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

pub mod list;
pub mod search;

pub use list::{ListFilter, OwnerFilter, list};

/// A lead as `lead_select!` reads it: people and routing are several columns each.
#[derive(sqlx::FromRow)]
struct LeadRecord {
    id: String,
    account_id: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    notes: Option<String>,
    #[sqlx(try_from = "String")]
    status: LeadStatus,
    #[sqlx(try_from = "String")]
    source: LeadSource,
    owner_id: Option<String>,
    owner_name: Option<String>,
    created_by: Option<String>,
    creator_name: Option<String>,
    created_at: i64,
    updated_at: i64,
    routing_strategy: Option<String>,
    routing_seq: Option<i64>,
    routing_reason: Option<String>,
    country: Option<String>,
    company_size: Option<i64>,
    routing_rotation_id: Option<String>,
    routing_rotation_name: Option<String>,
    routing_rule_id: Option<String>,
    routing_rule_name: Option<String>,
    /// Only single-lead reads select the receipt; lists leave it out (it can be large).
    #[sqlx(default)]
    routing_receipt: Option<String>,
}

impl From<LeadRecord> for Lead {
    fn from(r: LeadRecord) -> Self {
        Lead {
            id: r.id,
            account_id: r.account_id,
            name: r.name,
            email: r.email,
            phone: r.phone,
            company: r.company,
            notes: r.notes,
            country: r.country,
            company_size: r.company_size,
            status: r.status,
            source: r.source,
            owner: r.owner_id.zip(r.owner_name),
            created_by: r.created_by.zip(r.creator_name),
            created_at: r.created_at,
            updated_at: r.updated_at,
            routing: match (r.routing_strategy, r.routing_seq, r.routing_reason) {
                (Some(strategy), Some(seq), Some(reason)) => Some(Routing {
                    strategy,
                    seq,
                    reason,
                    rotation: r.routing_rotation_id.zip(r.routing_rotation_name),
                    rule: r.routing_rule_id.zip(r.routing_rule_name),
                }),
                _ => None,
            },
            receipt_json: r.routing_receipt,
        }
    }
}

/// A lead from a row of `lead_select!` run by [`crate::store::sql::bound`] (the list).
fn from_row(r: &AnyRow) -> sqlx::Result<Lead> {
    LeadRecord::from_row(r).map(Lead::from)
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
    let row: Option<LeadRecord> = sqlx::query_as(concat!(
        lead_select!("l.routing_receipt,"),
        "WHERE l.account_id = $1 AND l.id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Lead::from))
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
         status = $6, search_text = $7, updated_at = $8, country = $9, company_size = $10 \
         WHERE account_id = $11 AND id = $12",
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
    .bind(&lead.country)
    .bind(lead.company_size)
    .bind(&lead.account_id)
    .bind(&lead.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// What the routing rules read of each lead created since `since` that came in with no
/// owner (its `created` event names none), in arrival order: the backtest's input.
pub async fn arrived_unowned(
    conn: &mut Conn,
    account_id: &str,
    since: i64,
) -> sqlx::Result<Vec<Facts>> {
    #[derive(sqlx::FromRow)]
    struct Arrival {
        #[sqlx(try_from = "String")]
        source: LeadSource,
        name: String,
        email: Option<String>,
        company: Option<String>,
        country: Option<String>,
        company_size: Option<i64>,
    }
    let rows: Vec<Arrival> = sqlx::query_as(
        "SELECT l.source, l.name, l.email, l.company, l.country, l.company_size \
         FROM lead_events e JOIN leads l ON l.account_id = e.account_id AND l.id = e.lead_id \
         WHERE e.account_id = $1 AND e.kind = $2 AND e.at >= $3 AND e.to_owner_id IS NULL \
         ORDER BY e.at, e.id",
    )
    .bind(account_id)
    .bind(HistoryKind::Created.as_str())
    .bind(since)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|a| {
            Facts::new(
                a.source,
                &a.name,
                a.email.as_deref(),
                a.company.as_deref(),
                a.country.as_deref(),
                a.company_size,
            )
        })
        .collect())
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

/// An event as stored: each of its three people is two columns.
#[derive(sqlx::FromRow)]
struct EventRecord {
    at: i64,
    #[sqlx(try_from = "String")]
    kind: HistoryKind,
    detail: String,
    actor_id: Option<String>,
    actor_name: Option<String>,
    from_owner_id: Option<String>,
    from_name: Option<String>,
    to_owner_id: Option<String>,
    to_name: Option<String>,
}

impl From<EventRecord> for Event {
    fn from(r: EventRecord) -> Self {
        Event {
            at: r.at,
            actor: r.actor_id.zip(r.actor_name),
            kind: r.kind,
            from_owner: r.from_owner_id.zip(r.from_name),
            to_owner: r.to_owner_id.zip(r.to_name),
            detail: r.detail,
        }
    }
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
    let rows: Vec<EventRecord> = sqlx::query_as(EVENTS_SQL)
        .bind(account_id)
        .bind(lead_id)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(Event::from).collect())
}

#[cfg(test)]
mod tests {
    use super::EVENTS_SQL;

    /// A lead's history is found through its lead (and sorted, a handful of rows), never by
    /// walking the account's events in id order.
    #[tokio::test]
    async fn a_leads_history_reads_its_own_events() {
        let plan = crate::store::sqlite_plan(EVENTS_SQL).await;
        assert!(
            plan[0].starts_with(
                "SEARCH e USING INDEX lead_events_lead_kind (account_id=? AND lead_id=?)"
            ),
            "{plan:?}"
        );
    }
}
