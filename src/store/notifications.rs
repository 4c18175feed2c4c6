//! In-app notifications: each belongs to one member and is only ever theirs to see.

use crate::domain::NotificationKind;

use super::Conn;
use super::users::Counter::UnreadNotifications;
use super::users::add_to_counter;

#[derive(Debug, Clone)]
pub struct Notification {
    pub id: String,
    pub kind: NotificationKind,
    pub lead: Option<(String, String)>,
    pub text: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// A notification as stored: its lead is two columns.
#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: String,
    #[sqlx(try_from = "String")]
    kind: NotificationKind,
    lead_id: Option<String>,
    lead_name: Option<String>,
    text: String,
    created_at: i64,
    read_at: Option<i64>,
}

impl From<NotificationRow> for Notification {
    fn from(r: NotificationRow) -> Self {
        Notification {
            id: r.id,
            kind: r.kind,
            lead: r.lead_id.zip(r.lead_name),
            text: r.text,
            created_at: r.created_at,
            read_at: r.read_at,
        }
    }
}

pub struct NewNotification<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub user_id: &'a str,
    pub kind: NotificationKind,
    pub lead_id: Option<&'a str>,
    pub text: &'a str,
}

pub async fn insert(conn: &mut Conn, n: &NewNotification<'_>, now: i64) -> sqlx::Result<()> {
    add_to_counter(conn, UnreadNotifications, n.account_id, n.user_id, 1).await?;
    sqlx::query(
        "INSERT INTO notifications (id, account_id, user_id, kind, lead_id, text, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(n.id)
    .bind(n.account_id)
    .bind(n.user_id)
    .bind(n.kind.as_str())
    .bind(n.lead_id)
    .bind(n.text)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A member's notifications, newest first.
pub async fn list(
    conn: &mut Conn,
    account_id: &str,
    user_id: &str,
    unread_only: bool,
    limit: i64,
) -> sqlx::Result<Vec<Notification>> {
    let rows: Vec<NotificationRow> = sqlx::query_as(
        "SELECT n.id, n.kind, n.lead_id, l.name AS lead_name, n.text, n.created_at, n.read_at \
         FROM notifications n LEFT JOIN leads l ON l.id = n.lead_id AND l.account_id = n.account_id \
         WHERE n.account_id = $1 AND n.user_id = $2 AND ($3 = 0 OR n.read_at IS NULL) \
         ORDER BY n.created_at DESC, n.id DESC LIMIT $4",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(i64::from(unread_only))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Notification::from).collect())
}

pub async fn unread_count(conn: &mut Conn, account_id: &str, user_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT unread_notifications FROM users WHERE account_id = $1 AND id = $2")
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
        .map(Option::unwrap_or_default)
}

/// The lead a member's notification points at; `None` when it is not theirs.
pub async fn find(
    conn: &mut Conn,
    account_id: &str,
    user_id: &str,
    id: &str,
) -> sqlx::Result<Option<Option<String>>> {
    sqlx::query_scalar(
        "SELECT lead_id FROM notifications WHERE account_id = $1 AND user_id = $2 AND id = $3",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn mark_read(
    conn: &mut Conn,
    account_id: &str,
    user_id: &str,
    id: &str,
    now: i64,
) -> sqlx::Result<()> {
    let done = sqlx::query(
        "UPDATE notifications SET read_at = $1 WHERE account_id = $2 AND user_id = $3 AND id = $4 AND read_at IS NULL",
    )
    .bind(now)
    .bind(account_id)
    .bind(user_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() > 0 {
        add_to_counter(conn, UnreadNotifications, account_id, user_id, -1).await?;
    }
    Ok(())
}

/// Marks every unread notification of a member read. They are found newest first and the
/// search stops at the member's unread count, so a member with years of read ones and a
/// few new ones costs a few rows, not years.
pub async fn mark_all_read(
    conn: &mut Conn,
    account_id: &str,
    user_id: &str,
    now: i64,
) -> sqlx::Result<()> {
    let unread = unread_count(conn, account_id, user_id).await?;
    if unread == 0 {
        return Ok(());
    }
    let done = sqlx::query(
        "UPDATE notifications SET read_at = $1 WHERE account_id = $2 AND user_id = $3 \
         AND id IN (SELECT id FROM notifications WHERE account_id = $2 AND user_id = $3 \
         AND read_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $4)",
    )
    .bind(now)
    .bind(account_id)
    .bind(user_id)
    .bind(unread)
    .execute(&mut *conn)
    .await?;
    let read = i64::try_from(done.rows_affected()).unwrap_or(i64::MAX);
    add_to_counter(conn, UnreadNotifications, account_id, user_id, -read).await
}
