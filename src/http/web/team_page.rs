//! Settings -> Team: the member list, role changes, (de)activation and invitations.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::auth_pages::form_failure;
use super::{Nav, PageResult, banner};
use crate::app::AppState;
use crate::domain::Role;
use crate::domain::permissions::{self, Action, MemberChange};
use crate::domain::validate::FieldErrors;
use crate::error::{Error, Result};
use crate::http::api::base_url;
use crate::http::auth::WebUser;
use crate::http::date_display;
use crate::service::links;
use crate::service::team::{self, InviteInput, MemberUpdate};
use crate::store::users::User;

pub struct MemberRow {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    role_label: &'static str,
    active: bool,
    is_you: bool,
    /// The roles the viewer may give this member; empty when they may not change it.
    role_choices: Vec<(&'static str, &'static str)>,
    can_toggle: bool,
    /// The viewer may issue this member a password-reset link.
    can_reset: bool,
    /// The member has reset links waiting that the viewer may withdraw.
    can_revoke_resets: bool,
}

pub struct PendingRow {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    created: String,
    invited_by: String,
    /// The viewer may withdraw it.
    can_revoke: bool,
}

pub struct InviteLink {
    name: String,
    email: String,
    url: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "team.html")]
pub struct TeamPage {
    nav: Option<Nav>,
    csrf_token: String,
    members: Vec<MemberRow>,
    can_manage: bool,
    can_invite: bool,
    invite_roles: Vec<(&'static str, &'static str)>,
    pending: Vec<PendingRow>,
    invite_email: String,
    invite_name: String,
    invite_role: String,
    errors: FieldErrors,
    invite_link: Option<InviteLink>,
    reset_link: Option<InviteLink>,
    notice: Option<&'static str>,
    page_error: Option<String>,
}

impl MemberRow {
    fn has_actions(&self) -> bool {
        self.can_toggle || self.can_reset || self.can_revoke_resets
    }
}

fn member_row(viewer: &User, member: User, pending_resets: &[String]) -> MemberRow {
    let is_self = viewer.id == member.id;
    let change = |new_role| MemberChange {
        target_role: member.role,
        new_role,
        is_self,
    };
    let role_choices = if permissions::check_member_change(viewer.role, change(None)).is_ok() {
        Role::ALL
            .into_iter()
            .filter(|r| {
                *r == member.role
                    || permissions::check_member_change(viewer.role, change(Some(*r))).is_ok()
            })
            .map(|r| (r.as_str(), r.label()))
            .collect()
    } else {
        Vec::new()
    };
    MemberRow {
        can_reset: !is_self && permissions::check(viewer.role, Action::ResetPassword).is_ok(),
        can_revoke_resets: pending_resets.contains(&member.id)
            && permissions::check(viewer.role, Action::RevokeResets(member.role)).is_ok(),
        can_toggle: !role_choices.is_empty(),
        role_choices,
        id: member.id,
        name: member.name,
        email: member.email,
        role: member.role.as_str(),
        role_label: member.role.label(),
        active: member.active,
        is_you: is_self,
    }
}

async fn page(state: &AppState, user: &WebUser) -> Result<TeamPage> {
    let members = team::members(&state.db, &user.actor).await?;
    let viewer = &user.actor.user;
    let invite_roles: Vec<_> = Role::ALL
        .into_iter()
        .filter(|r| permissions::check(viewer.role, Action::Invite(*r)).is_ok())
        .map(|r| (r.as_str(), r.label()))
        .collect();
    let (pending, pending_resets) = if invite_roles.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        (
            links::pending_invitations(&state.db, &user.actor).await?,
            links::members_with_pending_resets(&state.db, &user.actor).await?,
        )
    };
    let members: Vec<MemberRow> = members
        .into_iter()
        .map(|m| member_row(viewer, m, &pending_resets))
        .collect();
    Ok(TeamPage {
        nav: Some(Nav::new(user, "team")),
        csrf_token: user.csrf_token().to_owned(),
        // The actions column is there when the table allows the viewer something in it.
        can_manage: members.iter().any(|m| m.has_actions()),
        members,
        can_invite: !invite_roles.is_empty(),
        invite_roles,
        pending: pending
            .into_iter()
            .map(|p| PendingRow {
                can_revoke: permissions::check(viewer.role, Action::RevokeInvitation(p.role))
                    .is_ok(),
                id: p.id,
                name: p.name,
                email: p.email,
                role: p.role.label(),
                created: date_display(p.created_at),
                invited_by: p.inviter_name,
            })
            .collect(),
        invite_email: String::new(),
        invite_name: String::new(),
        invite_role: Role::Sales.as_str().to_owned(),
        errors: FieldErrors::default(),
        invite_link: None,
        reset_link: None,
        notice: None,
        page_error: None,
    })
}

