//! One turn of the website chat assistant (public: no sign-in, any site may call it).

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::Result;
use crate::http::error::ErrorBody;
use crate::http::extract::ApiJson;
use crate::service::chat::{self, Caller};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(turn))
        .layer(DefaultBodyLimit::max(crate::http::public::BODY_LIMIT))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatRequest {
    /// From the previous turn's answer; leave out to start a conversation.
    conversation_id: Option<String>,
    /// The visitor's message, 1 to 2000 characters.
    #[schema(required = true, value_type = String)]
    message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatResponse {
    conversation_id: String,
    reply: String,
    /// Set from the turn that created the conversation's lead on.
    #[schema(required = true)]
    lead_id: Option<String>,
}

/// One turn of the website's chat assistant. When it has what a rep needs it creates one
/// lead (source `assistant`, the transcript in `notes`), routed like any other.
#[utoipa::path(post, path = "/api/v1/public/chat/{form_key}", tag = "public",
    params(("form_key" = String, Path)), request_body = ChatRequest,
    responses((status = 200, body = ChatResponse), (status = 400, body = ErrorBody),
        (status = 404, description = "Unknown form key or conversation", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn turn(
    State(state): State<AppState>,
    Path(form_key): Path<String>,
    extensions: axum::http::Extensions,
    ApiJson(body): ApiJson<ChatRequest>,
) -> Result<Response> {
    let address = crate::http::client_address(&extensions);
    let caller = Caller {
        address: &address,
        rate_limit: state.config.public_rate_limit,
    };
    let message = body.message.unwrap_or_default();
    let turn = chat::turn(
        &state.db,
        state.assistant.as_ref(),
        &form_key,
        body.conversation_id.as_deref(),
        &message,
        caller,
    )
    .await?;
    let mut response = Json(ChatResponse {
        conversation_id: turn.conversation_id,
        reply: turn.reply,
        lead_id: turn.lead_id,
    })
    .into_response();
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}
