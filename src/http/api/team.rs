//! Settings -> Team over the API: members, invitations, role and active changes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{UserJson, UserRef, base_url};
use crate::app::AppState;
use crate::domain::Role;
use crate::error::{Error, Result};
use crate::http::auth::ApiUser;
use crate::http::error::ErrorBody;
use crate::http::extract::ApiJson;
use crate::http::rfc3339;
use crate::service::links;
use crate::service::team::{self, InviteInput, MemberUpdate};
use crate::store::sessions::Kind;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(invite, list_invitations))
        .routes(routes!(revoke_invitation))
        .routes(routes!(revoke_password_resets))
        .routes(routes!(accept_invitation))
        .routes(routes!(update_member))
        .routes(routes!(issue_password_reset))
        .routes(routes!(reset_password))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamResponse {
    /// In team order: the order members joined.
    members: Vec<UserJson>,
}

/// The team, in the order members joined. Any role.
#[utoipa::path(get, path = "/api/v1/team", tag = "team", security(("bearer" = [])),
    responses((status = 200, body = TeamResponse), (status = 401, body = ErrorBody)))]
async fn list_members(
    State(state): State<AppState>,
    caller: ApiUser,
) -> Result<Json<TeamResponse>> {
    let members = team::members(&state.db, &caller.actor).await?;
    Ok(Json(TeamResponse {
        members: members.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteRequest {
    #[schema(required = true, value_type = String)]
    email: Option<String>,
    #[schema(required = true, value_type = String)]
    name: Option<String>,
    #[schema(required = true, value_type = Role)]
    role: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationJson {
    id: String,
    email: String,
    name: String,
    role: Role,
    /// The secret of the link; shown only in this response.
    token: String,
    /// The page where the invitee sets a password.
    accept_url: String,
    #[schema(format = DateTime)]
    expires_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InviteResponse {
    invitation: InvitationJson,
}

/// Invite a member. Owner or Manager; only an Owner may invite an Owner or Manager.
#[utoipa::path(post, path = "/api/v1/team/invitations", tag = "team", security(("bearer" = [])),
    request_body = InviteRequest,
    responses((status = 201, body = InviteResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "Email already has an account, or an invitation for it that only an Owner can replace", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "Too many sign-ups and invitations from this address", body = ErrorBody)))]
async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    caller: ApiUser,
    ApiJson(body): ApiJson<InviteRequest>,
) -> Result<(StatusCode, Json<InviteResponse>)> {
    let input = InviteInput {
        email: body.email,
        name: body.name,
        role: body.role,
    };
    let address = crate::http::client_address(&extensions);
    let throttle = crate::service::accounts::Throttle {
        address: &address,
        per_minute: state.config.signup_rate_limit,
    };
    crate::service::accounts::throttle_new_accounts(&state.db, &throttle).await?;
    let invited = team::invite(&state.db, &caller.actor, input).await?;
    let inv = invited.invitation;
    let accept_url = format!(
        "{}/invitations/{}",
        base_url(&state, &headers),
        invited.token
    );
    Ok((
        StatusCode::CREATED,
        Json(InviteResponse {
            invitation: InvitationJson {
                id: inv.id,
                email: inv.email,
                name: inv.name,
                role: inv.role,
                token: invited.token,
                accept_url,
                expires_at: rfc3339(inv.expires_at),
            },
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PendingInvitationJson {
    id: String,
    email: String,
    name: String,
    role: Role,
    #[schema(format = DateTime)]
    expires_at: String,
    invited_by: UserRef,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationsResponse {
    /// Pending ones (not accepted, withdrawn or expired), newest first.
    invitations: Vec<PendingInvitationJson>,
}

/// Pending invitations. Owner or Manager.
#[utoipa::path(get, path = "/api/v1/team/invitations", tag = "team", security(("bearer" = [])),
    responses((status = 200, body = InvitationsResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn list_invitations(
    State(state): State<AppState>,
    caller: ApiUser,
) -> Result<Json<InvitationsResponse>> {
    let pending = links::pending_invitations(&state.db, &caller.actor).await?;
    Ok(Json(InvitationsResponse {
        invitations: pending
            .into_iter()
            .map(|inv| PendingInvitationJson {
                id: inv.id,
                email: inv.email,
                name: inv.name,
                role: inv.role,
                expires_at: rfc3339(inv.expires_at),
                invited_by: UserRef {
                    id: inv.invited_by,
                    name: inv.inviter_name,
                },
            })
            .collect(),
    }))
}

/// Withdraw a pending invitation: its link answers 404 from now on. Owner or Manager; only
/// an Owner may withdraw an invitation for an Owner or Manager.
#[utoipa::path(delete, path = "/api/v1/team/invitations/{id}", tag = "team", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "Withdrawn"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No pending invitation with that id", body = ErrorBody)))]
async fn revoke_invitation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: ApiUser,
) -> Result<StatusCode> {
    links::revoke_invitation(&state.db, &caller.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Withdraw every pending password-reset link of a member. Owner or Manager; only an Owner
/// may withdraw an Owner's or Manager's links.
#[utoipa::path(delete, path = "/api/v1/team/{user_id}/password-resets", tag = "team", security(("bearer" = [])),
    params(("user_id" = String, Path)),
    responses((status = 204, description = "Withdrawn (also when there were none)"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn revoke_password_resets(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    caller: ApiUser,
) -> Result<StatusCode> {
    links::revoke_resets(&state.db, &caller.actor, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AcceptRequest {
    /// At least 8 characters.
    #[schema(required = true, value_type = String, min_length = 8, max_length = 256)]
    password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptResponse {
    user: UserJson,
    token: String,
}

/// Accept an invitation: the new member is active and signed in.
#[utoipa::path(post, path = "/api/v1/invitations/{token}/accept", tag = "team",
    params(("token" = String, Path, description = "The invitation's token")),
    request_body = AcceptRequest,
    responses((status = 201, body = AcceptResponse), (status = 400, body = ErrorBody),
        (status = 404, description = "Unknown, used or expired invitation", body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "The server is busy setting passwords", body = ErrorBody)))]
async fn accept_invitation(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ApiJson(body): ApiJson<AcceptRequest>,
) -> Result<(StatusCode, Json<AcceptResponse>)> {
    let signed_in = team::accept(&state.db, &token, body.password.as_deref(), Kind::Api).await?;
    Ok((
        StatusCode::CREATED,
        Json(AcceptResponse {
            user: signed_in.user.into(),
            token: signed_in.token,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberPatch {
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
    active: Option<bool>,
}

/// Change a member's role or active flag. Owner or Manager, under the team rules.
#[utoipa::path(patch, path = "/api/v1/team/{user_id}", tag = "team", security(("bearer" = [])),
    params(("user_id" = String, Path)),
    request_body = MemberPatch,
    responses((status = 200, body = UserJson), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Would leave no active Owner", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_member(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    caller: ApiUser,
    ApiJson(body): ApiJson<MemberPatch>,
) -> Result<Json<UserJson>> {
    let role = match body.role {
        None => None,
        Some(raw) => Some(team::parse_role(Some(&raw)).map_err(|why| Error::field("role", why))?),
    };
    let user = team::update_member(
        &state.db,
        &caller.actor,
        &user_id,
        MemberUpdate {
            role,
            active: body.active,
        },
    )
    .await?;
    Ok(Json(user.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordResetJson {
    /// The one-time page where the member chooses a new password; shown only here.
    reset_url: String,
    #[schema(format = DateTime)]
    expires_at: String,
}

/// Issue a one-time password-reset link for a member. Owner only.
#[utoipa::path(post, path = "/api/v1/team/{user_id}/password-reset", tag = "team", security(("bearer" = [])),
    params(("user_id" = String, Path)),
    responses((status = 201, body = PasswordResetJson), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn issue_password_reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    caller: ApiUser,
) -> Result<(StatusCode, Json<PasswordResetJson>)> {
    let (token, expires_at) =
        team::issue_password_reset(&state.db, &caller.actor, &user_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(PasswordResetJson {
            reset_url: format!("{}/reset/{token}", base_url(&state, &headers)),
            expires_at: rfc3339(expires_at),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequest {
    /// At least 8 characters.
    #[schema(required = true, value_type = String, min_length = 8, max_length = 256)]
    password: Option<String>,
}

/// Choose a new password through a reset link: the member's other sessions end, and the
/// answer signs them in. 404 for an unknown, used or expired link.
#[utoipa::path(post, path = "/api/v1/password-resets/{token}", tag = "team",
    params(("token" = String, Path)), request_body = ResetRequest,
    responses((status = 200, body = AcceptResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "The server is busy setting passwords", body = ErrorBody)))]
async fn reset_password(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<Json<AcceptResponse>> {
    let signed_in =
        team::reset_password(&state.db, &token, body.password.as_deref(), Kind::Api).await?;
    Ok(Json(AcceptResponse {
        user: signed_in.user.into(),
        token: signed_in.token,
    }))
}
