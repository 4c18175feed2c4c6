//! Lead routing settings over the API.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{UserJson, UserRef};
use crate::app::AppState;
use crate::domain::routing::Strategy;
use crate::error::Result;
use crate::http::auth::ApiUser;
use crate::http::error::ErrorBody;
use crate::http::extract::ApiJson;
use crate::http::rfc3339;
use crate::service::routing::{self, RoutingView, SaveInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_routing, put_routing))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateJson {
    user: UserJson,
    /// In the saved rotation.
    checked: bool,
    /// Assigned to them with status open.
    open_leads: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoutingJson {
    enabled: bool,
    strategy: Strategy,
    /// The saved picks, as saved.
    rotation: Vec<String>,
    /// Active and inactive sales-capable members in team order; never Accounting.
    candidates: Vec<CandidateJson>,
    /// Who routing would pick from right now.
    effective_pool: Vec<String>,
    /// True when every saved pick is inactive and the whole team is used.
    fallback: bool,
    /// Who would get the next routed lead right now.
    #[schema(required = true)]
    next: Option<String>,
    /// The owners of the next 10 routed leads under these settings (a dry run).
    preview: Vec<String>,
    #[schema(required = true, format = DateTime)]
    updated_at: Option<String>,
    #[schema(required = true)]
    updated_by: Option<UserRef>,
}

impl From<RoutingView> for RoutingJson {
    fn from(v: RoutingView) -> Self {
        Self {
            enabled: v.settings.enabled,
            strategy: v.settings.strategy,
            rotation: v.settings.rotation,
            candidates: v
                .candidates
                .into_iter()
                .map(|c| CandidateJson {
                    checked: c.checked,
                    open_leads: c.open_leads,
                    user: c.user.into(),
                })
                .collect(),
            effective_pool: v.effective_pool,
            fallback: v.fallback,
            next: v.next,
            preview: v.preview,
            updated_at: v.settings.updated_at.map(rfc3339),
            updated_by: v.settings.updated_by.map(|(id, name)| UserRef { id, name }),
        }
    }
}

/// The routing settings and who would get the next lead. Any role.
#[utoipa::path(get, path = "/api/v1/routing", tag = "routing", security(("bearer" = [])),
    responses((status = 200, body = RoutingJson), (status = 401, body = ErrorBody)))]
async fn get_routing(State(state): State<AppState>, caller: ApiUser) -> Result<Json<RoutingJson>> {
    Ok(Json(routing::view(&state.db, &caller.actor).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RoutingRequest {
    enabled: Option<bool>,
    #[schema(value_type = Option<Strategy>)]
    strategy: Option<String>,
    /// User ids of sales-capable members; empty means the whole sales-capable team.
    rotation: Option<Vec<String>>,
}

/// Save the routing settings. Owner or Manager. A field left out keeps its saved value;
/// strategy and rotation are stored even while routing is off.
#[utoipa::path(put, path = "/api/v1/routing", tag = "routing", security(("bearer" = [])),
    request_body = RoutingRequest,
    responses((status = 200, body = RoutingJson), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_routing(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<RoutingRequest>,
) -> Result<Json<RoutingJson>> {
    let input = SaveInput {
        enabled: body.enabled,
        strategy: body.strategy,
        rotation: body.rotation,
    };
    Ok(Json(
        routing::save(&state.db, &caller.actor, input).await?.into(),
    ))
}
