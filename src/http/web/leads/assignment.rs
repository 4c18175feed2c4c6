//! Claim, Unassign and Assign from the lead page's Actions card.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::edit::failed;
use crate::app::AppState;
use crate::http::auth::WebUser;
use crate::http::web::PageResult;
use crate::service::leads::{self, Expected, OwnerChange};

#[derive(Debug, Deserialize)]
pub struct OwnerForm {
    #[serde(default)]
    expected_owner: String,
    #[serde(default)]
    owner_id: String,
}

async fn owner_action(
    state: AppState,
    user: WebUser,
    id: String,
    form: OwnerForm,
    change: OwnerChange,
) -> PageResult {
    let done = match change {
        OwnerChange::Claim => "claimed",
        OwnerChange::Unassign => "unassigned",
        OwnerChange::Assign(_) => "assigned",
    };
    let expected = Expected::Owner(Some(form.expected_owner).filter(|s| !s.is_empty()));
    match leads::change_owner(&state.db, &user.actor, &id, change, expected).await {
        Ok(_) => Ok(Redirect::to(&format!("/leads/{id}?done={done}")).into_response()),
        Err(err) => failed(&state, &user, &id, err, None).await,
    }
}

pub async fn claim(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Form(form): Form<OwnerForm>,
) -> PageResult {
    owner_action(state, user, id, form, OwnerChange::Claim).await
}

pub async fn unassign(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Form(form): Form<OwnerForm>,
) -> PageResult {
    owner_action(state, user, id, form, OwnerChange::Unassign).await
}

pub async fn assign(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Form(form): Form<OwnerForm>,
) -> PageResult {
    let to = form.owner_id.clone();
    owner_action(state, user, id, form, OwnerChange::Assign(to)).await
}
