//! Leads pages: the list, New lead, and the lead page with its Actions card.

use crate::domain::HistoryKind;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth_pages::form_failure;
use super::{Nav, PageResult, error_page_for};
use crate::app::AppState;
use crate::domain::lead::{LeadInput, LeadSource, LeadStatus};
use crate::domain::permissions::{self, Action, OwnerPick};
use crate::domain::routing::{Receipt, Skip};
use crate::domain::validate::FieldErrors;
use crate::error::{Error, Result};
use crate::http::auth::WebUser;
use crate::http::{date_display, datetime_display, rfc3339};
use crate::service::leads::{self, CreateLead, Expected, LeadUpdate, ListQuery, OwnerChange};
use crate::service::{chat, team};
use crate::store::leads::Lead;
use crate::store::users::User;

type Options = Vec<(String, String)>;

fn status_options() -> Options {
    LeadStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
        .collect()
}

/// Members who may be given a lead: active and sales-capable, in team order.
fn assignable(members: &[User]) -> impl Iterator<Item = &User> {
    members
        .iter()
        .filter(|m| m.active && m.role.is_sales_capable())
}

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
) -> Response {
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
            let why = fields
                .0
                .iter()
                .map(|(f, w)| format!("{f} {w}"))
                .collect::<Vec<_>>()
                .join("; ");
            (
                leads::Page {
                    leads: Vec::new(),
                    next_cursor: None,
                },
                Some(format!("Check the filters: {why}.")),
            )
        }
        Err(err) => return error_page_for(Some(&user), err),
    };
    let members = match team::members(&state.db, &user.actor).await {
        Ok(m) => m,
        Err(err) => return error_page_for(Some(&user), err),
    };
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
    ListPage {
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
    .into_response()
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
    owner_id: String,
    owner_options: Options,
    errors: FieldErrors,
    form_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LeadForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    status: String,
}

impl LeadForm {
    fn input(&self) -> LeadInput {
        LeadInput {
            name: Some(self.name.clone()),
            email: Some(self.email.clone()),
            phone: Some(self.phone.clone()),
            company: Some(self.company.clone()),
            notes: Some(self.notes.clone()),
        }
    }
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
) -> Response {
    let input = CreateLead {
        fields: form.input(),
        owner_id: Some(form.owner_id.clone()).filter(|s| !s.is_empty()),
        source: None,
    };
    match leads::create(&state.db, &user.actor, input).await {
        Ok(lead) => Redirect::to(&format!("/leads/{}", lead.id)).into_response(),
        Err(err) => match new_page(&state, &user, form).await {
            Ok(mut page) => {
                let (status, errors, form_error) = form_failure(err);
                page.errors = errors;
                page.form_error = form_error;
                (status, page).into_response()
            }
            Err(err) => error_page_for(Some(&user), err),
        },
    }
}

pub struct LeadView {
    id: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    notes: Option<String>,
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
    form: LeadForm,
    status_options: Options,
    errors: FieldErrors,
    buttons: Buttons,
    assignees: Options,
    hint: Option<String>,
    history: Vec<EventRow>,
    receipt: Option<ReceiptView>,
    /// (speaker label from the stored turn, its lines) for a lead the chat assistant made.
    transcript: Vec<(&'static str, Vec<String>)>,
    error: Option<String>,
    notice: Option<&'static str>,
}

async fn lead_page(state: &AppState, user: &WebUser, id: &str) -> Result<LeadPage> {
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
        lead: LeadView {
            id: lead.id,
            name: lead.name,
            email: lead.email,
            phone: lead.phone,
            company: lead.company,
            notes: lead.notes,
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

/// Shows the lead page again with what went wrong, at the error's status.
async fn failed(
    state: &AppState,
    user: &WebUser,
    id: &str,
    err: Error,
    form: Option<LeadForm>,
) -> Response {
    if matches!(err, Error::NotFound) {
        return error_page_for(Some(user), err);
    }
    match lead_page(state, user, id).await {
        Ok(mut page) => {
            let (status, errors, message) = form_failure(err);
            page.error = message.or_else(|| Some("Some fields need another look.".into()));
            page.errors = errors;
            if let Some(form) = form {
                page.form = form;
            }
            (status, page).into_response()
        }
        Err(err) => error_page_for(Some(user), err),
    }
}

pub async fn update(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Form(form): Form<LeadForm>,
) -> Response {
    let change = LeadUpdate {
        fields: form.input(),
        status: Some(form.status.clone()),
    };
    match leads::update(&state.db, &user.actor, &id, change).await {
        Ok(_) => Redirect::to(&format!("/leads/{id}?done=saved")).into_response(),
        Err(err) => failed(&state, &user, &id, err, Some(form)).await,
    }
}

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
) -> Response {
    let done = match change {
        OwnerChange::Claim => "claimed",
        OwnerChange::Unassign => "unassigned",
        OwnerChange::Assign(_) => "assigned",
    };
    let expected = Expected::Owner(Some(form.expected_owner).filter(|s| !s.is_empty()));
    match leads::change_owner(&state.db, &user.actor, &id, change, expected).await {
        Ok(_) => Redirect::to(&format!("/leads/{id}?done={done}")).into_response(),
        Err(err) => failed(&state, &user, &id, err, None).await,
    }
}

pub async fn claim(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Form(form): Form<OwnerForm>,
) -> Response {
    owner_action(state, user, id, form, OwnerChange::Claim).await
}

pub async fn unassign(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Form(form): Form<OwnerForm>,
) -> Response {
    owner_action(state, user, id, form, OwnerChange::Unassign).await
}

pub async fn assign(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Form(form): Form<OwnerForm>,
) -> Response {
    let to = form.owner_id.clone();
    owner_action(state, user, id, form, OwnerChange::Assign(to)).await
}
