//! Public endpoints any website may call, with no sign-in: the hosted lead form and its
//! intake (`/f/{form_key}`), the chat page and its widget (`/chat/...`). Bodies are capped at 64 KiB; the rate limit is per address.

mod chat;
mod form;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

use crate::app::AppState;

/// The body limit of every public endpoint.
pub const BODY_LIMIT: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/f/{form_key}",
            get(form::page).post(form::submit).options(form::preflight),
        )
        .route("/f/{form_key}/thanks", get(form::thanks))
        .route("/chat/widget.js", get(chat::widget))
        .route("/chat/{form_key}", get(chat::page).post(chat::post))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}
