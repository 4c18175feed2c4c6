//! Team members. Email is unique across the whole service; `position` is the join order.

use super::{Conn, Flag};
use crate::domain::Role;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[sqlx(try_from = "Flag")]
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
    #[derive(sqlx::FromRow)]
    struct Login {
        #[sqlx(flatten)]
        user: User,
        password_hash: String,
    }
    let row: Option<Login> = sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        ", u.password_hash FROM users u WHERE u.email = $1"
    ))
    .bind(email)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.user, r.password_hash)))
}

pub async fn get(conn: &mut Conn, account_id: &str, id: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users u WHERE u.account_id = $1 AND u.id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The whole team in team order.
pub async fn list(conn: &mut Conn, account_id: &str) -> sqlx::Result<Vec<User>> {
    sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users u WHERE u.account_id = $1 ORDER BY u.position, u.id"
    ))
    .bind(account_id)
    .fetch_all(conn)
    .await
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
