//! Saving the lead page's Edit form, and showing the page again with what went wrong.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};

use super::show::lead_page;
use super::*;
use crate::app::AppState;
use crate::error::Error;
use crate::http::auth::WebUser;
use crate::http::web::PageResult;
use crate::http::web::auth_pages::form_failure;
use crate::service::leads::{self, LeadUpdate};

/// Shows the lead page again with what went wrong, at the error's status.
pub(super) async fn failed(
    state: &AppState,
    user: &WebUser,
    id: &str,
    err: Error,
    form: Option<LeadForm>,
) -> PageResult {
    if matches!(err, Error::NotFound) {
        return Err(err.into());
    }
    let mut page = lead_page(state, user, id).await?;
    let (status, errors, message) = form_failure(err);
    page.error = message.or_else(|| Some("Some fields need another look.".into()));
    page.errors = errors;
    if let Some(form) = form {
        page.form = form;
    }
    Ok((status, page).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Form(form): Form<LeadForm>,
) -> PageResult {
    let change = LeadUpdate {
        fields: form.input(),
        status: Some(form.status.clone()),
    };
    match leads::update(&state.db, &user.actor, &id, change).await {
        Ok(_) => Ok(Redirect::to(&format!("/leads/{id}?done=saved")).into_response()),
        Err(err) => failed(&state, &user, &id, err, Some(form)).await,
    }
}
