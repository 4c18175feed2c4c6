//! The lead page: details, the Actions card, "Why this owner?", history and transcript.

use crate::domain::HistoryKind;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::*;
use crate::app::AppState;
use crate::domain::country;
use crate::domain::permissions::{self, Action};
use crate::domain::routing::{Receipt, Skip};
use crate::domain::rules::Passed;
use crate::domain::validate::FieldErrors;
use crate::error::Result;
use crate::http::auth::WebUser;
use crate::http::web::{Nav, PageResult};
use crate::http::{datetime_display, rfc3339};
use crate::service::leads::{self};
use crate::service::{chat, team};
use crate::store::leads::Lead;
use crate::store::users::User;

pub struct LeadView {
    id: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    notes: Option<String>,
    /// "Germany (DE)".
    country: Option<String>,
    company_size: Option<i64>,
    status: &'static str,
    status_label: &'static str,
    source: &'static str,
    owner: Option<String>,
    created_by: Option<String>,
    created: String,
}

/// Which assignment buttons the viewer gets: straight from the permission table.
pub struct Buttons {
    claim: bool,
    unassign: bool,
    assign: bool,
}

pub fn buttons(viewer: &User, lead: &Lead) -> Buttons {
    let own = lead.owner_id() == Some(viewer.id.as_str());
    let may = |action| permissions::check(viewer.role, action).is_ok();
    Buttons {
        claim: lead.owner.is_none() && may(Action::ClaimLead),
        unassign: lead.owner.is_some() && may(Action::UnassignLead { own }),
        assign: may(Action::AssignLead),
    }
}

pub struct PoolRow {
    name: String,
    open_leads: i64,
    last: String,
    chosen: bool,
}

/// The routing receipt as the lead page shows it under "Why this owner?".
pub struct ReceiptView {
    reason: String,
    strategy: &'static str,
    seq: i64,
    fallback: bool,
    pool: Vec<PoolRow>,
    skipped: Vec<String>,
    /// With routing rules: the rule and rotation, and the rules passed over and why.
    rule: Option<String>,
    rotation: Option<String>,
    rules_passed: Vec<String>,
    rules_passed_more: usize,
}

fn receipt_view(json: &str) -> Option<ReceiptView> {
    let r: Receipt = serde_json::from_str(json).ok()?;
    Some(ReceiptView {
        strategy: r.strategy.label(),
        seq: r.seq,
        fallback: r.fallback,
        pool: r
            .pool
            .iter()
            .map(|p| PoolRow {
                name: p.name.clone(),
                open_leads: p.open_leads,
                last: p
                    .last_routed_seq
                    .map_or_else(|| "never".to_owned(), |s| format!("#{s}")),
                chosen: p.id == r.owner.id,
            })
            .collect(),
        skipped: r
            .skipped
            .iter()
            .map(|s| {
                let why = match s.why {
                    Skip::Inactive => "inactive",
                    Skip::NotInRotation => "not in the rotation",
                };
                format!("{} ({why})", s.name)
            })
            .collect(),
        rule: r.rule.as_ref().map(|n| n.name.clone()),
        rotation: r.rotation.as_ref().map(|n| n.name.clone()),
        rules_passed: r
            .rules_passed
            .iter()
            .map(|p| match &p.why {
                Passed::Disabled => format!("'{}' is off", p.name),
                Passed::NoMatch { condition } => format!("'{}': not {condition}", p.name),
                Passed::NobodyAvailable => {
                    format!("'{}': nobody in its rotation was active", p.name)
                }
            })
            .collect(),
        rules_passed_more: r.rules_passed_more,
        reason: r.reason,
    })
}

pub struct EventRow {
    at: String,
    when: String,
    kind: HistoryKind,
    detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "lead.html")]
