//! The hosted chat page (`/chat/{form_key}`, embeddable in a frame on any site) and the
//! widget script that adds a chat button to any website.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::assistant::{self, Speaker};
use crate::error::Error;
use crate::http::web::error_page;
use crate::service::chat::{self, Caller};
use crate::service::website;

pub struct Bubble {
    from_visitor: bool,
    text: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "chat.html")]
pub struct ChatPage {
    account_name: String,
    form_key: String,
    conversation_id: String,
    bubbles: Vec<Bubble>,
    available: bool,
    done: bool,
    guided: bool,
    error: Option<String>,
}

/// The chat page may be framed by any site (that is how the widget works), so it carries
/// its own policy; every other page refuses to be framed.
fn embeddable(mut response: Response) -> Response {
    let csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
               object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors *";
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    response
}

async fn render(
    state: &AppState,
    form_key: &str,
    conversation_id: Option<&str>,
    error: Option<String>,
) -> Response {
    let form = match website::public_form(&state.db, form_key).await {
        Ok(form) => form,
        Err(err) => return error_page(err),
    };
    let mut page = ChatPage {
        account_name: form.account_name.clone(),
        form_key: form_key.to_owned(),
        conversation_id: String::new(),
        bubbles: vec![Bubble {
            from_visitor: false,
            text: assistant::greeting(&form.account_name),
        }],
        available: form.assistant_enabled,
        done: false,
        guided: state.assistant.kind() == "guided",
        error,
    };
    if !form.assistant_enabled {
        page.bubbles = vec![Bubble {
            from_visitor: false,
            text: chat::UNAVAILABLE.into(),
        }];
    } else if let Some(id) = conversation_id.filter(|id| !id.is_empty()) {
        let found = chat::conversation(&state.db, &form.account_id, id).await;
        if let Some(c) = found {
            page.conversation_id = c.id;
            page.done = c.lead_id.is_some() || c.details.closed;
            page.bubbles = c
                .transcript
                .into_iter()
                .map(|l| Bubble {
                    from_visitor: l.from == Speaker::Visitor,
                    text: l.text,
                })
                .collect();
        }
    }
    embeddable(page.into_response())
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    conversation: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    Path(form_key): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    render(&state, &form_key, q.conversation.as_deref(), None).await
}

#[derive(Debug, Deserialize)]
pub struct TurnForm {
    #[serde(default)]
    conversation_id: String,
    #[serde(default)]
    message: String,
}

/// Without JavaScript the page posts here and is shown again with the answer.
pub async fn post(
    State(state): State<AppState>,
    Path(form_key): Path<String>,
    extensions: axum::http::Extensions,
    Form(form): Form<TurnForm>,
) -> Response {
    let address = crate::http::client_address(&extensions);
    let caller = Caller {
        address: &address,
        rate_limit: state.config.public_rate_limit,
    };
    let id = Some(form.conversation_id.as_str()).filter(|id| !id.is_empty());
    match chat::turn(
        &state.db,
        state.assistant.as_ref(),
        &form_key,
        id,
        &form.message,
        caller,
    )
    .await
    {
        Ok(turn) => render(&state, &form_key, Some(&turn.conversation_id), None).await,
        Err(Error::NotFound) => error_page(Error::NotFound),
        Err(err) => {
            let status = err.status();
            let message = match err {
                Error::Validation(fields) => fields
                    .0
                    .into_iter()
                    .map(|(f, why)| format!("Your {f} {why}."))
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.public_message(),
            };
            let mut response = render(&state, &form_key, id, Some(message)).await;
            *response.status_mut() = status;
            response
        }
    }
}

/// `<script src=".../chat/widget.js?key=...">`: adds a chat button that opens the chat in
/// a frame, so the host site's styles and scripts cannot break it.
pub async fn widget() -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../../static/widget.js"),
    )
        .into_response();
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}
