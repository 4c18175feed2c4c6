//! New lead: the form and creating the lead.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};

use super::*;
use crate::app::AppState;
use crate::domain::country;
use crate::domain::permissions::{self, Action, OwnerPick};
use crate::domain::validate::FieldErrors;
use crate::error::Result;
use crate::http::auth::WebUser;
use crate::http::web::auth_pages::form_failure;
use crate::http::web::{Nav, PageResult};
use crate::service::leads::{self, CreateLead};
use crate::service::team;

#[derive(Template, WebTemplate)]
#[template(path = "lead_new.html")]
pub struct NewPage {
    nav: Option<Nav>,
    csrf_token: String,
    name: String,
    email: String,
    phone: String,
    company: String,
    notes: String,
    country: String,
    company_size: String,
    countries: Vec<(&'static str, String)>,
    owner_id: String,
    owner_options: Options,
    errors: FieldErrors,
    form_error: Option<String>,
}

async fn new_page(state: &AppState, user: &WebUser, form: LeadForm) -> Result<NewPage> {
    let role = user.actor.user.role;
    permissions::check(role, Action::CreateLead(OwnerPick::Nobody))?;
    let members = team::members(&state.db, &user.actor).await?;
    let mut owner_options: Options = vec![(String::new(), "No owner (unassigned)".into())];
    let me = &user.actor.user;
    if permissions::check(role, Action::CreateLead(OwnerPick::Teammate)).is_ok() {
        owner_options.extend(assignable(&members).map(|m| {
            let label = if m.id == me.id {
                format!("{} (me)", m.name)
            } else {
                m.name.clone()
            };
            (m.id.clone(), label)
        }));
    } else {
        owner_options.push((me.id.clone(), format!("{} (me)", me.name)));
    }
    Ok(NewPage {
        nav: Some(Nav::new(user, "leads")),
        csrf_token: user.csrf_token().to_owned(),
        name: form.name,
        email: form.email,
        phone: form.phone,
        company: form.company,
        notes: form.notes,
        country: form.country,
        company_size: form.company_size,
        countries: country::all(),
        owner_id: form.owner_id,
        owner_options,
        errors: FieldErrors::default(),
        form_error: None,
    })
}

pub async fn new_form(State(state): State<AppState>, user: WebUser) -> PageResult {
    Ok(new_page(&state, &user, LeadForm::default())
        .await?
        .into_response())
}

pub async fn create(
    State(state): State<AppState>,
    user: WebUser,
    Form(form): Form<LeadForm>,
) -> PageResult {
    let input = CreateLead {
        fields: form.input(),
        owner_id: Some(form.owner_id.clone()).filter(|s| !s.is_empty()),
        source: None,
    };
    let err = match leads::create(&state.db, &user.actor, input).await {
        Ok(lead) => return Ok(Redirect::to(&format!("/leads/{}", lead.id)).into_response()),
        Err(err) => err,
    };
    let mut page = new_page(&state, &user, form).await?;
    let (status, errors, form_error) = form_failure(err);
    page.errors = errors;
    page.form_error = form_error;
    Ok((status, page).into_response())
}
