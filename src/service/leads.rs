//! Leads: create, read, list, edit, and THE one path for every owner change
//! ([`change_owner`]): claim, unassign, assign (and routing, at creation).

use crate::domain::AuditAction;
use crate::domain::{HistoryKind, NotificationKind};
use serde_json::json;

use super::Actor;
use super::intake::insert_new;
use crate::domain::lead::{
    self, Change, Company, LeadChanges, LeadInput, LeadSource, LeadStatus, Phone,
};
use crate::domain::permissions::{self, Action, OwnerPick};
use crate::domain::validate::EmailAddress;
use crate::domain::validate::FieldErrors;
use crate::error::{Error, Result};
use crate::store::leads::{self, Event, Lead, ListFilter, NewEvent, OwnerFilter};
use crate::store::users::{self, Counter, User};
use crate::store::{Conn, Db, audit, now_ms};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Default, Clone)]
pub struct CreateLead {
    pub fields: LeadInput,
    pub owner_id: Option<String>,
    pub source: Option<String>,
}

#[tracing::instrument(skip_all, fields(account_id = %actor.account_id()))]
pub async fn create(db: &Db, actor: &Actor, input: CreateLead) -> Result<Lead> {
    let owner_id = input.owner_id.filter(|id| !id.trim().is_empty());
    let pick = match &owner_id {
        None => OwnerPick::Nobody,
        Some(id) if *id == actor.user.id => OwnerPick::Myself,
        Some(_) => OwnerPick::Teammate,
    };
    permissions::check(actor.user.role, Action::CreateLead(pick))?;
    let mut errors = FieldErrors::default();
    let fields = LeadChanges::parse(&input.fields, true, &mut errors);
    let source = match input.source.as_deref().map(str::trim) {
        None | Some("") => Some(LeadSource::Team),
        Some("website") => {
            errors.add("source", "website leads come only through the public form");
            None
        }
        Some(raw) => errors.check(
            "source",
            LeadSource::parse(raw).ok_or_else(|| {
                LeadSource::expected(&[LeadSource::Team, LeadSource::Assistant, LeadSource::Import])
            }),
        ),
    };
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let owner = match &owner_id {
        Some(id) => errors.check(
            "owner_id",
            eligible_owner(&mut tx, actor.account_id(), id).await?,
        ),
        None => None,
    };
    Error::check_fields(errors)?;
    let Some(lead) = source.and_then(|source| fields.into_new(source)) else {
        return Err(Error::bad_request("invalid lead"));
    };
    let (lead, _) = insert_new(
        db,
        &mut tx,
        actor.account_id(),
        Some(&actor.user),
        lead,
        owner,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(lead)
}

/// The member may own leads: in this account, active and sales-capable.
async fn eligible_owner(
    conn: &mut Conn,
    account_id: &str,
    user_id: &str,
) -> Result<Result<User, String>> {
    let found = users::get(conn, account_id, user_id).await?;
    Ok(found
        .filter(|u| u.active && u.role.is_sales_capable())
        .ok_or_else(|| "must be an active sales-capable member of the team".to_owned()))
}

pub async fn get(db: &Db, actor: &Actor, id: &str) -> Result<Lead> {
    permissions::check(actor.user.role, Action::ViewLeads)?;
    let mut conn = db.conn().await?;
    leads::get(&mut conn, actor.account_id(), id)
        .await?
        .ok_or(Error::NotFound)
}

pub async fn history(db: &Db, actor: &Actor, id: &str) -> Result<Vec<Event>> {
    permissions::check(actor.user.role, Action::ViewLeads)?;
    let mut conn = db.conn().await?;
    leads::get(&mut conn, actor.account_id(), id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(leads::events(&mut conn, actor.account_id(), id).await?)
}

/// The list's query, as the API and the page take it (all text, validated here).
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    pub owner: Option<String>,
    pub status: Option<String>,
    pub source: Option<String>,
    pub q: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

pub struct Page {
    pub leads: Vec<Lead>,
    pub next_cursor: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub async fn list(db: &Db, actor: &Actor, query: &ListQuery) -> Result<Page> {
    permissions::check(actor.user.role, Action::ViewLeads)?;
    let mut errors = FieldErrors::default();
    let owner = match nonempty(&query.owner) {
        None => OwnerFilter::Anyone,
        Some("me") => OwnerFilter::Member(actor.user.id.clone()),
        Some("none") => OwnerFilter::Nobody,
        Some(id) => OwnerFilter::Member(id.to_owned()),
    };
    let status =
        nonempty(&query.status).and_then(|s| errors.check("status", LeadStatus::parse_field(s)));
    let source =
        nonempty(&query.source).and_then(|s| errors.check("source", LeadSource::parse_field(s)));
    let limit = match nonempty(&query.limit) {
        None => Some(DEFAULT_LIMIT),
        Some(raw) => errors.check(
            "limit",
            raw.parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| format!("must be a whole number from 1 to {MAX_LIMIT}")),
        ),
    };
    let before = match nonempty(&query.cursor) {
        None => None,
        Some(raw) => errors.check(
            "cursor",
            decode_cursor(raw).ok_or_else(|| "is not a cursor this API returned".into()),
        ),
    };
    let q = nonempty(&query.q).map(str::to_lowercase);
    if q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        errors.add("q", "must be at most 200 characters");
    }
    Error::check_fields(errors)?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    let filter = ListFilter {
        owner,
        status,
        source,
        q,
        before,
        limit: limit + 1,
    };
    let mut conn = db.conn().await?;
    let mut found = leads::list(&mut conn, db.backend, actor.account_id(), &filter).await?;
    let next_cursor = if found.len() as i64 > limit {
        found.truncate(limit as usize);
        found.last().map(|l| format!("{}.{}", l.created_at, l.id))
    } else {
        None
    };
    Ok(Page {
        leads: found,
        next_cursor,
    })
}

fn decode_cursor(raw: &str) -> Option<(i64, String)> {
    let (at, id) = raw.split_once('.')?;
    let valid_id =
        !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric());
    Some((at.parse().ok()?, id.to_owned())).filter(|_| valid_id)
}

