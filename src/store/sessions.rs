//! Sign-in sessions: browser cookies and API bearer tokens. Only a hash of each token is
//! stored, so a copy of the database cannot be used to sign in.

use super::Conn;
use super::accounts::Account;
use super::users::{User, user_columns};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Api,
    Web,
}

/// What `lookup` reads back: anything but "web" is an API token, as it always was.
impl From<String> for Kind {
    fn from(raw: String) -> Kind {
        if raw == Kind::Web.as_str() {
            Kind::Web
        } else {
            Kind::Api
        }
    }
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Api => "api",
            Kind::Web => "web",
        }
    }
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub account_id: &'a str,
    pub user_id: &'a str,
    pub kind: Kind,
    pub csrf_token: Option<&'a str>,
    pub expires_at: i64,
}

/// A live session with its active user.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub kind: Kind,
    pub csrf_token: Option<String>,
    pub user: User,
    pub account: Account,
    /// Unread notifications, for the bell on every page.
    pub unread: i64,
}

pub async fn insert(conn: &mut Conn, s: &NewSession<'_>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, user_id, kind, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(s.token_hash)
    .bind(s.account_id)
    .bind(s.user_id)
    .bind(s.kind.as_str())
    .bind(s.csrf_token)
    .bind(now)
    .bind(s.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The session for a token hash, only while it is unexpired and its user is active.
pub async fn lookup(conn: &mut Conn, token_hash: &str, now: i64) -> sqlx::Result<Option<Session>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        token_hash: String,
        #[sqlx(try_from = "String")]
        kind: Kind,
        csrf_token: Option<String>,
        account_name: String,
        unread: i64,
        #[sqlx(flatten)]
        user: User,
    }
    let row: Option<Row> = sqlx::query_as(concat!(
        "SELECT s.token_hash, s.kind, s.csrf_token, a.name AS account_name, \
         u.unread_notifications AS unread, ",
        user_columns!(),
        " FROM sessions s \
          JOIN users u ON u.id = s.user_id AND u.account_id = s.account_id \
          JOIN accounts a ON a.id = s.account_id \
          WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| Session {
        token_hash: row.token_hash,
        kind: row.kind,
        csrf_token: row.csrf_token,
        unread: row.unread,
        account: Account {
            id: row.user.account_id.clone(),
            name: row.account_name,
        },
        user: row.user,
    }))
}

pub async fn delete(conn: &mut Conn, account_id: &str, token_hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND token_hash = $2")
        .bind(account_id)
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Signs a member out everywhere.
pub async fn delete_for_user(conn: &mut Conn, account_id: &str, user_id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND user_id = $2")
        .bind(account_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Counts one hit (a sign-in attempt, a sign-up) in a bucket's fixed window and returns
/// the window's total so far.
pub async fn count_login_attempt(
    conn: &mut Conn,
    bucket: &str,
    window_start: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO login_attempts (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = login_attempts.hits + 1 \
         RETURNING hits",
    )
    .bind(bucket)
    .bind(window_start)
    .fetch_one(conn)
    .await
}

/// Takes back one hit counted by [`count_login_attempt`] (a sign-in that succeeded).
pub async fn uncount_login_attempt(
    conn: &mut Conn,
    bucket: &str,
    window_start: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE login_attempts SET hits = hits - 1 \
         WHERE bucket = $1 AND window_start = $2 AND hits > 0",
    )
    .bind(bucket)
    .bind(window_start)
    .execute(conn)
    .await?;
    Ok(())
}

/// The hits a bucket's window holds so far (0 when it has none), without counting one.
pub async fn login_attempt_hits(
    conn: &mut Conn,
    bucket: &str,
    window_start: i64,
) -> sqlx::Result<i64> {
    let hits: Option<i64> = sqlx::query_scalar(
        "SELECT hits FROM login_attempts WHERE bucket = $1 AND window_start = $2",
    )
    .bind(bucket)
    .bind(window_start)
    .fetch_optional(conn)
    .await?;
    Ok(hits.unwrap_or(0))
}
