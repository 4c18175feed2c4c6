//! Named rotations (one row each, settings as columns, members as JSON), their own
//! round-robin turns, and the default rotation's settings, which live in the routing
//! settings row.

use std::collections::HashMap;

use super::Conn;
use super::routing::Settings;
use crate::domain::routing::Strategy;
use crate::domain::routing::settings::{IfNoneAvailable, Member, RotationSettings, SlaAction};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRotation {
    pub id: String,
    pub settings: RotationSettings,
}

/// A rotation as stored: closed sets by name, members as JSON.
#[derive(sqlx::FromRow)]
struct RotationRow {
    id: String,
    name: String,
    strategy: String,
    members: String,
    if_none_available: String,
    first_touch_minutes: Option<i64>,
    sla_action: String,
    max_hops: i64,
}

fn decode<T>(what: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> sqlx::Result<T> {
    parse(value).ok_or_else(|| sqlx::Error::Decode(format!("{what} {value}").into()))
}

impl TryFrom<RotationRow> for StoredRotation {
    type Error = sqlx::Error;

    fn try_from(r: RotationRow) -> sqlx::Result<Self> {
        Ok(StoredRotation {
            id: r.id,
            settings: RotationSettings {
                name: r.name,
                strategy: decode("strategy", &r.strategy, Strategy::parse)?,
                members: serde_json::from_str(&r.members)
                    .map_err(|e| sqlx::Error::Decode(e.into()))?,
                if_none_available: decode(
                    "if_none_available",
                    &r.if_none_available,
                    IfNoneAvailable::parse,
                )?,
                first_touch_minutes: r.first_touch_minutes,
                sla_action: decode("sla_action", &r.sla_action, SlaAction::parse)?,
                max_hops: r.max_hops,
            },
        })
    }
}

/// The columns a [`RotationRow`] reads.
macro_rules! rotation_select {
    () => {
        "SELECT id, name, strategy, members, if_none_available, first_touch_minutes, \
         sla_action, max_hops FROM rotations WHERE account_id = $1 "
    };
}

/// The account's named rotations, in the order they were added.
pub async fn list(conn: &mut Conn, account_id: &str) -> sqlx::Result<Vec<StoredRotation>> {
    let rows: Vec<RotationRow> =
        sqlx::query_as(concat!(rotation_select!(), "ORDER BY created_at, id"))
            .bind(account_id)
            .fetch_all(conn)
            .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

pub async fn get(
    conn: &mut Conn,
    account_id: &str,
    id: &str,
) -> sqlx::Result<Option<StoredRotation>> {
    let row: Option<RotationRow> = sqlx::query_as(concat!(rotation_select!(), "AND id = $2"))
        .bind(account_id)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(TryInto::try_into).transpose()
}

fn members_json(members: &[Member]) -> String {
    serde_json::to_string(members).unwrap_or_else(|_| "[]".into())
}

/// Writes a named rotation's settings: a new one (created now) or an existing one (its
/// creation time kept).
pub async fn save(
    conn: &mut Conn,
    account_id: &str,
    id: &str,
    s: &RotationSettings,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO rotations (account_id, id, name, strategy, members, if_none_available, \
         first_touch_minutes, sla_action, max_hops, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
         ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name, \
         strategy = excluded.strategy, members = excluded.members, \
         if_none_available = excluded.if_none_available, \
         first_touch_minutes = excluded.first_touch_minutes, \
         sla_action = excluded.sla_action, max_hops = excluded.max_hops, \
         updated_at = excluded.updated_at",
    )
    .bind(account_id)
    .bind(id)
    .bind(&s.name)
    .bind(s.strategy.as_str())
    .bind(members_json(&s.members))
    .bind(s.if_none_available.as_str())
    .bind(s.first_touch_minutes)
    .bind(s.sla_action.as_str())
    .bind(s.max_hops)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a rotation and its turns.
pub async fn delete(conn: &mut Conn, account_id: &str, id: &str) -> sqlx::Result<()> {
    for sql in [
        "DELETE FROM rotation_turns WHERE account_id = $1 AND rotation_id = $2",
        "DELETE FROM rotations WHERE account_id = $1 AND id = $2",
    ] {
        sqlx::query(sql)
            .bind(account_id)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The default rotation's settings, from the routing settings row.
pub fn default_settings(s: &Settings) -> RotationSettings {
    RotationSettings {
        name: crate::domain::routing::settings::DEFAULT_NAME.to_owned(),
        strategy: s.strategy,
        members: s
            .rotation
            .iter()
            .map(|id| Member {
                user_id: id.clone(),
                weight: s.weights.get(id).copied().unwrap_or(100),
            })
            .collect(),
        if_none_available: s.if_none_available,
        first_touch_minutes: s.first_touch_minutes,
        sla_action: s.sla_action,
        max_hops: s.max_hops,
    }
}

/// Saves the default rotation's settings into the routing settings row.
pub async fn save_default(
    conn: &mut Conn,
    account_id: &str,
    s: &RotationSettings,
    by: &str,
    now: i64,
) -> sqlx::Result<()> {
    let weights: HashMap<&str, i64> = s
        .members
        .iter()
        .filter(|m| m.weight != 100)
        .map(|m| (m.user_id.as_str(), m.weight))
        .collect();
    sqlx::query(
        "UPDATE routing_settings SET strategy = $1, rotation = $2, weights = $3, \
         if_none_available = $4, first_touch_minutes = $5, sla_action = $6, max_hops = $7, \
         updated_at = $8, updated_by = $9 WHERE account_id = $10",
    )
    .bind(s.strategy.as_str())
    .bind(serde_json::to_string(&s.member_ids()).unwrap_or_else(|_| "[]".into()))
    .bind(serde_json::to_string(&weights).unwrap_or_else(|_| "{}".into()))
    .bind(s.if_none_available.as_str())
    .bind(s.first_touch_minutes)
    .bind(s.sla_action.as_str())
    .bind(s.max_hops)
    .bind(now)
    .bind(by)
    .bind(account_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The last routed seq per named rotation and member.
pub async fn turns(
    conn: &mut Conn,
    account_id: &str,
) -> sqlx::Result<HashMap<String, HashMap<String, i64>>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT rotation_id, user_id, last_routed_seq FROM rotation_turns WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    let mut turns: HashMap<String, HashMap<String, i64>> = HashMap::new();
    for (rotation, user, seq) in rows {
        turns.entry(rotation).or_default().insert(user, seq);
    }
    Ok(turns)
}

/// Records each (account, rotation, member) -> the seq of the last lead it routed to them,
/// in key order (a batch's rows are locked in the same order by every writer).
pub async fn write_turns(
    conn: &mut Conn,
    turns: &[(&(String, String, String), &i64)],
) -> sqlx::Result<()> {
    for ((account_id, rotation_id, user_id), seq) in turns {
        sqlx::query(
            "INSERT INTO rotation_turns (account_id, rotation_id, user_id, last_routed_seq) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, rotation_id, user_id) \
             DO UPDATE SET last_routed_seq = excluded.last_routed_seq",
        )
        .bind(account_id)
        .bind(rotation_id)
        .bind(user_id)
        .bind(**seq)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