#[derive(Debug, Default, Clone)]
pub struct LeadUpdate {
    pub fields: LeadInput,
    pub status: Option<String>,
}

#[tracing::instrument(skip_all, fields(account_id = %actor.account_id(), lead_id = %id))]
pub async fn update(db: &Db, actor: &Actor, id: &str, change: LeadUpdate) -> Result<Lead> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    db.lock_lead(&mut tx, actor.account_id(), id).await?;
    let lead = leads::get(&mut tx, actor.account_id(), id)
        .await?
        .ok_or(Error::NotFound)?;
    let own = lead.owner_id() == Some(actor.user.id.as_str());
    permissions::check(actor.user.role, Action::EditLead { own })?;
    let mut errors = FieldErrors::default();
    let fields = LeadChanges::parse(&change.fields, false, &mut errors);
    let status =
        nonempty(&change.status).and_then(|s| errors.check("status", LeadStatus::parse_field(s)));
    if change
        .status
        .as_deref()
        .is_some_and(|s| s.trim().is_empty())
    {
        errors.add("status", LeadStatus::expected(&LeadStatus::ALL));
    }
    Error::check_fields(errors)?;

    if !write_changes(&mut tx, &lead, fields, status, Editor::Member(actor), now).await? {
        return Ok(lead);
    }
    let lead = leads::get(&mut tx, actor.account_id(), id)
        .await?
        .ok_or(Error::NotFound)?;
    tx.commit().await?;
    Ok(lead)
}

/// Who edits a lead's fields: a member, or the AI assistant for the visitor whose chat made
/// the lead (its history event then has no member as actor, as at its creation).
pub(crate) enum Editor<'a> {
    Member(&'a Actor),
    Assistant,
}

