//! Members' availability: time zone, working hours (JSON), Away and the daily cap on the
//! users row, time off in its own table, and the routed-today counter routing keeps.

use super::{Conn, Flag};

/// A member's availability columns as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Stored {
    pub user_id: String,
    pub timezone: String,
    /// JSON array of `{"day", "start", "end"}`.
    pub working_hours: String,
    #[sqlx(try_from = "Flag")]
    pub away: bool,
    pub daily_cap: Option<i64>,
    /// The local day (yyyymmdd) `routed_on_day` counts.
    pub routed_day: i64,
    pub routed_on_day: i64,
}

impl Stored {
    /// True when nothing was ever set: routing can skip reading this member's time off.
    pub fn is_default(&self) -> bool {
        self.timezone == "UTC"
            && self.working_hours == "[]"
            && !self.away
            && self.daily_cap.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredTimeOff {
    pub id: String,
    pub user_id: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub reason: Option<String>,
}

/// The columns a [`Stored`] reads.
macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT id AS user_id, timezone, working_hours, away, daily_cap, routed_day, \
             routed_on_day FROM users WHERE account_id = $1",
            $rest
        )
    };
}

pub async fn get(conn: &mut Conn, account_id: &str, user_id: &str) -> sqlx::Result<Option<Stored>> {
    sqlx::query_as(select!(" AND id = $2"))
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// Every member's availability columns (routing reads them once per batch).
pub async fn all(conn: &mut Conn, account_id: &str) -> sqlx::Result<Vec<Stored>> {
    sqlx::query_as(select!(""))
        .bind(account_id)
        .fetch_all(conn)
        .await
}

pub async fn save(
    conn: &mut Conn,
    account_id: &str,
    user_id: &str,
    timezone: &str,
    working_hours: &str,
    away: bool,
    daily_cap: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET timezone = $1, working_hours = $2, away = $3, daily_cap = $4 \
         WHERE account_id = $5 AND id = $6",
    )
    .bind(timezone)
    .bind(working_hours)
    .bind(i64::from(away))
    .bind(daily_cap)
    .bind(account_id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Time off not yet over at `now`, of one member or (`None`) of everyone, by start.
pub async fn time_off(
    conn: &mut Conn,
    account_id: &str,
    user_id: Option<&str>,
    now: i64,
) -> sqlx::Result<Vec<StoredTimeOff>> {
    // Two texts rather than `$3 IS NULL`: PostgreSQL cannot type an unused NULL parameter.
    let sql = match user_id {
        Some(_) => {
            "SELECT id, user_id, starts_at, ends_at, reason FROM time_off \
             WHERE account_id = $1 AND ends_at > $2 AND user_id = $3 ORDER BY starts_at, id"
        }
        None => {
            "SELECT id, user_id, starts_at, ends_at, reason FROM time_off \
             WHERE account_id = $1 AND ends_at > $2 ORDER BY starts_at, id"
        }
    };
    let mut query = sqlx::query_as(sql).bind(account_id).bind(now);
    if let Some(user_id) = user_id {
        query = query.bind(user_id);
    }
    query.fetch_all(conn).await
}

pub struct NewTimeOff<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub starts_at: i64,
    pub ends_at: i64,
    pub reason: Option<&'a str>,
    pub created_by: &'a str,
}

pub async fn add_time_off(
    conn: &mut Conn,
    account_id: &str,
    t: &NewTimeOff<'_>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO time_off (account_id, id, user_id, starts_at, ends_at, reason, created_by, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(account_id)
    .bind(t.id)
    .bind(t.user_id)
    .bind(t.starts_at)
    .bind(t.ends_at)
    .bind(t.reason)
    .bind(t.created_by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes one time off of a member; false when there is none with that id.
pub async fn delete_time_off(
    conn: &mut Conn,
    account_id: &str,
    user_id: &str,
    id: &str,
) -> sqlx::Result<bool> {
    let done =
        sqlx::query("DELETE FROM time_off WHERE account_id = $1 AND user_id = $2 AND id = $3")
            .bind(account_id)
            .bind(user_id)
            .bind(id)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() > 0)
}
