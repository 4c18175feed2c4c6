//! The website form's settings over the API (Owner and Manager).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::base_url;
use crate::app::AppState;
use crate::error::Result;
use crate::http::auth::ApiUser;
use crate::http::error::ErrorBody;
use crate::http::extract::ApiJson;
use crate::service::website;
use crate::store::website::WebsiteForm;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_website, put_website))
        .routes(routes!(rotate_key))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebsiteJson {
    /// The public key in the form's address; rotating it stops the old one at once.
    form_key: String,
    /// The hosted form page.
    form_url: String,
    /// A plain HTML form any website can paste in; it posts to `form_url`.
    embed_html: String,
    /// The hosted chat page of the website assistant.
    chat_url: String,
    /// Addresses (prefixes) a form post may name in its `redirect` field.
    allowed_redirects: Vec<String>,
    /// One script tag that adds the chat button to any website.
    widget_html: String,
    /// The chat assistant answers visitors (off: the chat says it is unavailable).
    assistant_enabled: bool,
    /// What the business does, for the assistant's prompt.
    description: String,
    /// The hosted form and `embed_html` ask for country and company size (optional
    /// fields, for the routing rules). The form accepts them either way.
    ask_country_and_size: bool,
}

/// The copy-paste snippet: a plain form that posts to the hosted form's address; with
/// `ask_country_size`, two optional fields more.
pub fn embed_html(form_url: &str, ask_country_size: bool) -> String {
    let extra = if ask_country_size {
        "\n  <label>Country <input name=\"country\" maxlength=\"60\" autocomplete=\"country-name\"></label>\n  \
         <label>Company size <input name=\"company_size\" type=\"number\" min=\"0\"></label>"
    } else {
        ""
    };
    format!(
        r#"<form action="{form_url}" method="post">
  <label>Name <input name="name" required maxlength="200"></label>
  <label>Email <input name="email" type="email" required maxlength="254"></label>
  <label>Phone <input name="phone" type="tel" maxlength="50"></label>
  <label>Company <input name="company" maxlength="200"></label>{extra}
  <label>Message <textarea name="message" maxlength="5000"></textarea></label>
  <input name="website" tabindex="-1" autocomplete="off" aria-hidden="true" style="position:absolute;left:-10000px">
  <button type="submit">Send</button>
</form>"#
    )
}

/// The chat widget's one script tag.
pub fn widget_html(base: &str, form_key: &str) -> String {
    format!(r#"<script src="{base}/chat/widget.js?key={form_key}" async></script>"#)
}

pub fn to_json(form: WebsiteForm, base: &str) -> WebsiteJson {
    let form_url = format!("{base}/f/{}", form.form_key);
    WebsiteJson {
        widget_html: widget_html(base, &form.form_key),
        assistant_enabled: form.assistant_enabled,
        description: form.description,
        embed_html: embed_html(&form_url, form.ask_country_size),
        ask_country_and_size: form.ask_country_size,
        chat_url: format!("{base}/chat/{}", form.form_key),
        form_url,
        form_key: form.form_key,
        allowed_redirects: form.allowed_redirects,
    }
}

/// The website form's key, addresses and embed snippet. Owner or Manager.
#[utoipa::path(get, path = "/api/v1/website", tag = "website", security(("bearer" = [])),
    responses((status = 200, body = WebsiteJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn get_website(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: ApiUser,
) -> Result<Json<WebsiteJson>> {
    let form = website::settings(&state.db, &caller.actor).await?;
    Ok(Json(to_json(form, &base_url(&state, &headers))))
}

/// Rotate the form key; the old key stops working at once. Owner or Manager.
#[utoipa::path(post, path = "/api/v1/website/rotate-key", tag = "website", security(("bearer" = [])),
    responses((status = 200, body = WebsiteJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn rotate_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: ApiUser,
) -> Result<Json<WebsiteJson>> {
    let form = website::rotate_key(&state.db, &caller.actor).await?;
    Ok(Json(to_json(form, &base_url(&state, &headers))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WebsiteRequest {
    /// http(s) addresses (prefixes) a form post may redirect to; at most 20.
    allowed_redirects: Option<Vec<String>>,
    /// Turn the chat assistant on or off.
    assistant_enabled: Option<bool>,
    /// What the business does (at most 1000 characters), for the assistant's prompt.
    description: Option<String>,
    /// Ask for country and company size on the hosted form and in the snippet.
    ask_country_and_size: Option<bool>,
}

/// Change the allowed redirects and the chat assistant's settings; a field left out keeps
/// its value. Owner or Manager.
#[utoipa::path(put, path = "/api/v1/website", tag = "website", security(("bearer" = [])),
    request_body = WebsiteRequest,
    responses((status = 200, body = WebsiteJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_website(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: ApiUser,
    ApiJson(body): ApiJson<WebsiteRequest>,
) -> Result<Json<WebsiteJson>> {
    let mut form = website::settings(&state.db, &caller.actor).await?;
    if let Some(list) = body.allowed_redirects {
        form = website::set_redirects(&state.db, &caller.actor, list).await?;
    }
    if body.assistant_enabled.is_some() || body.description.is_some() {
        let enabled = body.assistant_enabled.unwrap_or(form.assistant_enabled);
        let description = body.description.unwrap_or(form.description);
        form = website::set_assistant(&state.db, &caller.actor, enabled, &description).await?;
    }
    if let Some(ask) = body.ask_country_and_size {
        form = website::set_form_fields(&state.db, &caller.actor, ask).await?;
    }
    Ok(Json(to_json(form, &base_url(&state, &headers))))
}