/// Writes validated changes to a lead in the caller's transaction (the lead locked and read
/// in it): the row, the open-lead counter on a status change, and the history events.
/// Returns whether anything changed. The one write path for a lead's fields.
pub(crate) async fn write_changes(
    tx: &mut Conn,
    lead: &Lead,
    fields: LeadChanges,
    status: Option<LeadStatus>,
    editor: Editor<'_>,
    now: i64,
) -> Result<bool> {
    let mut next = lead.clone();
    let mut changed: Vec<&str> = Vec::new();
    if let Some(name) = fields.name.filter(|n| *n != *lead.name) {
        next.name = name.into_string();
        changed.push("name");
    }
    for (label, slot, change) in [
        (
            "email",
            &mut next.email,
            fields.email.map(EmailAddress::into_string),
        ),
        (
            "phone",
            &mut next.phone,
            fields.phone.map(Phone::into_string),
        ),
        (
            "company",
            &mut next.company,
            fields.company.map(Company::into_string),
        ),
        ("notes", &mut next.notes, fields.notes),
    ] {
        let value = match change {
            Change::Keep => continue,
            Change::Clear => None,
            Change::Set(value) => Some(value),
        };
        if value != *slot {
            *slot = value;
            changed.push(label);
        }
    }
    if set_field(&mut next.country, fields.country) {
        changed.push("country");
    }
    if set_field(&mut next.company_size, fields.company_size) {
        changed.push("company size");
    }
    let status_changed = status.is_some_and(|s| s != lead.status);
    if let Some(s) = status {
        next.status = s;
    }
    if changed.is_empty() && !status_changed {
        return Ok(false);
    }
    leads::update(tx, &next, now).await?;
    let actor_id = match &editor {
        Editor::Member(actor) => Some(actor.user.id.as_str()),
        Editor::Assistant => None,
    };
    fn event<'a>(
        lead: &'a Lead,
        actor_id: Option<&'a str>,
        kind: HistoryKind,
        detail: &'a str,
    ) -> NewEvent<'a> {
        NewEvent {
            account_id: &lead.account_id,
            lead_id: &lead.id,
            actor_id,
            kind,
            from_owner: None,
            to_owner: None,
            detail,
        }
    }
    if status_changed {
        if let Some(owner) = lead.owner_id() {
            let was = lead::is_open(Some(owner), lead.status);
            let is = lead::is_open(Some(owner), next.status);
            if was != is {
                users::add_to_counter(
                    tx,
                    Counter::OpenLeads,
                    &lead.account_id,
                    owner,
                    if is { 1 } else { -1 },
                )
                .await?;
            }
        }
        let detail = format!(
            "Status changed from {} to {}",
            lead.status.label(),
            next.status.label()
        );
        leads::add_event(
            tx,
            &event(lead, actor_id, HistoryKind::StatusChanged, &detail),
            now,
        )
        .await?;
    }
    if !changed.is_empty() {
        let detail = match editor {
            Editor::Member(_) => format!("Changed {}", changed.join(", ")),
            Editor::Assistant => format!(
                "The AI assistant changed {} as the visitor asked in the chat",
                changed.join(", ")
            ),
        };
        leads::add_event(
            tx,
            &event(lead, actor_id, HistoryKind::Updated, &detail),
            now,
        )
        .await?;
    }
    Ok(true)
}

/// An owner change asked for by a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerChange {
    Claim,
    Unassign,
    Assign(String),
}

/// What the caller believed the owner to be. Pages send what they showed, so a change made
/// meanwhile by someone else is refused instead of silently overwritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Whatever it is now (API calls).
    Current,
    /// Exactly this owner (`None`: no owner).
    Owner(Option<String>),
}

