//! Leads over the API: create, list, read, edit, claim, unassign, assign, history.

use crate::domain::HistoryKind;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::UserRef;
use crate::app::AppState;
use crate::domain::lead::{Change, LeadInput, LeadSource, LeadStatus};
use crate::domain::routing::Strategy;
use crate::domain::routing::settings::DEFAULT_NAME;
use crate::domain::rules::DEFAULT_ROTATION;
use crate::error::Result;
use crate::http::auth::ApiUser;
use crate::http::error::ErrorBody;
use crate::http::extract::ApiJson;
use crate::http::rfc3339;
use crate::service::leads::{self, CreateLead, Expected, LeadUpdate, ListQuery, OwnerChange};
use crate::store::leads::{Lead, Person};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, update))
        .routes(routes!(claim))
        .routes(routes!(unassign))
        .routes(routes!(assign))
        .routes(routes!(history))
}

/// How auto-routing picked the owner.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoutingReceiptJson {
    #[schema(value_type = Strategy)]
    strategy: String,
    /// Increases by one for each routed lead of the account, in decision order.
    seq: i64,
    /// Why this owner, in a sentence.
    reason: String,
    /// The rotation that picked the owner (`default` is "Everyone").
    rotation: NamedRef,
    /// The routing rule that chose the rotation; null when none matched (or none existed).
    #[schema(required = true)]
    rule: Option<NamedRef>,
}

