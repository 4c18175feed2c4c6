//! Pending invitations to join a team. The link's token is stored only as a hash.

use super::{Conn, Flag};
use crate::domain::Role;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invitation {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub invited_by: String,
    /// The issuer as they are now: a link dies with its issuer's right to issue it.
    pub inviter_name: String,
    #[sqlx(try_from = "String")]
    pub inviter_role: Role,
    #[sqlx(try_from = "Flag")]
    pub inviter_active: bool,
    pub created_at: i64,
    pub expires_at: i64,
}

pub struct NewInvitation<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub token_hash: &'a str,
    pub invited_by: &'a str,
    pub expires_at: i64,
}

/// Every read of an invitation joins its issuer.
macro_rules! select_invitations {
    ($where:literal) => {
        concat!(
            "SELECT i.id, i.account_id, i.email, i.name, i.role, i.invited_by, i.created_at, \
             i.expires_at, u.name AS inviter_name, u.role AS inviter_role, u.active AS inviter_active \
             FROM invitations i JOIN users u ON u.account_id = i.account_id AND u.id = i.invited_by \
             WHERE i.accepted_at IS NULL AND i.revoked_at IS NULL AND ",
            $where
        )
    };
}

pub async fn insert(conn: &mut Conn, inv: &NewInvitation<'_>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO invitations (id, account_id, email, name, role, token_hash, invited_by, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(inv.id)
    .bind(inv.account_id)
    .bind(inv.email)
    .bind(inv.name)
    .bind(inv.role.as_str())
    .bind(inv.token_hash)
    .bind(inv.invited_by)
    .bind(now)
    .bind(inv.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A pending invitation by id.
pub async fn get_pending(
    conn: &mut Conn,
    account_id: &str,
    id: &str,
    now: i64,
) -> sqlx::Result<Option<Invitation>> {
    sqlx::query_as(select_invitations!(
        "i.account_id = $1 AND i.id = $2 AND i.expires_at > $3"
    ))
    .bind(account_id)
    .bind(id)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// The pending invitations for one email (re-inviting replaces them).
pub async fn pending_for_email(
    conn: &mut Conn,
    account_id: &str,
    email: &str,
    now: i64,
) -> sqlx::Result<Vec<Invitation>> {
    sqlx::query_as(select_invitations!(
        "i.account_id = $1 AND i.email = $2 AND i.expires_at > $3"
    ))
    .bind(account_id)
    .bind(email)
    .bind(now)
    .fetch_all(conn)
    .await
}

/// Which pending invitations to withdraw.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// One, by id.
    Id(&'a str),
    /// Those for an email (inviting it again replaces them).
    Email(&'a str),
    /// Those a member issued.
    IssuedBy(&'a str),
}

/// Withdraws the pending invitations `which` names; returns how many (0 when another
/// request used or withdrew them first).
pub async fn revoke(
    conn: &mut Conn,
    account_id: &str,
    which: Which<'_>,
    now: i64,
) -> sqlx::Result<u64> {
    let (sql, value) = match which {
        Which::Id(id) => (
            "UPDATE invitations SET revoked_at = $1 WHERE account_id = $2 AND id = $3 \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
            id,
        ),
        Which::Email(email) => (
            "UPDATE invitations SET revoked_at = $1 WHERE account_id = $2 AND email = $3 \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
            email,
        ),
        Which::IssuedBy(user_id) => (
            "UPDATE invitations SET revoked_at = $1 WHERE account_id = $2 AND invited_by = $3 \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
            user_id,
        ),
    };
    let done = sqlx::query(sql)
        .bind(now)
        .bind(account_id)
        .bind(value)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// A usable invitation: unknown, used, withdrawn and expired ones are all `None`.
pub async fn find_pending(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<Invitation>> {
    sqlx::query_as(select_invitations!(
        "i.token_hash = $1 AND i.expires_at > $2"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Marks an invitation used; false when another request used it first.
pub async fn mark_accepted(
    conn: &mut Conn,
    account_id: &str,
    id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE invitations SET accepted_at = $1 \
         WHERE account_id = $2 AND id = $3 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(account_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Pending invitations of an account, newest first.
pub async fn list_pending(
    conn: &mut Conn,
    account_id: &str,
    now: i64,
) -> sqlx::Result<Vec<Invitation>> {
    sqlx::query_as(select_invitations!(
        "i.account_id = $1 AND i.expires_at > $2 ORDER BY i.created_at DESC, i.id"
    ))
    .bind(account_id)
    .bind(now)
    .fetch_all(conn)
    .await
}
