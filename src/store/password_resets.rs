//! One-time password-reset links an Owner issues for a member (only the token's hash).
//! A link works while it is unused, unexpired and not withdrawn.

use super::Conn;

pub struct NewReset<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub user_id: &'a str,
    pub token_hash: &'a str,
    pub created_by: &'a str,
    pub expires_at: i64,
}

/// A usable link: who it is for and who issued it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Reset {
    pub id: String,
    pub account_id: String,
    pub user_id: String,
    pub created_by: String,
}

pub async fn insert(conn: &mut Conn, reset: &NewReset<'_>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO password_resets (id, account_id, user_id, token_hash, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(reset.id)
    .bind(reset.account_id)
    .bind(reset.user_id)
    .bind(reset.token_hash)
    .bind(reset.created_by)
    .bind(now)
    .bind(reset.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The link behind a token, if it can still be used.
pub async fn find_usable(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<Reset>> {
    sqlx::query_as(
        "SELECT id, account_id, user_id, created_by FROM password_resets \
         WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Uses a link up; false when another request used or withdrew it first.
pub async fn mark_used(
    conn: &mut Conn,
    account_id: &str,
    id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE password_resets SET used_at = $1 \
         WHERE account_id = $2 AND id = $3 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(account_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whose links to withdraw: the ones a member issued, or the ones issued for a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    IssuedBy,
    For,
}

/// Withdraws every pending link issued by or for `user_id`; returns how many.
pub async fn revoke(
    conn: &mut Conn,
    account_id: &str,
    whose: Whose,
    user_id: &str,
    now: i64,
) -> sqlx::Result<u64> {
    let sql = match whose {
        Whose::IssuedBy => {
            "UPDATE password_resets SET revoked_at = $1 WHERE account_id = $2 AND created_by = $3 \
             AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1"
        }
        Whose::For => {
            "UPDATE password_resets SET revoked_at = $1 WHERE account_id = $2 AND user_id = $3 \
             AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1"
        }
    };
    let done = sqlx::query(sql)
        .bind(now)
        .bind(account_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// The members who have a usable link waiting (for the Team page's "Revoke reset links").
pub async fn members_with_pending(
    conn: &mut Conn,
    account_id: &str,
    now: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT DISTINCT user_id FROM password_resets WHERE account_id = $1 \
         AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(account_id)
    .bind(now)
    .fetch_all(conn)
    .await
}
