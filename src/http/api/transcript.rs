//! The chat transcript of a lead the website assistant made, turn by turn.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::assistant::Line;
use crate::domain::Speaker;
use crate::error::Result;
use crate::http::auth::ApiUser;
use crate::http::error::ErrorBody;
use crate::service::chat;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(transcript))
}

/// One turn, as said: the speaker is recorded with it, never read from its text.
#[derive(Debug, Serialize, ToSchema)]
pub struct TurnJson {
    from: Speaker,
    text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TranscriptResponse {
    /// Oldest first; empty when the lead did not come from the chat assistant.
    turns: Vec<TurnJson>,
}

impl From<Line> for TurnJson {
    fn from(l: Line) -> Self {
        Self {
            from: l.from,
            text: l.text,
        }
    }
}

/// The chat transcript of a lead made by the website assistant. Any role that may read leads.
#[utoipa::path(get, path = "/api/v1/leads/{id}/transcript", tag = "leads", operation_id = "lead_transcript", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = TranscriptResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn transcript(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<TranscriptResponse>> {
    let turns = chat::lead_transcript(&state.db, &caller.actor, &id).await?;
    Ok(Json(TranscriptResponse {
        turns: turns.into_iter().map(Into::into).collect(),
    }))
}
