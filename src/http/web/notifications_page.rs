//! The notifications page: newest first; opening one marks it read and goes to its lead.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::{Nav, error_page_for};
use crate::app::AppState;
use crate::http::auth::WebUser;
use crate::http::{datetime_display, rfc3339};
use crate::service::notifications;

pub struct Item {
    id: String,
    text: String,
    at: String,
    when: String,
    unread: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "notifications.html")]
pub struct NotificationsPage {
    nav: Option<Nav>,
    csrf_token: String,
    unread: i64,
    items: Vec<Item>,
}

pub async fn show(State(state): State<AppState>, user: WebUser) -> Response {
    match notifications::inbox(&state.db, &user.actor, false).await {
        Ok(inbox) => NotificationsPage {
            nav: Some(Nav::new(&user, "notifications")),
            csrf_token: user.csrf_token().to_owned(),
            unread: inbox.unread_count,
            items: inbox
                .notifications
                .into_iter()
                .map(|n| Item {
                    id: n.id,
                    text: n.text,
                    at: rfc3339(n.created_at),
                    when: datetime_display(n.created_at),
                    unread: n.read_at.is_none(),
                })
                .collect(),
        }
        .into_response(),
        Err(err) => error_page_for(Some(&user), err),
    }
}

/// Marks the notification read and opens its lead.
pub async fn read_one(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Response {
    match notifications::mark_read(&state.db, &user.actor, &id).await {
        Ok(Some(lead_id)) => Redirect::to(&format!("/leads/{lead_id}")).into_response(),
        Ok(None) => Redirect::to("/notifications").into_response(),
        Err(err) => error_page_for(Some(&user), err),
    }
}

pub async fn read_all(State(state): State<AppState>, user: WebUser) -> Response {
    match notifications::mark_all_read(&state.db, &user.actor).await {
        Ok(()) => Redirect::to("/notifications").into_response(),
        Err(err) => error_page_for(Some(&user), err),
    }
}
