//! Sign-up, login, logout and "who am I".

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AccountJson, UserJson};
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::http::auth::ApiUser;
use crate::http::error::ErrorBody;
use crate::http::extract::ApiJson;
use crate::service::accounts::{self, SignupInput};
use crate::store::sessions::Kind;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupRequest {
    #[schema(required = true, value_type = String)]
    account_name: Option<String>,
    #[schema(required = true, value_type = String)]
    name: Option<String>,
    #[schema(required = true, value_type = String)]
    email: Option<String>,
    /// At least 8 characters.
    #[schema(required = true, value_type = String, min_length = 8, max_length = 256)]
    password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResponse {
    account: AccountJson,
    user: UserJson,
    /// Bearer token for `Authorization: Bearer <token>`.
    token: String,
}

/// Create an account and its Owner.
#[utoipa::path(post, path = "/api/v1/signup", tag = "accounts", request_body = SignupRequest,
    responses(
        (status = 201, body = SignupResponse),
        (status = 400, body = ErrorBody), (status = 409, description = "Email already in use", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "Too many sign-ups and invitations from this address, or the server is busy", body = ErrorBody)))]
async fn signup(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    ApiJson(body): ApiJson<SignupRequest>,
) -> Result<(StatusCode, Json<SignupResponse>)> {
    let input = SignupInput {
        account_name: body.account_name,
        name: body.name,
        email: body.email,
        password: body.password,
    };
    let address = crate::http::client_address(&extensions);
    let throttle = accounts::Throttle {
        address: &address,
        per_minute: state.config.signup_rate_limit,
    };
    accounts::throttle_new_accounts(&state.db, &throttle).await?;
    let signed_in = accounts::signup(&state.db, input, Kind::Api).await?;
    Ok((
        StatusCode::CREATED,
        Json(SignupResponse {
            account: signed_in.account.into(),
            user: signed_in.user.into(),
            token: signed_in.token,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(required = true, value_type = String)]
    email: Option<String>,
    #[schema(required = true, value_type = String)]
    password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    user: UserJson,
    token: String,
}

/// Sign in and get a bearer token.
#[utoipa::path(post, path = "/api/v1/login", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody),
        (status = 401, description = "Bad credentials or inactive member", body = ErrorBody),
        (status = 429, description = "Too many failed sign-in attempts from this address, or for this email from this address", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>> {
    let mut errors = crate::domain::validate::FieldErrors::default();
    if body.email.as_deref().is_none_or(|e| e.trim().is_empty()) {
        errors.add("email", "is required");
    }
    if body.password.as_deref().is_none_or(str::is_empty) {
        errors.add("password", "is required");
    }
    Error::check_fields(errors)?;
    let address = crate::http::client_address(&extensions);
    let throttle = accounts::Throttle {
        address: &address,
        per_minute: state.config.login_rate_limit,
    };
    let signed_in = accounts::login(
        &state.db,
        body.email.as_deref().unwrap_or_default(),
        body.password.as_deref().unwrap_or_default(),
        Kind::Api,
        throttle,
    )
    .await?;
    Ok(Json(LoginResponse {
        user: signed_in.user.into(),
        token: signed_in.token,
    }))
}

/// End this session; the token stops working.
#[utoipa::path(post, path = "/api/v1/logout", tag = "accounts", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(State(state): State<AppState>, caller: ApiUser) -> Result<StatusCode> {
    accounts::logout(&state.db, &caller.session).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    user: UserJson,
    account: AccountJson,
}

/// The signed-in member and their account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
async fn me(caller: ApiUser) -> Json<MeResponse> {
    Json(MeResponse {
        user: caller.actor.user.into(),
        account: caller.actor.account.into(),
    })
}
