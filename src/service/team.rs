//! Settings -> Team: listing, inviting, accepting an invitation, changing roles and
//! (de)activating members.

use crate::domain::AuditAction;
use crate::domain::NotificationKind;
use serde_json::json;

use super::accounts::{SignedIn, start_session, unique_email};
use super::links::{self, Leaving};
use super::{Actor, notifications, secrets};
use crate::domain::Role;
use crate::domain::permissions::{self, Action, MemberChange};
use crate::domain::validate::{self, EmailAddress, FieldErrors};
use crate::error::{Error, Result};
use crate::store::invitations::{self, Invitation, NewInvitation, Which};
use crate::store::password_resets::{self, Reset, Whose};
use crate::store::sessions::{self, Kind};
use crate::store::users::{self, NewUser, User};
use crate::store::{Conn, Db, accounts, audit, now_ms};

/// How long an invitation link works.
pub const INVITATION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

pub async fn members(db: &Db, actor: &Actor) -> Result<Vec<User>> {
    permissions::check(actor.user.role, Action::ViewTeam)?;
    let mut conn = db.conn().await?;
    Ok(users::list(&mut conn, actor.account_id()).await?)
}

#[derive(Debug, Default, Clone)]
pub struct InviteInput {
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
}

/// A new invitation and the secret token of its link (shown once, stored only as a hash).
#[derive(Debug, Clone)]
pub struct Invited {
    pub invitation: Invitation,
    pub token: String,
}

