//! Settings -> Website form (Owner and Manager): the key, the hosted form's address, the
//! embed snippet, Rotate key, and the allowed thank-you pages.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{Nav, PageResult};
use crate::app::AppState;
use crate::error::Error;
use crate::http::api::base_url;
use crate::http::api::website::{embed_html, widget_html};
use crate::http::auth::WebUser;
use crate::service::website;
use crate::store::website::WebsiteForm;

#[derive(Template, WebTemplate)]
#[template(path = "website.html")]
pub struct WebsitePage {
    nav: Option<Nav>,
    csrf_token: String,
    form_key: String,
    form_url: String,
    embed_html: String,
    redirects: String,
    widget_html: String,
    chat_url: String,
    assistant_enabled: bool,
    ask_country_size: bool,
    guided: bool,
    description: String,
    description_error: Option<String>,
    field_error: Option<String>,
    error: Option<String>,
    notice: Option<&'static str>,
}

fn page(state: &AppState, user: &WebUser, form: WebsiteForm, base: &str) -> WebsitePage {
    let form_url = format!("{base}/f/{}", form.form_key);
    WebsitePage {
        widget_html: widget_html(base, &form.form_key),
        chat_url: format!("{base}/chat/{}", form.form_key),
        assistant_enabled: form.assistant_enabled,
        guided: state.assistant.kind() == "guided",
        description: form.description.clone(),
        description_error: None,
        nav: Some(Nav::new(user, "website")),
        csrf_token: user.csrf_token().to_owned(),
        embed_html: embed_html(&form_url, form.ask_country_size),
        ask_country_size: form.ask_country_size,
        form_url,
        form_key: form.form_key,
        redirects: form.allowed_redirects.join("\n"),
        field_error: None,
        error: None,
        notice: None,
    }
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: WebUser,
    Query(q): Query<ShowQuery>,
) -> PageResult {
    let form = website::settings(&state.db, &user.actor).await?;
    let mut page = page(&state, &user, form, &base_url(&state, &headers));
    page.notice = match q.done.as_deref() {
        Some("rotated") => Some("New key made. The old form address no longer works."),
        Some("saved") => Some("Saved."),
        _ => None,
    };
    Ok(page.into_response())
}

pub async fn rotate(State(state): State<AppState>, user: WebUser) -> PageResult {
    website::rotate_key(&state.db, &user.actor).await?;
    Ok(Redirect::to("/settings/website?done=rotated").into_response())
}

#[derive(Debug, Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    allowed_redirects: String,
}

pub async fn save(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: WebUser,
    Form(form): Form<SaveForm>,
) -> PageResult {
    let list: Vec<String> = form.allowed_redirects.lines().map(str::to_owned).collect();
    let fields = match website::set_redirects(&state.db, &user.actor, list).await {
        Ok(_) => return Ok(Redirect::to("/settings/website?done=saved").into_response()),
        Err(Error::Validation(fields)) => fields,
        Err(err) => return Err(err.into()),
    };
    let saved = website::settings(&state.db, &user.actor).await?;
    let mut page = page(&state, &user, saved, &base_url(&state, &headers));
    page.redirects = form.allowed_redirects;
    page.field_error = fields.0.into_values().next();
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Debug, Deserialize)]
pub struct AssistantForm {
    assistant_enabled: Option<String>,
    #[serde(default)]
    description: String,
}

pub async fn save_assistant(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: WebUser,
    Form(form): Form<AssistantForm>,
) -> PageResult {
    let enabled = form.assistant_enabled.as_deref() == Some("true");
    let fields =
        match website::set_assistant(&state.db, &user.actor, enabled, &form.description).await {
            Ok(_) => return Ok(Redirect::to("/settings/website?done=saved").into_response()),
            Err(Error::Validation(fields)) => fields,
            Err(err) => return Err(err.into()),
        };
    let saved = website::settings(&state.db, &user.actor).await?;
    let mut page = page(&state, &user, saved, &base_url(&state, &headers));
    page.description = form.description;
    page.description_error = fields
        .get("description")
        .map(|why| format!("Description {why}."));
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Debug, Deserialize)]
pub struct FieldsForm {
    ask_country_size: Option<String>,
}

pub async fn save_fields(
    State(state): State<AppState>,
    user: WebUser,
    Form(form): Form<FieldsForm>,
) -> PageResult {
    let ask = form.ask_country_size.as_deref() == Some("true");
    website::set_form_fields(&state.db, &user.actor, ask).await?;
    Ok(Redirect::to("/settings/website?done=saved").into_response())
}