/// The id and name of a rotation or rule, as they were when the lead was routed.
#[derive(Debug, Serialize, ToSchema)]
pub struct NamedRef {
    id: String,
    name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeadJson {
    id: String,
    name: String,
    #[schema(required = true)]
    email: Option<String>,
    #[schema(required = true)]
    phone: Option<String>,
    #[schema(required = true)]
    company: Option<String>,
    #[schema(required = true)]
    notes: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    #[schema(required = true)]
    country: Option<String>,
    /// Employees.
    #[schema(required = true)]
    company_size: Option<i64>,
    status: LeadStatus,
    source: LeadSource,
    #[schema(required = true)]
    owner: Option<UserRef>,
    /// Null for website and assistant leads.
    #[schema(required = true)]
    created_by: Option<UserRef>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// Set only when auto-routing picked the owner.
    #[schema(required = true)]
    routing: Option<RoutingReceiptJson>,
    /// The first-touch timer; null while the lead has none.
    #[schema(required = true, value_type = Option<Object>)]
    sla: Option<serde_json::Value>,
    /// `waiting` while a lead is held for someone to be available; null otherwise.
    #[schema(required = true, value_type = Option<String>)]
    routing_state: Option<String>,
}

fn person(p: Option<Person>) -> Option<UserRef> {
    p.map(|(id, name)| UserRef { id, name })
}

impl From<Lead> for LeadJson {
    fn from(l: Lead) -> Self {
        Self {
            id: l.id,
            name: l.name,
            email: l.email,
            phone: l.phone,
            company: l.company,
            notes: l.notes,
            country: l.country,
            company_size: l.company_size,
            status: l.status,
            source: l.source,
            owner: person(l.owner),
            created_by: person(l.created_by),
            created_at: rfc3339(l.created_at),
            updated_at: rfc3339(l.updated_at),
            routing: l.routing.map(|r| {
                let named = |(id, name): Person| NamedRef { id, name };
                RoutingReceiptJson {
                    strategy: r.strategy,
                    seq: r.seq,
                    reason: r.reason,
                    rotation: r.rotation.map(named).unwrap_or_else(|| NamedRef {
                        id: DEFAULT_ROTATION.to_owned(),
                        name: DEFAULT_NAME.to_owned(),
                    }),
                    rule: r.rule.map(named),
                }
            }),
            sla: None,
            routing_state: None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateLeadRequest {
    /// 1 to 200 characters.
    #[schema(required = true, value_type = String)]
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    notes: Option<String>,
    /// An ISO 3166-1 alpha-2 code (`DE`) or an English name; stored as the code.
    country: Option<String>,
    /// Employees, 0 or more.
    #[schema(value_type = Option<i64>)]
    company_size: Option<serde_json::Value>,
    /// An active sales-capable member; without it, routing (when on) picks the owner.
    owner_id: Option<String>,
    /// team (default), assistant or import.
    source: Option<String>,
}

/// Create a lead. Owner, Manager, Sales (Sales may only give their own id as owner).
#[utoipa::path(post, path = "/api/v1/leads", tag = "leads", security(("bearer" = [])),
    request_body = CreateLeadRequest,
    responses((status = 201, body = LeadJson), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<CreateLeadRequest>,
) -> Result<(StatusCode, Json<LeadJson>)> {
    let input = CreateLead {
        fields: LeadInput {
            name: body.name,
            email: body.email,
            phone: body.phone,
            company: body.company,
            notes: body.notes,
            country: body.country,
            company_size: body.company_size.map(size_text),
        },
        owner_id: body.owner_id,
        source: body.source,
    };
    let lead = leads::create(&state.db, &caller.actor, input).await?;
    Ok((StatusCode::CREATED, Json(lead.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeadsQuery {
    /// A user id, `me` or `none`.
    owner: Option<String>,
    /// open, won, lost or dormant.
    status: Option<String>,
    /// team, assistant, website or import.
    source: Option<String>,
    /// Text to find in name, email or company.
    q: Option<String>,
    /// 1 to 200, default 50.
    limit: Option<String>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeadsResponse {
    leads: Vec<LeadJson>,
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// Leads, newest first, with keyset pagination.
#[utoipa::path(get, path = "/api/v1/leads", tag = "leads", operation_id = "list_leads", security(("bearer" = [])), params(LeadsQuery),
    responses((status = 200, body = LeadsResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    caller: ApiUser,
    Query(q): Query<LeadsQuery>,
) -> Result<Json<LeadsResponse>> {
    let query = ListQuery {
        owner: q.owner,
        status: q.status,
        source: q.source,
        q: q.q,
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = leads::list(&state.db, &caller.actor, &query).await?;
    Ok(Json(LeadsResponse {
        leads: page.leads.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One lead.
#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "leads", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = LeadJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<LeadJson>> {
    Ok(Json(
        leads::get(&state.db, &caller.actor, &id).await?.into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateLeadRequest {
    name: Option<String>,
    /// An empty string clears it.
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    notes: Option<String>,
    /// A code or an English name; an empty string or null clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    country: Change<String>,
    /// Employees; null or an empty string clears it.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    company_size: Change<serde_json::Value>,
    /// open, won, lost or dormant.
    status: Option<String>,
}

/// A JSON value as the text a lead field's parser reads: `501` and `"501"` alike; any
/// other type is kept as its JSON so the parser refuses it by name.
fn size_text(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

/// An edit as the field parsers read it: keep (absent), clear (empty) or a value.
fn edit_text<T>(change: Change<T>, text: impl FnOnce(T) -> String) -> Option<String> {
    match change {
        Change::Keep => None,
        Change::Clear => Some(String::new()),
        Change::Set(v) => Some(text(v)),
    }
}

/// Edit a lead. Owner or Manager on any lead; Sales on a lead they own.
#[utoipa::path(patch, path = "/api/v1/leads/{id}", tag = "leads", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = UpdateLeadRequest,
    responses((status = 200, body = LeadJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateLeadRequest>,
) -> Result<Json<LeadJson>> {
    let change = LeadUpdate {
        fields: LeadInput {
            name: body.name,
            email: body.email,
            phone: body.phone,
            company: body.company,
            notes: body.notes,
            country: edit_text(body.country, |c| c),
            company_size: edit_text(body.company_size, size_text),
        },
        status: body.status,
    };
    Ok(Json(
        leads::update(&state.db, &caller.actor, &id, change)
            .await?
            .into(),
    ))
}

/// Claim a lead with no owner. Any sales-capable role; 409 once it has one.
#[utoipa::path(post, path = "/api/v1/leads/{id}/claim", tag = "leads", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = LeadJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn claim(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<LeadJson>> {
    let lead = leads::change_owner(
        &state.db,
        &caller.actor,
        &id,
        OwnerChange::Claim,
        Expected::Current,
    )
    .await?;
    Ok(Json(lead.into()))
}

/// Send a lead back to the unassigned pool. Owner or Manager; Sales only on their own lead.
#[utoipa::path(post, path = "/api/v1/leads/{id}/unassign", tag = "leads", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = LeadJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn unassign(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<LeadJson>> {
    let lead = leads::change_owner(
        &state.db,
        &caller.actor,
        &id,
        OwnerChange::Unassign,
        Expected::Current,
    )
    .await?;
    Ok(Json(lead.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignRequest {
    /// An active sales-capable member.
    #[schema(required = true, value_type = String)]
    owner_id: Option<String>,
}

/// Assign or reassign a lead. Owner or Manager only.
#[utoipa::path(post, path = "/api/v1/leads/{id}/assign", tag = "leads", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = AssignRequest,
    responses((status = 200, body = LeadJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn assign(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssignRequest>,
) -> Result<Json<LeadJson>> {
    let to = body.owner_id.unwrap_or_default();
    let lead = leads::change_owner(
        &state.db,
        &caller.actor,
        &id,
        OwnerChange::Assign(to),
        Expected::Current,
    )
    .await?;
    Ok(Json(lead.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventJson {
    #[schema(format = DateTime)]
    at: String,
    #[schema(required = true)]
    actor: Option<UserRef>,
    kind: HistoryKind,
    #[schema(required = true)]
    from_owner: Option<UserRef>,
    #[schema(required = true)]
    to_owner: Option<UserRef>,
    detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryResponse {
    events: Vec<EventJson>,
}

/// A lead's history, oldest first.
#[utoipa::path(get, path = "/api/v1/leads/{id}/history", tag = "leads", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = HistoryResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<HistoryResponse>> {
    let events = leads::history(&state.db, &caller.actor, &id).await?;
    Ok(Json(HistoryResponse {
        events: events
            .into_iter()
            .map(|e| EventJson {
                at: rfc3339(e.at),
                actor: person(e.actor),
                kind: e.kind,
                from_owner: person(e.from_owner),
                to_owner: person(e.to_owner),
                detail: e.detail,
            })
            .collect(),
    }))
}
