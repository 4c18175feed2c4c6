//! The caller's own in-app notifications.

use crate::domain::NotificationKind;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::{Error, Result};
use crate::http::auth::ApiUser;
use crate::http::error::ErrorBody;
use crate::http::rfc3339;
use crate::service::notifications;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(count))
        .routes(routes!(read_one))
        .routes(routes!(read_all))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeadRefJson {
    id: String,
    name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationJson {
    id: String,
    /// lead_routed, lead_assigned, lead_updated (a visitor corrected their chat lead) or
    /// password_changed.
    kind: NotificationKind,
    #[schema(required = true)]
    lead: Option<LeadRefJson>,
    text: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(required = true, format = DateTime)]
    read_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationsResponse {
    notifications: Vec<NotificationJson>,
    unread_count: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `true` for unread ones only.
    #[param(value_type = Option<bool>)]
    unread: Option<String>,
}

/// The caller's notifications, newest first (the latest 100).
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", operation_id = "list_notifications", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = NotificationsResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    caller: ApiUser,
    Query(q): Query<ListQuery>,
) -> Result<Json<NotificationsResponse>> {
    let unread = match q.unread.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(Error::field("unread", "must be true or false")),
    };
    let inbox = notifications::inbox(&state.db, &caller.actor, unread).await?;
    Ok(Json(NotificationsResponse {
        notifications: inbox
            .notifications
            .into_iter()
            .map(|n| NotificationJson {
                id: n.id,
                kind: n.kind,
                lead: n.lead.map(|(id, name)| LeadRefJson { id, name }),
                text: n.text,
                created_at: rfc3339(n.created_at),
                read_at: n.read_at.map(rfc3339),
            })
            .collect(),
        unread_count: inbox.unread_count,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CountResponse {
    unread_count: i64,
}

/// Just the unread count (what the bell polls).
#[utoipa::path(get, path = "/api/v1/notifications/unread-count", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = CountResponse), (status = 401, body = ErrorBody)))]
async fn count(State(state): State<AppState>, caller: ApiUser) -> Result<Json<CountResponse>> {
    Ok(Json(CountResponse {
        unread_count: notifications::unread_count(&state.db, &caller.actor).await?,
    }))
}

/// Mark one of the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn read_one(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    notifications::mark_read(&state.db, &caller.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mark all of the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn read_all(State(state): State<AppState>, caller: ApiUser) -> Result<StatusCode> {
    notifications::mark_all_read(&state.db, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
