//! The notifications page: newest first; opening one marks it read and goes to its lead.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};

use super::{Nav, PageResult};
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

pub async fn show(State(state): State<AppState>, user: WebUser) -> PageResult {
    let inbox = notifications::inbox(&state.db, &user.actor, false).await?;
    Ok(NotificationsPage {
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
    .into_response())
}

/// Marks the notification read and opens its lead.
pub async fn read_one(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> PageResult {
    let to = match notifications::mark_read(&state.db, &user.actor, &id).await? {
        Some(lead_id) => format!("/leads/{lead_id}"),
        None => "/notifications".to_owned(),
    };
    Ok(Redirect::to(&to).into_response())
}

pub async fn read_all(State(state): State<AppState>, user: WebUser) -> PageResult {
    notifications::mark_all_read(&state.db, &user.actor).await?;
    Ok(Redirect::to("/notifications").into_response())
}
