//! The audit log over the API (Owner and Manager only).

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::UserRef;
use crate::app::AppState;
use crate::domain::AuditAction;
use crate::error::{Error, Result};
use crate::http::auth::ApiUser;
use crate::http::error::ErrorBody;
use crate::http::rfc3339;
use crate::service::audit;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// 1 to 200, default 50.
    limit: Option<String>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
    /// Only entries with this action, e.g. `team.updated`.
    action: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryJson {
    id: String,
    #[schema(format = DateTime)]
    at: String,
    #[schema(required = true)]
    actor: Option<UserRef>,
    action: AuditAction,
    target: String,
    #[schema(required = true)]
    before: Option<serde_json::Value>,
    #[schema(required = true)]
    after: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditResponse {
    entries: Vec<AuditEntryJson>,
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", operation_id = "list_audit", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = AuditResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    caller: ApiUser,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditResponse>> {
    let limit = match query.limit.as_deref() {
        None => None,
        Some(raw) => Some(
            raw.parse::<i64>()
                .map_err(|_| Error::field("limit", "must be a whole number"))?,
        ),
    };
    let page = audit::list(
        &state.db,
        &caller.actor,
        query.action.as_deref(),
        query.cursor.as_deref(),
        limit,
    )
    .await?;
    Ok(Json(AuditResponse {
        entries: page
            .entries
            .into_iter()
            .map(|e| AuditEntryJson {
                id: e.id.to_string(),
                at: rfc3339(e.at),
                actor: e.actor.map(|(id, name)| UserRef { id, name }),
                action: e.action,
                target: e.target,
                before: e.before,
                after: e.after,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}
