//! A member's availability: read it (with whether they can take a lead right now), change
//! it, add and remove time off. The member themself or an Owner/Manager; the daily cap
//! only an Owner/Manager. Every change is audited.

use serde_json::{Value, json};

use super::{Actor, secrets};
use crate::domain::AuditAction;
use crate::domain::availability::{
    self, Availability, HoursInput, TimeOff, Unavailable, read_hours,
};
use crate::domain::lead::Change;
use crate::domain::permissions::{self, Action};
use crate::domain::validate::FieldErrors;
use crate::error::{Error, Result};
use crate::store::availability::{self as store, NewTimeOff, Stored, StoredTimeOff};
use crate::store::{Conn, Db, audit, users};

/// A member's availability as the API and pages show it.
#[derive(Debug, Clone)]
pub struct View {
    pub availability: Availability,
    pub unavailable: Option<Unavailable>,
    /// The reason in words ("off until Mon 09:00 Europe/Berlin").
    pub unavailable_reason: Option<String>,
}

/// A change as it arrives; a field left out keeps its value (`daily_cap: null` clears it).
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub timezone: Option<String>,
    pub working_hours: Option<Vec<HoursInput>>,
    pub away: Option<bool>,
    pub daily_cap: Change<i64>,
}

/// The domain's availability from stored columns and time off. Stored values were
/// checked when saved; a time zone the database no longer knows reads as UTC.
pub fn from_stored(stored: &Stored, time_off: Vec<TimeOff>) -> Availability {
    let timezone = availability::timezone(&stored.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let hours: Vec<HoursInput> = serde_json::from_str(&stored.working_hours).unwrap_or_default();
    Availability {
        timezone,
        working_hours: read_hours(&hours, &mut FieldErrors::default()),
        away: stored.away,
        daily_cap: stored.daily_cap,
        time_off,
    }
}

/// Routed leads the member got on `now`'s local day, from the kept counter.
pub fn routed_today(stored: &Stored, availability: &Availability, now: i64) -> i64 {
    if stored.routed_day == availability.day_key(now) {
        stored.routed_on_day
    } else {
        0
    }
}

pub fn time_off_of(rows: Vec<StoredTimeOff>) -> Vec<TimeOff> {
    rows.into_iter()
        .map(|t| TimeOff {
            id: t.id,
            starts_at: t.starts_at,
            ends_at: t.ends_at,
            reason: t.reason,
        })
        .collect()
}

async fn load(conn: &mut Conn, account_id: &str, user_id: &str, now: i64) -> Result<View> {
    let stored = store::get(conn, account_id, user_id)
        .await?
        .ok_or(Error::NotFound)?;
    let off = time_off_of(store::time_off(conn, account_id, Some(user_id), now).await?);
    let availability = from_stored(&stored, off);
    let unavailable =
        availability.unavailable(now, routed_today(&stored, &availability, now), true);
    Ok(View {
        unavailable_reason: unavailable.map(|u| availability.explain(u)),
        availability,
        unavailable,
    })
}

pub async fn get(db: &Db, actor: &Actor, user_id: &str) -> Result<View> {
    permissions::check(actor.user.role, Action::ViewTeam)?;
    let mut conn = db.conn().await?;
    load(&mut conn, actor.account_id(), user_id, db.clock.now()).await
}

/// Checks that `user_id` is a member of the actor's account and that the actor may change
/// their availability.
async fn target(conn: &mut Conn, actor: &Actor, user_id: &str) -> Result<()> {
    users::get(conn, actor.account_id(), user_id)
        .await?
        .ok_or(Error::NotFound)?;
    permissions::check(
        actor.user.role,
        Action::EditAvailability {
            own: actor.user.id == user_id,
        },
    )?;
    Ok(())
}

fn snapshot(a: &Availability) -> Value {
    let hours: Vec<HoursInput> = a.working_hours.iter().map(HoursInput::from).collect();
    json!({"timezone": a.timezone_name(), "working_hours": hours, "away": a.away,
           "daily_cap": a.daily_cap})
}

async fn record(
    conn: &mut Conn,
    actor: &Actor,
    user_id: &str,
    before: Value,
    after: Value,
    now: i64,
) -> Result<()> {
    audit::record(
        conn,
        audit::NewEntry {
            account_id: actor.account_id(),
            actor_id: Some(&actor.user.id),
            action: AuditAction::AvailabilityUpdated,
            target: &format!("user:{user_id}"),
            before: Some(before),
            after: Some(after),
        },
        now,
    )
    .await?;
    Ok(())
}

pub async fn update(db: &Db, actor: &Actor, user_id: &str, input: Input) -> Result<View> {
    let now = db.clock.now();
    let mut tx = db.begin_write().await?;
    target(&mut tx, actor, user_id).await?;
    let before = load(&mut tx, actor.account_id(), user_id, now)
        .await?
        .availability;
    let mut after = before.clone();
    let mut errors = FieldErrors::default();
    if let Some(name) = &input.timezone {
        match availability::timezone(name) {
            Ok(tz) => after.timezone = tz,
            Err(why) => errors.add("timezone", why),
        }
    }
    if let Some(hours) = &input.working_hours {
        after.working_hours = read_hours(hours, &mut errors);
    }
    if let Some(away) = input.away {
        after.away = away;
    }
    let cap = match input.daily_cap {
        Change::Keep => before.daily_cap,
        Change::Clear => None,
        Change::Set(cap) => Some(cap),
    };
    availability::check_cap(cap, &mut errors);
    // A client that sends the whole object back unchanged is not setting a cap.
    if cap != before.daily_cap {
        permissions::check(actor.user.role, Action::SetDailyCap)?;
    }
    after.daily_cap = cap;
    Error::check_fields(errors)?;
    let hours: Vec<HoursInput> = after.working_hours.iter().map(HoursInput::from).collect();
    store::save(
        &mut tx,
        actor.account_id(),
        user_id,
        after.timezone_name(),
        &serde_json::to_string(&hours).unwrap_or_else(|_| "[]".into()),
        after.away,
        after.daily_cap,
    )
    .await?;
    record(
        &mut tx,
        actor,
        user_id,
        snapshot(&before),
        snapshot(&after),
        now,
    )
    .await?;
    let view = load(&mut tx, actor.account_id(), user_id, now).await?;
    tx.commit().await?;
    Ok(view)
}

/// Time off as it arrives: RFC 3339 times.
pub struct TimeOffInput {
    pub starts_at: String,
    pub ends_at: String,
    pub reason: Option<String>,
}

pub async fn add_time_off(
    db: &Db,
    actor: &Actor,
    user_id: &str,
    input: TimeOffInput,
) -> Result<TimeOff> {
    let now = db.clock.now();
    let mut tx = db.begin_write().await?;
    target(&mut tx, actor, user_id).await?;
    let mut errors = FieldErrors::default();
    let starts_at = availability::read_instant(&input.starts_at, "starts_at", &mut errors);
    let ends_at = availability::read_instant(&input.ends_at, "ends_at", &mut errors);
    if let (Some(starts_at), Some(ends_at)) = (starts_at, ends_at) {
        availability::check_time_off(starts_at, ends_at, &mut errors);
    }
    let reason = input
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > availability::REASON_MAX)
    {
        errors.add(
            "reason",
            format!("must be at most {} characters", availability::REASON_MAX),
        );
    }
    Error::check_fields(errors)?;
    let (starts_at, ends_at) = (starts_at.unwrap_or(0), ends_at.unwrap_or(0));
    let id = secrets::new_id();
    store::add_time_off(
        &mut tx,
        actor.account_id(),
        &NewTimeOff {
            id: &id,
            user_id,
            starts_at,
            ends_at,
            reason: reason.as_deref(),
            created_by: &actor.user.id,
        },
        now,
    )
    .await?;
    let added = TimeOff {
        id,
        starts_at,
        ends_at,
        reason,
    };
    record(
        &mut tx,
        actor,
        user_id,
        Value::Null,
        json!({"time_off_added": added}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(added)
}

pub async fn delete_time_off(db: &Db, actor: &Actor, user_id: &str, id: &str) -> Result<()> {
    let now = db.clock.now();
    let mut tx = db.begin_write().await?;
    target(&mut tx, actor, user_id).await?;
    if !store::delete_time_off(&mut tx, actor.account_id(), user_id, id).await? {
        return Err(Error::NotFound);
    }
    record(
        &mut tx,
        actor,
        user_id,
        json!({"time_off_removed": id}),
        Value::Null,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