#[tracing::instrument(skip_all, fields(account_id = %actor.account_id()))]
pub async fn invite(db: &Db, actor: &Actor, input: InviteInput) -> Result<Invited> {
    let mut errors = FieldErrors::default();
    let email = errors.check(
        "email",
        EmailAddress::parse(input.email.as_deref().unwrap_or_default()),
    );
    let name = errors.check(
        "name",
        validate::required_text(input.name.as_deref(), validate::NAME_MAX),
    );
    let role = errors.check("role", parse_role(input.role.as_deref()));
    // Permission first when the role is known: a Manager inviting a Manager is a 403, not a 422.
    if let Some(role) = role {
        permissions::check(actor.user.role, Action::Invite(role))?;
    } else {
        permissions::check(actor.user.role, Action::Invite(Role::Sales))?;
    }
    let (Some(email), Some(name), Some(role)) = (email, name, role) else {
        return Err(Error::Validation(errors));
    };

    let token = secrets::new_token();
    let id = secrets::new_id();
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    if users::email_taken(&mut tx, email.as_str()).await? {
        return Err(Error::conflict(
            "Someone with that email address already has an account.",
        ));
    }
    // Inviting again replaces a pending link, but only one the caller could withdraw: a
    // Manager must not silently cancel an Owner's invitation of a Manager.
    for pending in
        invitations::pending_for_email(&mut tx, actor.account_id(), email.as_str(), now).await?
    {
        if permissions::check(actor.user.role, Action::RevokeInvitation(pending.role)).is_err() {
            return Err(Error::conflict(format!(
                "{} already has a pending invitation as {} that only an Owner can replace.",
                pending.email,
                pending.role.label()
            )));
        }
    }
    invitations::revoke(
        &mut tx,
        actor.account_id(),
        Which::Email(email.as_str()),
        now,
    )
    .await?;
    let new = NewInvitation {
        id: &id,
        account_id: actor.account_id(),
        email: email.as_str(),
        name: &name,
        role,
        token_hash: &secrets::token_hash(&token),
        invited_by: &actor.user.id,
        expires_at: now + INVITATION_TTL_MS,
    };
    invitations::insert(&mut tx, &new, now).await?;
    audit::record(
        &mut tx,
        audit::NewEntry {
            account_id: actor.account_id(),
            actor_id: Some(&actor.user.id),
            action: AuditAction::TeamInvited,
            target: &format!("invitation:{id}"),
            before: None,
            after: Some(json!({"email": email.as_str(), "name": name, "role": role})),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    let invitation = Invitation {
        id,
        account_id: actor.account_id().to_owned(),
        email: email.into_string(),
        name,
        role,
        invited_by: actor.user.id.clone(),
        inviter_name: actor.user.name.clone(),
        inviter_role: actor.user.role,
        inviter_active: true,
        created_at: now,
        expires_at: now + INVITATION_TTL_MS,
    };
    Ok(Invited { invitation, token })
}

/// The invitation behind a link, if it can still be used (its issuer too must still be
/// allowed to issue it).
pub async fn find_invitation(db: &Db, token: &str) -> Result<Invitation> {
    let mut conn = db.conn().await?;
    usable_invitation(&mut conn, token, now_ms()).await
}

async fn usable_invitation(conn: &mut Conn, token: &str, now: i64) -> Result<Invitation> {
    invitations::find_pending(conn, &secrets::token_hash(token), now)
        .await?
        .filter(links::invitation_usable)
        .ok_or(Error::NotFound)
}

/// Accepts an invitation: creates the active member and signs them in.
#[tracing::instrument(skip_all)]
pub async fn accept(db: &Db, token: &str, password: Option<&str>, kind: Kind) -> Result<SignedIn> {
    // Unknown, used and expired links are 404 before anything else is looked at.
    let invited = find_invitation(db, token).await?;
    let password =
        validate::new_password(password, &[invited.email.as_str(), invited.name.as_str()])
            .map_err(|why| Error::field("password", why))?;
    let password_hash = secrets::hash_password(password).await?;

    let now = now_ms();
    let user_id = secrets::new_id();
    let mut tx = db.begin_write().await?;
    let invitation = usable_invitation(&mut tx, token, now).await?;
    db.lock_account(&mut tx, &invitation.account_id).await?;
    if !invitations::mark_accepted(&mut tx, &invitation.account_id, &invitation.id, now).await? {
        return Err(Error::NotFound);
    }
    if users::email_taken(&mut tx, &invitation.email).await? {
        return Err(super::accounts::email_taken());
    }
    let new_user = NewUser {
        id: &user_id,
        account_id: &invitation.account_id,
        name: &invitation.name,
        email: &invitation.email,
        password_hash: &password_hash,
        role: invitation.role,
    };
    users::insert(&mut tx, &new_user, now)
        .await
        .map_err(unique_email)?;
    audit::record(
        &mut tx,
        audit::NewEntry {
            account_id: &invitation.account_id,
            actor_id: Some(&user_id),
            action: AuditAction::TeamJoined,
            target: &format!("user:{user_id}"),
            before: None,
            after: Some(json!({"email": invitation.email, "name": invitation.name,
                               "role": invitation.role, "invitation": invitation.id})),
        },
        now,
    )
    .await?;
    let account = accounts::get(&mut tx, &invitation.account_id)
        .await?
        .ok_or(Error::NotFound)?;
    let user = users::get(&mut tx, &account.id, &user_id)
        .await?
        .ok_or(Error::NotFound)?;
    let (token, csrf_token) = start_session(&mut tx, &account.id, &user.id, kind, now).await?;
    tx.commit().await?;
    Ok(SignedIn {
        account,
        user,
        token,
        csrf_token,
    })
}

#[derive(Debug, Default, Clone)]
pub struct MemberUpdate {
    pub role: Option<Role>,
    pub active: Option<bool>,
}

pub fn parse_role(raw: Option<&str>) -> Result<Role, String> {
    match raw.map(str::trim) {
        None | Some("") => Err("is required".into()),
        Some(r) => Role::parse_field(r),
    }
}

/// Changes a member's role and/or active flag under every rule of the contract.
#[tracing::instrument(skip_all, fields(account_id = %actor.account_id(), user_id))]
pub async fn update_member(
    db: &Db,
    actor: &Actor,
    user_id: &str,
    change: MemberUpdate,
) -> Result<User> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    db.lock_account(&mut tx, actor.account_id()).await?;
    // The actor's role as it is now, not as it was when the request was authenticated: two
    // Owners demoting each other at once must not leave the team without one.
    let me = users::get(&mut tx, actor.account_id(), &actor.user.id)
        .await?
        .filter(|u| u.active)
        .ok_or_else(|| Error::Unauthorized("Your account is no longer active.".into()))?;
    let target = users::get(&mut tx, actor.account_id(), user_id)
        .await?
        .ok_or(Error::NotFound)?;
    permissions::check_member_change(
        me.role,
        MemberChange {
            target_role: target.role,
            new_role: change.role,
            is_self: target.id == actor.user.id,
        },
    )?;
    let role = change.role.unwrap_or(target.role);
    let active = change.active.unwrap_or(target.active);
    if role == target.role && active == target.active {
        return Ok(target);
    }
    if !role.is_sales_capable() && target.role.is_sales_capable() {
        let owned =
            crate::store::leads::count_owned(&mut tx, actor.account_id(), &target.id).await?;
        if owned > 0 {
            return Err(Error::conflict(format!(
                "{} still owns {owned} lead(s). Reassign them before making {} Accounting: \
                 Accounting never owns a lead.",
                target.name, target.name
            )));
        }
    }
    users::update_role_active(&mut tx, actor.account_id(), &target.id, role, active, now).await?;
    if users::count_active_owners(&mut tx, actor.account_id()).await? == 0 {
        return Err(Error::conflict(
            "The team must keep at least one active Owner.",
        ));
    }
    if !active {
        // Signed out everywhere at once; sign-in also checks `active` on every request.
        sessions::delete_for_user(&mut tx, actor.account_id(), &target.id).await?;
    }
    // The links they handed out die with the access that let them.
    if target.active && !active {
        links::revoke_for_change(&mut tx, actor, &target, Leaving::Deactivated, now).await?;
    } else if role.rank() < target.role.rank() {
        links::revoke_for_change(&mut tx, actor, &target, Leaving::Demoted, now).await?;
    }
    audit::record(
        &mut tx,
        audit::NewEntry {
            account_id: actor.account_id(),
            actor_id: Some(&actor.user.id),
            action: AuditAction::TeamUpdated,
            target: &format!("user:{}", target.id),
            before: Some(json!({"role": target.role, "active": target.active})),
            after: Some(json!({"role": role, "active": active})),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(User {
        role,
        active,
        ..target
    })
}

/// How long a password-reset link works.
pub const RESET_TTL_MS: i64 = 24 * 3600 * 1000;

/// A one-time link for a member to choose a new password (Owner only). The token is
/// shown once and stored as a hash.
pub async fn issue_password_reset(db: &Db, actor: &Actor, user_id: &str) -> Result<(String, i64)> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let target = users::get(&mut tx, actor.account_id(), user_id)
        .await?
        .ok_or(Error::NotFound)?;
    permissions::check(actor.user.role, Action::ResetPassword)?;
    let token = secrets::new_token();
    let expires_at = now + RESET_TTL_MS;
    let id = secrets::new_id();
    let new = password_resets::NewReset {
        id: &id,
        account_id: actor.account_id(),
        user_id: &target.id,
        token_hash: &secrets::token_hash(&token),
        created_by: &actor.user.id,
        expires_at,
    };
    password_resets::insert(&mut tx, &new, now).await?;
    audit::record(
        &mut tx,
        audit::NewEntry {
            account_id: actor.account_id(),
            actor_id: Some(&actor.user.id),
            action: AuditAction::PasswordResetIssued,
            target: &format!("user:{}", target.id),
            before: None,
            after: Some(json!({"expires_at": expires_at, "member_role": target.role})),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((token, expires_at))
}

/// Who a reset link is for, while it can still be used: (account name, member).
pub async fn find_reset(db: &Db, token: &str) -> Result<(String, User)> {
    let mut conn = db.conn().await?;
    let (reset, user) = usable_reset(&mut conn, token, now_ms()).await?;
    let account = accounts::get(&mut conn, &reset.account_id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok((account.name, user))
}

/// A link that can still be used, and its active member. Its issuer must still be allowed
/// to issue it; anything else is `404`, like an unknown link.
async fn usable_reset(conn: &mut Conn, token: &str, now: i64) -> Result<(Reset, User)> {
    let reset = password_resets::find_usable(conn, &secrets::token_hash(token), now)
        .await?
        .ok_or(Error::NotFound)?;
    let issuer = users::get(conn, &reset.account_id, &reset.created_by).await?;
    if !links::reset_usable(issuer.as_ref()) {
        return Err(Error::NotFound);
    }
    let user = users::get(conn, &reset.account_id, &reset.user_id)
        .await?
        .filter(|u| u.active)
        .ok_or(Error::NotFound)?;
    Ok((reset, user))
}

/// Sets a new password through a reset link: every other session of the member ends, and
/// this one starts signed in. Unknown, used, expired links (and inactive members) are 404.
pub async fn reset_password(
    db: &Db,
    token: &str,
    password: Option<&str>,
    kind: Kind,
) -> Result<SignedIn> {
    let (_, member) = find_reset(db, token).await?;
    let password = validate::new_password(password, &[member.email.as_str(), member.name.as_str()])
        .map_err(|why| Error::field("password", why))?;
    let hash = secrets::hash_password(password).await?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let (reset, user) = usable_reset(&mut tx, token, now).await?;
    let account_id = reset.account_id.clone();
    if !password_resets::mark_used(&mut tx, &account_id, &reset.id, now).await? {
        return Err(Error::NotFound);
    }
    // One link changes the password; every other one for this member dies with it.
    password_resets::revoke(&mut tx, &account_id, Whose::For, &user.id, now).await?;
    users::set_password_hash(&mut tx, &account_id, &user.id, &hash, now).await?;
    sessions::delete_for_user(&mut tx, &account_id, &user.id).await?;
    let issuer = users::get(&mut tx, &account_id, &reset.created_by)
        .await?
        .map_or_else(String::new, |u| u.name);
    audit::record(
        &mut tx,
        audit::NewEntry {
            account_id: &account_id,
            actor_id: Some(&user.id),
            action: AuditAction::PasswordReset,
            target: &format!("user:{}", user.id),
            before: None,
            after: Some(json!({"member_role": user.role, "issued_by": reset.created_by})),
        },
        now,
    )
    .await?;
    // Told in the app, so a reset they did not ask for does not go unnoticed.
    notifications::notify(
        &mut tx,
        &account_id,
        &user.id,
        NotificationKind::PasswordChanged,
        None,
        &format!(
            "Your password was changed with a reset link from {issuer}. If this wasn't you, \
             tell an Owner at once."
        ),
        now,
    )
    .await?;
    let account = accounts::get(&mut tx, &account_id)
        .await?
        .ok_or(Error::NotFound)?;
    let (token, csrf_token) = start_session(&mut tx, &account_id, &user.id, kind, now).await?;
    tx.commit().await?;
    Ok(SignedIn {
        account,
        user,
        token,
        csrf_token,
    })
}
