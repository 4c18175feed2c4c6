//! The Lead routing page (account menu -> Lead routing): anyone may open it; saving is for
//! Owners and Managers.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{Nav, PageResult, banner};
use crate::app::AppState;
use crate::domain::permissions::{self, Action};
use crate::error::{Error, Result};
use crate::http::auth::WebUser;
use crate::service::routing::{self, RoutingView, SaveInput};

pub struct CandidateRow {
    id: String,
    name: String,
    role: &'static str,
    active: bool,
    checked: bool,
    open_leads: i64,
}

pub struct ChartRow {
    y: usize,
    name: String,
    open: i64,
    d7: i64,
    d30: i64,
    open_w: usize,
    d7_w: usize,
    d30_w: usize,
}

/// A server-rendered bar chart: three bars per member.
pub struct Chart {
    width: usize,
    height: usize,
    bar_x: usize,
    rows: Vec<ChartRow>,
    /// Nothing to draw yet.
    empty: bool,
}

const ROW_H: usize = 40;
const BAR_MAX: usize = 220;

fn chart(view: &RoutingView) -> Chart {
    let max = view
        .candidates
        .iter()
        .flat_map(|c| [c.open_leads, c.routed_7d, c.routed_30d])
        .max()
        .unwrap_or(0)
        .max(1);
    let width_of =
        |v: i64| usize::try_from(v).unwrap_or(0) * BAR_MAX / usize::try_from(max).unwrap_or(1);
    let empty = view
        .candidates
        .iter()
        .all(|c| c.open_leads == 0 && c.routed_30d == 0);
    let rows: Vec<ChartRow> = view
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| ChartRow {
            y: i * ROW_H,
            name: truncate(&c.user.name, 16),
            open: c.open_leads,
            d7: c.routed_7d,
            d30: c.routed_30d,
            open_w: width_of(c.open_leads),
            d7_w: width_of(c.routed_7d),
            d30_w: width_of(c.routed_30d),
        })
        .collect();
    Chart {
        width: 150 + BAR_MAX + 40,
        height: rows.len().max(1) * ROW_H,
        bar_x: 150,
        rows,
        empty,
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        s.chars().take(max - 1).chain(['…']).collect()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "routing.html")]
pub struct RoutingPage {
    nav: Option<Nav>,
    csrf_token: String,
    enabled: bool,
    strategy: &'static str,
    candidates: Vec<CandidateRow>,
    only_owner: bool,
    can_save: bool,
    fallback: bool,
    next: Option<String>,
    preview: Vec<String>,
    /// One person in the pool: say so instead of listing them ten times.
    single_pool: bool,
    chart: Chart,
    /// Routing rules saved: the card links to them.
    rule_count: usize,
    /// (id, name) of every rotation, when there is more than the default: the switcher
    /// of "Next up" and the chart; and the one shown.
    rotations: Vec<(String, String)>,
    rotation_id: String,
    rotation_name: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

async fn page(state: &AppState, user: &WebUser, rotation: Option<&str>) -> Result<RoutingPage> {
    let view = routing::view_of(&state.db, &user.actor, rotation).await?;
    Ok(RoutingPage {
        nav: Some(Nav::new(user, "routing")),
        csrf_token: user.csrf_token().to_owned(),
        enabled: view.settings.enabled,
        strategy: view.settings.strategy.as_str(),
        only_owner: view.candidates.len() <= 1,
        can_save: permissions::check(user.actor.user.role, Action::SaveRouting).is_ok(),
        fallback: view.fallback,
        single_pool: view.effective_pool.len() == 1,
        next: view.next.as_deref().map(|id| view.name_of(id).to_owned()),
        preview: view
            .preview
            .iter()
            .map(|id| view.name_of(id).to_owned())
            .collect(),
        chart: chart(&view),
        rule_count: view.settings.rules.len(),
        rotations: if view.rotations.len() > 1 {
            view.rotations
                .iter()
                .map(|r| (r.id.clone(), r.name.clone()))
                .collect()
        } else {
            Vec::new()
        },
        rotation_id: view.rotation.id.clone(),
        rotation_name: view.rotation.name.clone(),
        candidates: view
            .candidates
            .iter()
            .map(|c| CandidateRow {
                id: c.user.id.clone(),
                name: c.user.name.clone(),
                role: c.user.role.label(),
                active: c.user.active,
                checked: c.checked,
                open_leads: c.open_leads,
            })
            .collect(),
        error: None,
        notice: None,
    })
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    saved: Option<String>,
    /// Which rotation "Next up" and the chart show (the default one when absent).
    rotation: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<ShowQuery>,
) -> PageResult {
    let mut page = page(&state, &user, q.rotation.as_deref()).await?;
    page.notice = q
        .saved
        .map(|_| "Lead routing saved. The change is in the audit log.");
    Ok(page.into_response())
}

/// The form's fields. Greyed-out (disabled) fields are not sent at all, so a missing
/// Strategy or rotation keeps its saved value; `rotation_sent` tells "all unchecked" apart
/// from "not sent".
fn save_input(fields: &[(String, String)]) -> SaveInput {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let rotation_sent = value("rotation_sent").is_some();
    SaveInput {
        enabled: Some(value("enabled").is_some_and(|v| v == "true")),
        strategy: value("strategy"),
        rotation: rotation_sent.then(|| {
            fields
                .iter()
                .filter(|(k, _)| k == "rotation")
                .map(|(_, v)| v.clone())
                .collect()
        }),
    }
}

pub async fn save(
    State(state): State<AppState>,
    user: WebUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let Err(err) = routing::save(&state.db, &user.actor, save_input(&fields)).await else {
        return Ok(Redirect::to("/settings/routing?saved=1").into_response());
    };
    let mut page = page(&state, &user, None).await?;
    let status = err.status();
    page.error = Some(match err {
        Error::Forbidden(_) => {
            "You don't have permission to change lead routing. Only an Owner or Manager can save it; nothing was changed.".into()
        }
        other => banner(other),
    });
    Ok((status, page).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn greyed_out_choices_keep_their_saved_values() {
        let off = save_input(&fields(&[("csrf_token", "t")]));
        assert_eq!(off.enabled, Some(false));
        assert!(off.strategy.is_none() && off.rotation.is_none());
        let on = save_input(&fields(&[
            ("enabled", "true"),
            ("strategy", "balanced"),
            ("rotation_sent", "1"),
        ]));
        assert_eq!(on.rotation, Some(vec![]), "everyone unchecked");
        let picks = save_input(&fields(&[
            ("rotation_sent", "1"),
            ("rotation", "a"),
            ("rotation", "b"),
        ]));
        assert_eq!(picks.rotation, Some(vec!["a".to_owned(), "b".to_owned()]));
    }
}
