//! The links members hand out (invitations and password resets): who may withdraw them, and
//! the rule that a link dies with its issuer's right to issue it. Deactivating or demoting a
//! member withdraws every link they issued; a link is also checked against its issuer when
//! used, so one issued before that rule existed cannot outlive its issuer either.

use crate::domain::AuditAction;
use serde_json::json;

use super::Actor;
use crate::domain::Role;
use crate::domain::permissions::{self, Action};
use crate::error::{Error, Result};
use crate::store::invitations::{self, Invitation, Which};
use crate::store::password_resets::{self, Whose};
use crate::store::users::{self, User};
use crate::store::{Conn, Db, audit, now_ms};

/// Pending invitations, newest first. For whoever may invite (`403` otherwise).
pub async fn pending_invitations(db: &Db, actor: &Actor) -> Result<Vec<Invitation>> {
    permissions::check(actor.user.role, Action::Invite(Role::Sales))?;
    let mut conn = db.conn().await?;
    Ok(invitations::list_pending(&mut conn, actor.account_id(), now_ms()).await?)
}

/// The members with a usable reset link waiting, for those who may withdraw them.
pub async fn members_with_pending_resets(db: &Db, actor: &Actor) -> Result<Vec<String>> {
    permissions::check(actor.user.role, Action::Invite(Role::Sales))?;
    let mut conn = db.conn().await?;
    Ok(password_resets::members_with_pending(&mut conn, actor.account_id(), now_ms()).await?)
}

/// Can this invitation still be accepted? Its issuer must still be active and still allowed
/// to invite its role.
pub fn invitation_usable(inv: &Invitation) -> bool {
    inv.inviter_active && permissions::check(inv.inviter_role, Action::Invite(inv.role)).is_ok()
}

/// Can a reset link issued by `issuer` still be used? The issuer must still be an active
/// member allowed to issue it.
pub fn reset_usable(issuer: Option<&User>) -> bool {
    issuer.is_some_and(|u| u.active && permissions::check(u.role, Action::ResetPassword).is_ok())
}

/// Withdraws one pending invitation (`404` when there is none by that id).
#[tracing::instrument(skip_all, fields(account_id = %actor.account_id()))]
pub async fn revoke_invitation(db: &Db, actor: &Actor, id: &str) -> Result<()> {
    permissions::check(actor.user.role, Action::Invite(Role::Sales))?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let inv = invitations::get_pending(&mut tx, actor.account_id(), id, now)
        .await?
        .ok_or(Error::NotFound)?;
    permissions::check(actor.user.role, Action::RevokeInvitation(inv.role))?;
    if invitations::revoke(&mut tx, actor.account_id(), Which::Id(&inv.id), now).await? == 0 {
        return Err(Error::NotFound);
    }
    audit::record(
        &mut tx,
        audit::NewEntry {
            account_id: actor.account_id(),
            actor_id: Some(&actor.user.id),
            action: AuditAction::InvitationRevoked,
            target: &format!("invitation:{}", inv.id),
            before: Some(
                json!({"email": inv.email, "name": inv.name, "role": inv.role,
                                "invited_by": inv.invited_by}),
            ),
            after: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Withdraws every pending password-reset link for a member; returns how many.
#[tracing::instrument(skip_all, fields(account_id = %actor.account_id()))]
pub async fn revoke_resets(db: &Db, actor: &Actor, user_id: &str) -> Result<u64> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let member = users::get(&mut tx, actor.account_id(), user_id)
        .await?
        .ok_or(Error::NotFound)?;
    permissions::check(actor.user.role, Action::RevokeResets(member.role))?;
    let revoked =
        password_resets::revoke(&mut tx, actor.account_id(), Whose::For, &member.id, now).await?;
    if revoked > 0 {
        audit::record(
            &mut tx,
            audit::NewEntry {
                account_id: actor.account_id(),
                actor_id: Some(&actor.user.id),
                action: AuditAction::PasswordResetsRevoked,
                target: &format!("user:{}", member.id),
                before: None,
                after: Some(json!({"password_resets": revoked})),
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(revoked)
}

/// Why a member's links are being withdrawn along with a change to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaving {
    Deactivated,
    Demoted,
}

/// Inside a team change's transaction: withdraws every link `member` issued, and, when they
/// are deactivated, the reset links issued for them (a reactivation must not revive them).
/// Audited when anything was withdrawn.
pub(crate) async fn revoke_for_change(
    tx: &mut Conn,
    actor: &Actor,
    member: &User,
    why: Leaving,
    now: i64,
) -> Result<()> {
    let account_id = actor.account_id();
    let invitations = invitations::revoke(tx, account_id, Which::IssuedBy(&member.id), now).await?;
    let mut resets =
        password_resets::revoke(tx, account_id, Whose::IssuedBy, &member.id, now).await?;
    if why == Leaving::Deactivated {
        resets += password_resets::revoke(tx, account_id, Whose::For, &member.id, now).await?;
    }
    if invitations + resets == 0 {
        return Ok(());
    }
    let reason = match why {
        Leaving::Deactivated => "deactivated",
        Leaving::Demoted => "demoted",
    };
    audit::record(
        tx,
        audit::NewEntry {
            account_id,
            actor_id: Some(&actor.user.id),
            action: AuditAction::LinksRevoked,
            target: &format!("user:{}", member.id),
            before: None,
            after: Some(
                json!({"reason": reason, "invitations": invitations, "password_resets": resets}),
            ),
        },
        now,
    )
    .await?;
    Ok(())
}
