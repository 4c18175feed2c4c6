//! The Audit log page (Owner and Manager only).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::{Nav, PageResult};
use crate::app::AppState;
use crate::domain::AuditAction;
use crate::domain::rules::{Rule, changes};
use crate::http::auth::WebUser;
use crate::http::{datetime_display, rfc3339};
use crate::service::{audit, rotations};

pub struct EntryRow {
    at: String,
    at_display: String,
    actor: String,
    action: AuditAction,
    target: String,
    before: String,
    after: String,
    /// The change in words, where the action has a reader for it (the rule list's saves).
    changes: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    nav: Option<Nav>,
    /// Every action, for the filter.
    actions: &'static [AuditAction],
    action: String,
    entries: Vec<EntryRow>,
    next_url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    action: Option<String>,
    cursor: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<AuditQuery>,
) -> PageResult {
    let action = query.action.unwrap_or_default();
    let page = audit::list(
        &state.db,
        &user.actor,
        Some(&action),
        query.cursor.as_deref(),
        None,
    )
    .await?;
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map_or_else(|| "—".into(), |v| v.to_string());
    // Rotation names for the rule lists' changes, read only when the page shows one.
    let rotations = if page
        .entries
        .iter()
        .any(|e| e.action == AuditAction::RoutingRulesUpdated)
    {
        rotations::list(&state.db, &user.actor).await?
    } else {
        Vec::new()
    };
    let rotation_name = |id: &str| {
        rotations.iter().find(|r| r.id == id).map_or_else(
            || format!("a deleted rotation ({id})"),
            |r| r.settings.name.clone(),
        )
    };
    let next_url = page.next_cursor.map(|c| {
        let filter: String = url_encode(&action);
        format!("/audit?action={filter}&cursor={c}")
    });
    Ok(AuditPage {
        nav: Some(Nav::new(&user, "audit")),
        actions: &AuditAction::ALL,
        action,
        entries: page
            .entries
            .into_iter()
            .map(|e| EntryRow {
                at: rfc3339(e.at),
                at_display: datetime_display(e.at),
                actor: e.actor.map_or_else(|| "—".to_owned(), |(_, name)| name),
                action: e.action,
                changes: if e.action == AuditAction::RoutingRulesUpdated {
                    rule_changes(&e.before, &e.after, &rotation_name)
                } else {
                    Vec::new()
                },
                target: e.target,
                before: json(&e.before),
                after: json(&e.after),
            })
            .collect(),
        next_url,
    }
    .into_response())
}

/// A rule list save in words; nothing (the JSON is shown) if either side does not read
/// as a rule list.
fn rule_changes(
    before: &Option<serde_json::Value>,
    after: &Option<serde_json::Value>,
    rotation: &dyn Fn(&str) -> String,
) -> Vec<String> {
    let read =
        |v: &Option<serde_json::Value>| v.as_ref().and_then(|v| Vec::<Rule>::deserialize(v).ok());
    match (read(before), read(after)) {
        (Some(before), Some(after)) => changes::describe(&before, &after, rotation),
        _ => Vec::new(),
    }
}

fn url_encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|encoded| encoded.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}
