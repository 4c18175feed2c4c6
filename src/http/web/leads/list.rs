//! The leads list: views, filters, search and paging.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::*;
use crate::app::AppState;
use crate::domain::lead::LeadSource;
use crate::domain::permissions::{self, Action, OwnerPick};
use crate::error::Error;
use crate::http::auth::WebUser;
use crate::http::web::{Nav, PageResult};
use crate::http::{date_display, rfc3339};
use crate::service::leads::{self, ListQuery};
use crate::service::team;

pub struct Row {
    id: String,
    name: String,
    company: String,
    owner: Option<String>,
    status: &'static str,
    status_label: &'static str,
    source: &'static str,
    created_at: String,
    created: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "leads.html")]
pub struct ListPage {
    nav: Option<Nav>,
    can_create: bool,
    views: Vec<(&'static str, &'static str, bool)>,
    owner_options: Options,
    status_options: Options,
    source_options: Options,
    owner: String,
    status: String,
    source: String,
    q: String,
    rows: Vec<Row>,
    next_url: Option<String>,
    error: Option<String>,
    /// Some filter or view is applied (changes what an empty list says).
    filtered: bool,
}

#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct ListParams {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    owner: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    q: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    cursor: String,
}

pub async fn list(
    State(state): State<AppState>,
    user: WebUser,
    Query(params): Query<ListParams>,
) -> PageResult {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let query = ListQuery {
        owner: some(&params.owner),
        status: some(&params.status),
        source: some(&params.source),
        q: some(&params.q),
        limit: None,
        cursor: some(&params.cursor),
    };
    let (page, error) = match leads::list(&state.db, &user.actor, &query).await {
        Ok(page) => (page, None),
        Err(Error::Validation(fields)) => {
            let why = fields.sentence();
            (
                leads::Page {
                    leads: Vec::new(),
                    next_cursor: None,
                },
                Some(format!("Check the filters: {why}.")),
            )
        }
        Err(err) => return Err(err.into()),
    };
    let members = team::members(&state.db, &user.actor).await?;
    let mut owner_options: Options = vec![
        (String::new(), "Everyone".into()),
        ("none".into(), "Unassigned".into()),
        ("me".into(), "Mine".into()),
    ];
    owner_options.extend(
        members
            .iter()
            .filter(|m| m.role.is_sales_capable())
            .map(|m| (m.id.clone(), m.name.clone())),
    );
    let next_url = page.next_cursor.map(|cursor| {
        let next = ListParams {
            cursor,
            ..params_clone(&params)
        };
        format!(
            "/leads?{}",
            serde_urlencoded::to_string(&next).unwrap_or_default()
        )
    });
    let view = params.owner.as_str();
    let filtered = [
        &params.owner,
        &params.status,
        &params.source,
        &params.q,
        &params.cursor,
    ]
    .iter()
    .any(|p| !p.is_empty());
    Ok(ListPage {
        nav: Some(Nav::new(&user, "leads")),
        can_create: permissions::check(user.actor.user.role, Action::CreateLead(OwnerPick::Nobody))
            .is_ok(),
        views: vec![
            ("All", "/leads", view.is_empty()),
            ("Unassigned", "/leads?owner=none", view == "none"),
            ("Mine", "/leads?owner=me", view == "me"),
        ],
        owner_options,
        status_options: status_options(),
        source_options: LeadSource::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
            .collect(),
        rows: page
            .leads
            .into_iter()
            .map(|l| Row {
                company: l.company.clone().unwrap_or_default(),
                owner: l.owner.map(|(_, name)| name),
                status: l.status.as_str(),
                status_label: l.status.label(),
                source: l.source.label(),
                created_at: rfc3339(l.created_at),
                created: date_display(l.created_at),
                id: l.id,
                name: l.name,
            })
            .collect(),
        owner: params.owner,
        status: params.status,
        source: params.source,
        q: params.q,
        next_url,
        error,
        filtered,
    }
    .into_response())
}

fn params_clone(p: &ListParams) -> ListParams {
    ListParams {
        owner: p.owner.clone(),
        status: p.status.clone(),
        source: p.source.clone(),
        q: p.q.clone(),
        cursor: String::new(),
    }
}
