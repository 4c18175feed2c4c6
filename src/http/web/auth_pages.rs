//! Sign up, sign in, sign out and accepting an invitation, as pages.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Nav, error_page, session_cookie, signed_in_redirect};
use crate::app::AppState;
use crate::domain::validate::FieldErrors;
use crate::error::Error;
use crate::http::auth::{MaybeWebUser, WebUser};
use crate::service::accounts::{self, SignupInput};
use crate::service::team;
use crate::store::sessions::Kind;

#[derive(Template, WebTemplate, Default)]
#[template(path = "signup.html")]
pub struct SignupPage {
    nav: Option<Nav>,
    account_name: String,
    name: String,
    email: String,
    errors: FieldErrors,
    form_error: Option<String>,
}

pub async fn signup_page(MaybeWebUser(user): MaybeWebUser) -> Response {
    if user.is_some() {
        return Redirect::to("/").into_response();
    }
    SignupPage::default().into_response()
}

#[derive(Debug, Deserialize)]
pub struct SignupForm {
    account_name: Option<String>,
    name: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

pub async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(form): Form<SignupForm>,
) -> Response {
    let input = SignupInput {
        account_name: form.account_name.clone(),
        name: form.name.clone(),
        email: form.email.clone(),
        password: form.password,
    };
    let address = crate::http::client_address(&extensions);
    let throttle = accounts::Throttle {
        address: &address,
        per_minute: state.config.signup_rate_limit,
    };
    let outcome = match accounts::throttle_new_accounts(&state.db, &throttle).await {
        Ok(()) => accounts::signup(&state.db, input, Kind::Web).await,
        Err(err) => Err(err),
    };
    match outcome {
        Ok(signed_in) => signed_in_redirect(&state, &headers, &signed_in.token, "/settings/team"),
        Err(err) => {
            let (status, errors, form_error) = form_failure(err);
            let page = SignupPage {
                nav: None,
                account_name: form.account_name.unwrap_or_default(),
                name: form.name.unwrap_or_default(),
                email: form.email.unwrap_or_default(),
                errors,
                form_error,
            };
            (status, page).into_response()
        }
    }
}

/// Splits a failed form submission into field errors (shown next to fields) and a sentence
/// for the top of the form.
pub(super) fn form_failure(err: Error) -> (StatusCode, FieldErrors, Option<String>) {
    let status = err.status();
    match err {
        Error::Validation(fields) => (status, fields, None),
        other => (status, FieldErrors::default(), Some(other.public_message())),
    }
}

#[derive(Template, WebTemplate, Default)]
#[template(path = "signin.html")]
pub struct SigninPage {
    nav: Option<Nav>,
    email: String,
    errors: FieldErrors,
    form_error: Option<String>,
}

pub async fn signin_page(MaybeWebUser(user): MaybeWebUser) -> Response {
    if user.is_some() {
        return Redirect::to("/").into_response();
    }
    SigninPage::default().into_response()
}

#[derive(Debug, Deserialize)]
pub struct SigninForm {
    email: Option<String>,
    password: Option<String>,
}

pub async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(form): Form<SigninForm>,
) -> Response {
    let email = form.email.unwrap_or_default();
    let password = form.password.unwrap_or_default();
    let address = crate::http::client_address(&extensions);
    let throttle = accounts::Throttle {
        address: &address,
        per_minute: state.config.login_rate_limit,
    };
    match accounts::login(&state.db, &email, &password, Kind::Web, throttle).await {
        Ok(signed_in) => signed_in_redirect(&state, &headers, &signed_in.token, "/"),
        Err(err) => {
            let (status, errors, form_error) = form_failure(err);
            (
                status,
                SigninPage {
                    nav: None,
                    email,
                    errors,
                    form_error,
                },
            )
                .into_response()
        }
    }
}

pub async fn signout(State(state): State<AppState>, headers: HeaderMap, user: WebUser) -> Response {
    if let Err(err) = accounts::logout(&state.db, &user.session).await {
        return error_page(err);
    }
    let mut response = Redirect::to("/signin").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session_cookie("", super::is_https(&state, &headers), 0),
    );
    response
}

#[derive(Template, WebTemplate)]
#[template(path = "accept.html")]
pub struct AcceptPage {
    nav: Option<Nav>,
    token: String,
    account_name: String,
    invitee_name: String,
    invitee_email: String,
    role: &'static str,
    errors: FieldErrors,
    form_error: Option<String>,
}

async fn accept_page_for(state: &AppState, token: String) -> Result<AcceptPage, Error> {
    let invitation = team::find_invitation(&state.db, &token).await?;
    let account = {
        let mut conn = state.db.conn().await?;
        crate::store::accounts::get(&mut conn, &invitation.account_id)
            .await?
            .ok_or(Error::NotFound)?
    };
    Ok(AcceptPage {
        nav: None,
        token,
        account_name: account.name,
        invitee_name: invitation.name,
        invitee_email: invitation.email,
        role: invitation.role.label(),
        errors: FieldErrors::default(),
        form_error: None,
    })
}

fn invitation_gone() -> Response {
    error_page(Error::NotFound).into_response()
}

pub async fn accept_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match accept_page_for(&state, token).await {
        Ok(page) => page.into_response(),
        Err(Error::NotFound) => invitation_gone(),
        Err(err) => error_page(err),
    }
}

#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    password: Option<String>,
}

pub async fn accept(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<AcceptForm>,
) -> Response {
    match team::accept(&state.db, &token, form.password.as_deref(), Kind::Web).await {
        Ok(signed_in) => signed_in_redirect(&state, &headers, &signed_in.token, "/leads"),
        Err(Error::NotFound) => invitation_gone(),
        Err(err) => match accept_page_for(&state, token).await {
            Ok(mut page) => {
                let (status, errors, form_error) = form_failure(err);
                page.errors = errors;
                page.form_error = form_error;
                (status, page).into_response()
            }
            Err(err) => error_page(err),
        },
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "reset.html")]
pub struct ResetPage {
    nav: Option<Nav>,
    token: String,
    account_name: String,
    member_name: String,
    errors: FieldErrors,
}

pub async fn reset_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match team::find_reset(&state.db, &token).await {
        Ok((account_name, user)) => ResetPage {
            nav: None,
            token,
            account_name,
            member_name: user.name,
            errors: FieldErrors::default(),
        }
        .into_response(),
        Err(err) => error_page(err),
    }
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    password: Option<String>,
}

pub async fn reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<ResetForm>,
) -> Response {
    match team::reset_password(&state.db, &token, form.password.as_deref(), Kind::Web).await {
        Ok(signed_in) => signed_in_redirect(&state, &headers, &signed_in.token, "/leads"),
        Err(Error::Validation(errors)) => match team::find_reset(&state.db, &token).await {
            Ok((account_name, user)) => {
                let page = ResetPage {
                    nav: None,
                    token,
                    account_name,
                    member_name: user.name,
                    errors,
                };
                (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
            }
            Err(err) => error_page(err),
        },
        Err(err) => error_page(err),
    }
}
