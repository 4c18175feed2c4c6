//! The HTML pages: server-rendered, working without JavaScript.

mod audit_page;
mod auth_pages;
mod error;
mod leads;
mod notifications_page;
mod routing_page;
mod rules_page;
mod team_page;
mod website_page;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::app::AppState;
use crate::domain::permissions::{self, Action};
use crate::error::Error;
use crate::http::auth::{MaybeWebUser, SESSION_COOKIE, WebUser};

pub use error::{PageError, PageResult, banner};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route(
            "/signup",
            get(auth_pages::signup_page).post(auth_pages::signup),
        )
        .route(
            "/signin",
            get(auth_pages::signin_page).post(auth_pages::signin),
        )
        .route("/signout", post(auth_pages::signout))
        .route(
            "/invitations/{token}",
            get(auth_pages::accept_page).post(auth_pages::accept),
        )
        .route("/leads", get(leads::list).post(leads::create))
        .route("/leads/new", get(leads::new_form))
        .route("/leads/{id}", get(leads::show).post(leads::update))
        .route("/leads/{id}/claim", post(leads::claim))
        .route("/leads/{id}/unassign", post(leads::unassign))
        .route("/leads/{id}/assign", post(leads::assign))
        .route(
            "/settings/routing",
            get(routing_page::show).post(routing_page::save),
        )
        .route(
            "/settings/routing/rules",
            get(rules_page::show).post(rules_page::save),
        )
        .route("/settings/routing/simulate", post(rules_page::simulate))
        .route(
            "/settings/routing/rotations",
            post(rules_page::save_rotation),
        )
        .route(
            "/settings/routing/rotations/new",
            get(rules_page::new_rotation),
        )
        .route(
            "/settings/routing/rotations/{id}",
            get(rules_page::show_rotation).post(rules_page::save_rotation),
        )
        .route(
            "/settings/routing/rotations/{id}/delete",
            post(rules_page::delete_rotation),
        )
        .route(
            "/settings/website",
            get(website_page::show).post(website_page::save),
        )
        .route("/settings/website/rotate", post(website_page::rotate))
        .route("/settings/website/fields", post(website_page::save_fields))
        .route(
            "/settings/website/assistant",
            post(website_page::save_assistant),
        )
        .route("/notifications", get(notifications_page::show))
        .route(
            "/notifications/read-all",
            post(notifications_page::read_all),
        )
        .route(
            "/notifications/{id}/read",
            post(notifications_page::read_one),
        )
        .route("/settings/team", get(team_page::show))
        .route("/settings/team/invitations", post(team_page::invite))
        .route(
            "/settings/team/invitations/{id}/revoke",
            post(team_page::revoke_invitation),
        )
        .route(
            "/settings/team/{user_id}/password-resets/revoke",
            post(team_page::revoke_resets),
        )
        .route("/settings/team/{user_id}", post(team_page::update_member))
        .route(
            "/settings/team/{user_id}/password-reset",
            post(team_page::issue_reset),
        )
        .route(
            "/reset/{token}",
            get(auth_pages::reset_page).post(auth_pages::reset),
        )
        .route("/audit", get(audit_page::show))
        .layer(axum::middleware::from_fn(error::render_page_errors))
}

/// What the header shows for a signed-in member.
pub struct Nav {
    pub user_name: String,
    pub account_name: String,
    /// The account menu shows only the pages the permission table lets them open.
    pub can_manage_website: bool,
    pub can_view_audit: bool,
    pub csrf_token: String,
    /// Unread notifications, shown on the bell.
    pub unread: i64,
    /// Which main-navigation entry is the current page.
    pub section: &'static str,
}

impl Nav {
    pub fn new(user: &WebUser, section: &'static str) -> Self {
        Self {
            user_name: user.actor.user.name.clone(),
            account_name: user.actor.account.name.clone(),
            can_manage_website: permissions::check(user.actor.user.role, Action::ManageWebsite)
                .is_ok(),
            can_view_audit: permissions::check(user.actor.user.role, Action::ViewAudit).is_ok(),
            csrf_token: user.csrf_token().to_owned(),
            unread: user.session.unread,
            section,
        }
    }
}

async fn home(MaybeWebUser(user): MaybeWebUser) -> Redirect {
    match user {
        Some(_) => Redirect::to("/leads"),
        None => Redirect::to("/signin"),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    nav: Option<Nav>,
    heading: String,
    message: String,
}

/// An error as a page, with the error's status, for someone not signed in (page handlers
/// return [`PageError`] instead, which keeps the viewer's navigation).
pub fn error_page(err: Error) -> Response {
    let message = error::page_message(&err);
    error_page_with(None, err.status(), message)
}

fn error_page_with(nav: Option<Nav>, status: StatusCode, message: String) -> Response {
    let heading = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::UNAUTHORIZED => "Please sign in",
        StatusCode::CONFLICT => "That changed in the meantime",
        StatusCode::TOO_MANY_REQUESTS => "Slow down",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    let page = ErrorPage {
        nav,
        heading: heading.into(),
        message,
    };
    (status, page).into_response()
}

/// The session cookie: HttpOnly, SameSite=Lax, and Secure when we are served over https.
fn session_cookie(token: &str, secure: bool, max_age_secs: i64) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn is_https(state: &AppState, headers: &HeaderMap) -> bool {
    crate::http::api::base_url(state, headers).starts_with("https://")
}

/// Signs the browser in and sends it to `to`.
fn signed_in_redirect(state: &AppState, headers: &HeaderMap, token: &str, to: &str) -> Response {
    let max_age = crate::service::accounts::SESSION_TTL_MS / 1000;
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session_cookie(token, is_https(state, headers), max_age),
    );
    response
}
