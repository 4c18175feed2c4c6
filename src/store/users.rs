//! Team members. Email is unique across the whole service; `position` is the join order.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Conn;
use crate::domain::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub active: bool,
    /// Team order: the order members joined, used wherever the team is listed or ranked.
    pub position: i64,
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
}

macro_rules! user_columns {
    () => {
        "u.id, u.account_id, u.name, u.email, u.role, u.active, u.position"
    };
}
pub(crate) use user_columns;

pub(crate) fn from_row(row: &AnyRow) -> sqlx::Result<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        role: Role::parse(&role)
            .ok_or_else(|| sqlx::Error::Decode(format!("role {role}").into()))?,
        active: row.try_get::<i64, _>("active")? != 0,
        position: row.try_get("position")?,
    })
}

/// Inserts a member at the end of the team order.
pub async fn insert(conn: &mut Conn, user: &NewUser<'_>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO users (id, account_id, name, email, password_hash, role, active, position, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 1, \
         (SELECT COALESCE(MAX(position), 0) + 1 FROM users WHERE account_id = $2), $7, $7)",
    )
    .bind(user.id)
    .bind(user.account_id)
    .bind(user.name)
    .bind(user.email)
    .bind(user.password_hash)
    .bind(user.role.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn email_taken(conn: &mut Conn, email: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

/// The member with this email and their password hash, in any account (for sign-in).
pub async fn find_for_login(conn: &mut Conn, email: &str) -> sqlx::Result<Option<(User, String)>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        ", u.password_hash FROM users u WHERE u.email = $1"
    ))
    .bind(email)
    .fetch_optional(conn)
    .await?;
    row.map(|r| Ok((from_row(&r)?, r.try_get("password_hash")?)))
        .transpose()
}

pub async fn get(conn: &mut Conn, account_id: &str, id: &str) -> sqlx::Result<Option<User>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users u WHERE u.account_id = $1 AND u.id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The whole team in team order.
pub async fn list(conn: &mut Conn, account_id: &str) -> sqlx::Result<Vec<User>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users u WHERE u.account_id = $1 ORDER BY u.position, u.id"
    ))
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn update_role_active(
    conn: &mut Conn,
    account_id: &str,
    id: &str,
    role: Role,
    active: bool,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET role = $1, active = $2, updated_at = $3 WHERE account_id = $4 AND id = $5",
    )
    .bind(role.as_str())
    .bind(i64::from(active))
    .bind(now)
    .bind(account_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn count_active_owners(conn: &mut Conn, account_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE account_id = $1 AND role = 'owner' AND active = 1",
    )
    .bind(account_id)
    .fetch_one(conn)
    .await
}

pub async fn set_password_hash(
    conn: &mut Conn,
    account_id: &str,
    id: &str,
    hash: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, updated_at = $2 WHERE account_id = $3 AND id = $4",
    )
    .bind(hash)
    .bind(now)
    .bind(account_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A count kept on each member's row, moved in the transaction of every write that changes
/// what it counts (`leadroute check` recounts both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Their open leads, what balanced routing compares.
    OpenLeads,
    /// Their unread notifications, the bell's number.
    UnreadNotifications,
}

/// Moves one of a member's counters by `delta`.
pub async fn add_to_counter(
    conn: &mut Conn,
    counter: Counter,
    account_id: &str,
    user_id: &str,
    delta: i64,
) -> sqlx::Result<()> {
    let sql = match counter {
        Counter::OpenLeads => {
            "UPDATE users SET open_leads = open_leads + $1 WHERE account_id = $2 AND id = $3"
        }
        Counter::UnreadNotifications => {
            "UPDATE users SET unread_notifications = unread_notifications + $1 \
             WHERE account_id = $2 AND id = $3"
        }
    };
    sqlx::query(sql)
        .bind(delta)
        .bind(account_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}