pub struct LeadPage {
    nav: Option<Nav>,
    csrf_token: String,
    lead: LeadView,
    expected_owner: String,
    can_edit: bool,
    pub(super) form: LeadForm,
    status_options: Options,
    pub(super) errors: FieldErrors,
    buttons: Buttons,
    assignees: Options,
    hint: Option<String>,
    history: Vec<EventRow>,
    receipt: Option<ReceiptView>,
    /// (speaker label from the stored turn, its lines) for a lead the chat assistant made.
    transcript: Vec<(&'static str, Vec<String>)>,
    pub(super) error: Option<String>,
    notice: Option<&'static str>,
    countries: Vec<(&'static str, String)>,
}

pub(super) async fn lead_page(state: &AppState, user: &WebUser, id: &str) -> Result<LeadPage> {
    let lead = leads::get(&state.db, &user.actor, id).await?;
    let history = leads::history(&state.db, &user.actor, id).await?;
    let transcript = chat::lead_transcript(&state.db, &user.actor, id).await?;
    let members = team::members(&state.db, &user.actor).await?;
    let viewer = &user.actor.user;
    let own = lead.owner_id() == Some(viewer.id.as_str());
    let buttons = buttons(viewer, &lead);
    // The table's own sentences: why this viewer cannot change the lead, or whom to ask.
    let hint = match (&lead.owner, own) {
        _ if let Err(denied) = permissions::check(viewer.role, Action::EditLead { own: true }) => {
            Some(denied.0.to_owned())
        }
        (Some((_, name)), false) if !buttons.assign => Some(format!(
            "{name} owns this lead. {}",
            permissions::ASK_TO_REASSIGN
        )),
        _ => None,
    };
    let form = LeadForm {
        name: lead.name.clone(),
        email: lead.email.clone().unwrap_or_default(),
        phone: lead.phone.clone().unwrap_or_default(),
        company: lead.company.clone().unwrap_or_default(),
        notes: lead.notes.clone().unwrap_or_default(),
        country: lead.country.clone().unwrap_or_default(),
        company_size: lead.company_size.map(|n| n.to_string()).unwrap_or_default(),
        owner_id: String::new(),
        status: lead.status.as_str().to_owned(),
    };
    Ok(LeadPage {
        nav: Some(Nav::new(user, "leads")),
        csrf_token: user.csrf_token().to_owned(),
        expected_owner: lead.owner_id().unwrap_or_default().to_owned(),
        can_edit: permissions::check(viewer.role, Action::EditLead { own }).is_ok(),
        form,
        status_options: status_options(),
        errors: FieldErrors::default(),
        assignees: assignable(&members)
            .filter(|m| Some(m.id.as_str()) != lead.owner_id())
            .map(|m| {
                let label = if m.id == viewer.id {
                    format!("{} (me)", m.name)
                } else {
                    m.name.clone()
                };
                (m.id.clone(), label)
            })
            .collect(),
        buttons,
        hint,
        history: history
            .into_iter()
            .map(|e| EventRow {
                at: rfc3339(e.at),
                when: datetime_display(e.at),
                kind: e.kind,
                detail: e.detail,
            })
            .collect(),
        receipt: lead.receipt_json.as_deref().and_then(receipt_view),
        transcript: transcript
            .into_iter()
            .map(|t| {
                (
                    t.from.label(),
                    t.lines().into_iter().map(Into::into).collect(),
                )
            })
            .collect(),
        error: None,
        notice: None,
        countries: country::all(),
        lead: LeadView {
            id: lead.id,
            name: lead.name,
            email: lead.email,
            phone: lead.phone,
            company: lead.company,
            notes: lead.notes,
            country: lead.country.map(|code| match country::name(&code) {
                Some(name) => format!("{name} ({code})"),
                None => code,
            }),
            company_size: lead.company_size,
            status: lead.status.as_str(),
            status_label: lead.status.label(),
            source: lead.source.label(),
            owner: lead.owner.map(|(_, n)| n),
            created_by: lead.created_by.map(|(_, n)| n),
            created: datetime_display(lead.created_at),
        },
    })
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> PageResult {
    let mut page = lead_page(&state, &user, &id).await?;
    page.notice = match q.done.as_deref() {
        Some("claimed") => Some("It's now assigned to you."),
        Some("unassigned") => Some("The lead is back in the unassigned pool."),
        Some("assigned") => Some("Lead assigned."),
        Some("saved") => Some("Changes saved."),
        _ => None,
    };
    Ok(page.into_response())
}