#[derive(Debug, Deserialize)]
pub struct TeamQuery {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<TeamQuery>,
) -> PageResult {
    let mut page = page(&state, &user).await?;
    page.notice = match query.done.as_deref() {
        Some("role") => Some("Role changed."),
        Some("deactivated") => Some("Member deactivated. They are signed out everywhere."),
        Some("reactivated") => Some("Member reactivated. They can sign in again."),
        Some("invitation_revoked") => Some("Invitation withdrawn. Its link no longer works."),
        Some("resets_revoked") => Some("Password-reset links withdrawn. They no longer work."),
        _ => None,
    };
    Ok(page.into_response())
}

/// Shows the Team page again with what went wrong; a member or link that is not there is
/// the error page.
async fn shown_again(state: &AppState, user: &WebUser, err: Error) -> PageResult {
    if matches!(err, Error::NotFound) {
        return Err(err.into());
    }
    let mut page = page(state, user).await?;
    let status = err.status();
    page.page_error = Some(banner(err));
    Ok((status, page).into_response())
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    email: Option<String>,
    name: Option<String>,
    role: Option<String>,
}

pub async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    user: WebUser,
    Form(form): Form<InviteForm>,
) -> PageResult {
    let input = InviteInput {
        email: form.email.clone(),
        name: form.name.clone(),
        role: form.role.clone(),
    };
    let address = crate::http::client_address(&extensions);
    let throttle = crate::service::accounts::Throttle {
        address: &address,
        per_minute: state.config.signup_rate_limit,
    };
    let limited = crate::service::accounts::throttle_new_accounts(&state.db, &throttle).await;
    let outcome = match limited {
        Ok(()) => team::invite(&state.db, &user.actor, input).await,
        Err(err) => Err(err),
    };
    let mut page = page(&state, &user).await?;
    Ok(match outcome {
        Ok(invited) => {
            page.invite_link = Some(InviteLink {
                url: format!(
                    "{}/invitations/{}",
                    base_url(&state, &headers),
                    invited.token
                ),
                name: invited.invitation.name,
                email: invited.invitation.email,
            });
            (StatusCode::CREATED, page).into_response()
        }
        Err(err) => {
            let (status, errors, form_error) = form_failure(err);
            page.errors = errors;
            page.page_error = form_error;
            page.invite_email = form.email.unwrap_or_default();
            page.invite_name = form.name.unwrap_or_default();
            page.invite_role = form.role.unwrap_or_default();
            (status, page).into_response()
        }
    })
}

#[derive(Debug, Deserialize)]
pub struct MemberForm {
    role: Option<String>,
    active: Option<String>,
}

pub async fn update_member(
    State(state): State<AppState>,
    user: WebUser,
    Path(user_id): Path<String>,
    Form(form): Form<MemberForm>,
) -> PageResult {
    let parsed = (|| -> Result<MemberUpdate> {
        let role = match form.role.as_deref() {
            None => None,
            Some(raw) => {
                Some(team::parse_role(Some(raw)).map_err(|why| Error::field("role", why))?)
            }
        };
        let active = match form.active.as_deref() {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(Error::field("active", "must be true or false")),
        };
        Ok(MemberUpdate { role, active })
    })();
    let result = match parsed {
        Ok(change) => team::update_member(&state.db, &user.actor, &user_id, change.clone())
            .await
            .map(|_| change),
        Err(err) => Err(err),
    };
    match result {
        Ok(change) => {
            let done = match change.active {
                Some(false) => "deactivated",
                Some(true) => "reactivated",
                None => "role",
            };
            Ok(Redirect::to(&format!("/settings/team?done={done}")).into_response())
        }
        Err(err) => shown_again(&state, &user, err).await,
    }
}

/// Issues a password-reset link and shows it once, ready to copy.
pub async fn issue_reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: WebUser,
    Path(user_id): Path<String>,
) -> PageResult {
    let (token, _) = match team::issue_password_reset(&state.db, &user.actor, &user_id).await {
        Ok(issued) => issued,
        Err(err) => return shown_again(&state, &user, err).await,
    };
    let mut page = page(&state, &user).await?;
    let member = page.members.iter().find(|m| m.id == user_id);
    page.reset_link = Some(InviteLink {
        name: member.map(|m| m.name.clone()).unwrap_or_default(),
        email: member.map(|m| m.email.clone()).unwrap_or_default(),
        url: format!("{}/reset/{token}", base_url(&state, &headers)),
    });
    Ok((StatusCode::CREATED, page).into_response())
}

/// Withdraws a pending invitation from the Team page.
pub async fn revoke_invitation(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> PageResult {
    let done = links::revoke_invitation(&state.db, &user.actor, &id).await;
    after_revoke(&state, &user, done, "invitation_revoked").await
}

/// Withdraws a member's pending password-reset links from the Team page.
pub async fn revoke_resets(
    State(state): State<AppState>,
    user: WebUser,
    Path(user_id): Path<String>,
) -> PageResult {
    let done = links::revoke_resets(&state.db, &user.actor, &user_id)
        .await
        .map(drop);
    after_revoke(&state, &user, done, "resets_revoked").await
}

async fn after_revoke(
    state: &AppState,
    user: &WebUser,
    done: Result<()>,
    notice: &str,
) -> PageResult {
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/settings/team?done={notice}")).into_response()),
        Err(err) => shown_again(state, user, err).await,
    }
}