/// THE one path for every owner change: checks the permission table, changes the owner only
/// if it is still what the caller saw (compare-and-set), and writes the lead, its history
/// event, the open-lead counters and the audit entry in one transaction.
#[tracing::instrument(skip_all, fields(account_id = %actor.account_id(), lead_id = %id))]
pub async fn change_owner(
    db: &Db,
    actor: &Actor,
    id: &str,
    change: OwnerChange,
    expected: Expected,
) -> Result<Lead> {
    let now = now_ms();
    let role = actor.user.role;
    let mut tx = db.begin_write().await?;
    db.lock_lead(&mut tx, actor.account_id(), id).await?;
    let lead = leads::get(&mut tx, actor.account_id(), id)
        .await?
        .ok_or(Error::NotFound)?;
    let current = lead.owner_id().map(str::to_owned);
    let taken_first = || Error::conflict("A teammate claimed this lead first.");
    // Someone else changed the owner between what the caller saw and now.
    let moved_meanwhile = || {
        if change == OwnerChange::Claim {
            taken_first()
        } else {
            Error::conflict(
                "This lead's owner changed in the meantime. Reload to see who has it now.",
            )
        }
    };
    if matches!(&expected, Expected::Owner(seen) if *seen != current) {
        return Err(moved_meanwhile());
    }
    let (new_owner, kind, action) = match &change {
        OwnerChange::Claim => {
            permissions::check(role, Action::ClaimLead)?;
            if current.is_some() {
                return Err(if current.as_deref() == Some(actor.user.id.as_str()) {
                    Error::conflict("This lead is already yours.")
                } else {
                    taken_first()
                });
            }
            (
                Some(actor.user.clone()),
                HistoryKind::Claimed,
                AuditAction::LeadClaimed,
            )
        }
        OwnerChange::Unassign => {
            // Accounting is refused whatever the lead's state; for the rest, state comes first.
            permissions::check(role, Action::UnassignLead { own: true })?;
            let Some(owner) = &current else {
                return Err(Error::conflict("This lead is already unassigned."));
            };
            permissions::check(
                role,
                Action::UnassignLead {
                    own: *owner == actor.user.id,
                },
            )?;
            (None, HistoryKind::Unassigned, AuditAction::LeadUnassigned)
        }
        OwnerChange::Assign(to) => {
            permissions::check(role, Action::AssignLead)?;
            let user = eligible_owner(&mut tx, actor.account_id(), to)
                .await?
                .map_err(|why| Error::field("owner_id", why))?;
            if current.as_deref() == Some(user.id.as_str()) {
                return Ok(lead);
            }
            (Some(user), HistoryKind::Assigned, AuditAction::LeadAssigned)
        }
    };
    let new_id = new_owner.as_ref().map(|u| u.id.as_str());
    if !leads::set_owner_if(
        &mut tx,
        actor.account_id(),
        id,
        current.as_deref(),
        new_id,
        now,
    )
    .await?
    {
        return Err(moved_meanwhile());
    }
    if lead.status == LeadStatus::Open {
        // Counters are updated in user-id order: two moves between the same two people in
        // opposite directions must lock their rows in the same order, or PostgreSQL
        // deadlocks them.
        let mut moves: Vec<(&str, i64)> = current
            .iter()
            .map(|old| (old.as_str(), -1))
            .chain(new_id.map(|new| (new, 1)))
            .collect();
        moves.sort_unstable();
        for (user_id, delta) in moves {
            users::add_to_counter(
                &mut tx,
                Counter::OpenLeads,
                actor.account_id(),
                user_id,
                delta,
            )
            .await?;
        }
    }
    let from_name = lead.owner.as_ref().map(|(_, n)| n.as_str());
    let detail = match (kind, from_name, &new_owner) {
        (HistoryKind::Claimed, _, _) => format!("{} claimed the lead", actor.user.name),
        (HistoryKind::Unassigned, Some(from), _) => {
            format!("{} unassigned the lead from {from}", actor.user.name)
        }
        (_, Some(from), Some(to)) => format!(
            "{} reassigned the lead from {from} to {}",
            actor.user.name, to.name
        ),
        (_, _, Some(to)) => format!("{} assigned the lead to {}", actor.user.name, to.name),
        _ => format!("{} changed the owner", actor.user.name),
    };
    leads::add_event(
        &mut tx,
        &NewEvent {
            account_id: actor.account_id(),
            lead_id: id,
            actor_id: Some(&actor.user.id),
            kind,
            from_owner: current.as_deref(),
            to_owner: new_id,
            detail: &detail,
        },
        now,
    )
    .await?;
    // Someone else handing you a lead tells you so.
    if let (OwnerChange::Assign(_), Some(to)) = (&change, &new_owner)
        && to.id != actor.user.id
    {
        let text = format!("{} assigned you a lead: {}", actor.user.name, lead.name);
        super::notifications::notify(
            &mut tx,
            actor.account_id(),
            &to.id,
            NotificationKind::LeadAssigned,
            Some(id),
            &text,
            now,
        )
        .await?;
    }
    let person = |p: Option<(&str, &str)>| p.map(|(id, name)| json!({"id": id, "name": name}));
    audit::record(
        &mut tx,
        audit::NewEntry {
            account_id: actor.account_id(),
            actor_id: Some(&actor.user.id),
            action,
            target: &format!("lead:{id}"),
            before: Some(json!({"owner": person(lead.owner.as_ref().map(|(i, n)| (i.as_str(), n.as_str())))})),
            after: Some(json!({"owner": person(new_owner.as_ref().map(|u| (u.id.as_str(), u.name.as_str())))})),
        },
        now,
    )
    .await?;
    let lead = leads::get(&mut tx, actor.account_id(), id)
        .await?
        .ok_or(Error::NotFound)?;
    tx.commit().await?;
    Ok(lead)
}

/// Applies an edit to one optional field; whether it changed.
fn set_field<T: PartialEq>(slot: &mut Option<T>, change: Change<T>) -> bool {
    let value = match change {
        Change::Keep => return false,
        Change::Clear => None,
        Change::Set(value) => Some(value),
    };
    let changed = value != *slot;
    *slot = value;
    changed
}
