//! Rotations, routing rules, the simulator and the backtest over the API.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::UserJson;
use crate::app::AppState;
use crate::domain::lead::Change;
use crate::domain::routing::Strategy;
use crate::domain::routing::engine::Named;
use crate::domain::routing::settings::{IfNoneAvailable, MemberInput, RotationInput, SlaAction};
use crate::domain::rules::{DraftCondition, DraftRule, Passed, Rule, RuleField, RuleOp};
use crate::error::{Error, Result};
use crate::http::auth::ApiUser;
use crate::http::error::ErrorBody;
use crate::http::extract::ApiJson;
use crate::service::rotations::{self, RotationView};
use crate::service::rules::{self, LeadFacts, RulesView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rotations, create_rotation))
        .routes(routes!(get_rotation, update_rotation, delete_rotation))
        .routes(routes!(get_rules, put_rules))
        .routes(routes!(simulate))
        .routes(routes!(backtest))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberJson {
    user_id: String,
    /// 1 to 1000; 100 when left out.
    #[schema(required = false)]
    weight: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotationJson {
    id: String,
    name: String,
    strategy: Strategy,
    /// The picks; empty means the whole sales-capable team.
    members: Vec<MemberJson>,
    if_none_available: IfNoneAvailable,
    #[schema(required = true)]
    first_touch_minutes: Option<i64>,
    sla_action: SlaAction,
    max_hops: i64,
    /// Who this rotation would pick from right now (empty: nobody can take a lead).
    effective_pool: Vec<String>,
    #[schema(required = true)]
    next: Option<String>,
}

impl From<RotationView> for RotationJson {
    fn from(v: RotationView) -> Self {
        let s = v.settings;
        Self {
            id: v.id,
            name: s.name,
            strategy: s.strategy,
            members: s
                .members
                .into_iter()
                .map(|m| MemberJson {
                    user_id: m.user_id,
                    weight: Some(m.weight),
                })
                .collect(),
            if_none_available: s.if_none_available,
            first_touch_minutes: s.first_touch_minutes,
            sla_action: s.sla_action,
            max_hops: s.max_hops,
            effective_pool: v.effective_pool,
            next: v.next,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotationsResponse {
    /// The default rotation ("Everyone") first, then in the order they were added.
    rotations: Vec<RotationJson>,
}

/// Every rotation of the account. Any role.
#[utoipa::path(get, path = "/api/v1/rotations", tag = "routing", security(("bearer" = [])),
    responses((status = 200, body = RotationsResponse), (status = 401, body = ErrorBody)))]
async fn list_rotations(
    State(state): State<AppState>,
    caller: ApiUser,
) -> Result<Json<RotationsResponse>> {
    let rotations = rotations::list(&state.db, &caller.actor).await?;
    Ok(Json(RotationsResponse {
        rotations: rotations.into_iter().map(Into::into).collect(),
    }))
}

/// One rotation; `default` is the rotation of the Lead routing page. Any role.
#[utoipa::path(get, path = "/api/v1/rotations/{id}", tag = "routing", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = RotationJson), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_rotation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: ApiUser,
) -> Result<Json<RotationJson>> {
    Ok(Json(
        rotations::get(&state.db, &caller.actor, &id).await?.into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RotationRequest {
    /// Required to add a rotation; the default rotation's name cannot change.
    name: Option<String>,
    #[schema(value_type = Option<Strategy>)]
    strategy: Option<String>,
    members: Option<Vec<MemberJson>>,
    #[schema(value_type = Option<IfNoneAvailable>)]
    if_none_available: Option<String>,
    /// Minutes for the first touch; `null` turns the timer off; left out keeps it.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    first_touch_minutes: Change<i64>,
    #[schema(value_type = Option<SlaAction>)]
    sla_action: Option<String>,
    max_hops: Option<i64>,
}

impl From<RotationRequest> for RotationInput {
    fn from(r: RotationRequest) -> Self {
        RotationInput {
            name: r.name,
            strategy: r.strategy,
            members: r.members.map(|members| {
                members
                    .into_iter()
                    .map(|m| MemberInput {
                        user_id: m.user_id,
                        weight: m.weight,
                    })
                    .collect()
            }),
            if_none_available: r.if_none_available,
            first_touch_minutes: r.first_touch_minutes,
            sla_action: r.sla_action,
            max_hops: r.max_hops,
        }
    }
}

/// Add a rotation. Owner or Manager.
#[utoipa::path(post, path = "/api/v1/rotations", tag = "routing", security(("bearer" = [])),
    request_body = RotationRequest,
    responses((status = 201, body = RotationJson), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_rotation(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<RotationRequest>,
) -> Result<(StatusCode, Json<RotationJson>)> {
    let view = rotations::create(&state.db, &caller.actor, body.into()).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// Change a rotation; a field left out keeps its value. Owner or Manager.
#[utoipa::path(patch, path = "/api/v1/rotations/{id}", tag = "routing", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = RotationRequest,
    responses((status = 200, body = RotationJson), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_rotation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: ApiUser,
    ApiJson(body): ApiJson<RotationRequest>,
) -> Result<Json<RotationJson>> {
    let view = rotations::update(&state.db, &caller.actor, &id, body.into()).await?;
    Ok(Json(view.into()))
}

/// Delete a rotation. Owner or Manager. `409` for the default rotation or one a rule
/// routes to.
#[utoipa::path(delete, path = "/api/v1/rotations/{id}", tag = "routing", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn delete_rotation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: ApiUser,
) -> Result<StatusCode> {
    rotations::delete(&state.db, &caller.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConditionJson {
    #[schema(value_type = RuleField)]
    field: String,
    #[schema(value_type = RuleOp)]
    op: String,
    /// A text or number; a list for `in` and `not_in`; nothing for `is_empty`/`is_not_empty`.
    #[serde(default)]
    value: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RuleJson {
    /// Left out for a new rule; an existing rule's id keeps it.
    #[schema(required = false)]
    id: Option<String>,
    name: String,
    #[serde(default = "on")]
    enabled: bool,
    #[serde(default)]
    conditions: Vec<ConditionJson>,
    rotation_id: String,
}

fn on() -> bool {
    true
}

impl From<Rule> for RuleJson {
    fn from(r: Rule) -> Self {
        RuleJson {
            id: Some(r.id),
            name: r.name,
            enabled: r.enabled,
            conditions: r
                .conditions
                .into_iter()
                .map(|c| ConditionJson {
                    field: c.field.as_str().to_owned(),
                    op: c.op.as_str().to_owned(),
                    value: serde_json::to_value(&c.value).unwrap_or_default(),
                })
                .collect(),
            rotation_id: r.rotation_id,
        }
    }
}

/// A draft rule as the client sent it: every part optional, so a missing one is a `422`
/// naming it rather than a `400` for the whole body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DraftRuleJson {
    id: Option<String>,
    name: Option<String>,
    enabled: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Vec<ConditionJson>)]
    conditions: Vec<DraftConditionJson>,
    rotation_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DraftConditionJson {
    field: Option<String>,
    op: Option<String>,
    #[serde(default)]
    value: serde_json::Value,
}

impl From<DraftRuleJson> for DraftRule {
    fn from(r: DraftRuleJson) -> Self {
        DraftRule {
            id: r.id,
            name: r.name,
            enabled: r.enabled,
            conditions: r
                .conditions
                .into_iter()
                .map(|c| DraftCondition {
                    field: c.field,
                    op: c.op,
                    value: c.value,
                })
                .collect(),
            rotation_id: r.rotation_id,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RulesResponse {
    /// In order: the first enabled rule whose conditions all hold routes the lead.
    rules: Vec<RuleJson>,
    /// The list's version; send it as `If-Match` to refuse a save over someone else's.
    version: i64,
}

fn rules_response(view: RulesView) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", view.version)).ok();
    let body = Json(RulesResponse {
        rules: view.rules.into_iter().map(Into::into).collect(),
        version: view.version,
    });
    let mut response = body.into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// The routing rules in order, with the list's version (also as `ETag`). Any role.
#[utoipa::path(get, path = "/api/v1/routing/rules", tag = "routing", security(("bearer" = [])),
    responses((status = 200, body = RulesResponse), (status = 401, body = ErrorBody)))]
async fn get_rules(State(state): State<AppState>, caller: ApiUser) -> Result<Response> {
    Ok(rules_response(rules::list(&state.db, &caller.actor).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RulesRequest {
    rules: Vec<DraftRuleJson>,
}

/// `If-Match: "3"` (or `3`): the version the client read.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    raw.to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| Error::bad_request("If-Match must be the rules' version, e.g. \"3\"."))
}

/// Replace the whole ordered list at once. Owner or Manager. Without `If-Match` the later
/// of two saves wins (both are in the audit log); with it, a list saved by someone else
/// since that version is a `409`.
#[utoipa::path(put, path = "/api/v1/routing/rules", tag = "routing", security(("bearer" = [])),
    request_body = RulesRequest,
    params(("If-Match" = Option<String>, Header, description = "The version read, to refuse a save over another")),
    responses((status = 200, body = RulesResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_rules(
    State(state): State<AppState>,
    caller: ApiUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RulesRequest>,
) -> Result<Response> {
    let drafts = body.rules.into_iter().map(Into::into).collect();
    let view = rules::save(&state.db, &caller.actor, drafts, if_match(&headers)?).await?;
    Ok(rules_response(view))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SimulateRequest {
    name: Option<String>,
    email: Option<String>,
    company: Option<String>,
    /// `team` when left out.
    source: Option<String>,
    /// A code (`DE`) or an English name.
    country: Option<String>,
    #[schema(value_type = Option<i64>)]
    company_size: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NamedJson {
    id: String,
    name: String,
}

impl From<Named> for NamedJson {
    fn from(n: Named) -> Self {
        NamedJson {
            id: n.id,
            name: n.name,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedJson {
    user_id: String,
    /// `inactive` or `not_in_rotation`.
    reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PassedRuleJson {
    id: String,
    name: String,
    /// `disabled`, `no_match` (with the condition that did not hold) or `nobody_available`.
    why: String,
    #[schema(required = false)]
    condition: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimulateResponse {
    #[schema(required = true)]
    rule: Option<NamedJson>,
    rotation: NamedJson,
    #[schema(required = true)]
    owner: Option<UserJson>,
    skipped: Vec<SkippedJson>,
    /// The rules tried before the one that decided, and why each was passed over (the
    /// first five).
    rules_passed: Vec<PassedRuleJson>,
    /// How many more rules were passed over.
    rules_passed_more: usize,
    reason: String,
}

/// Which rule, rotation and rep would get a lead like this right now, with the receipt.
/// Changes nothing. Any role.
#[utoipa::path(post, path = "/api/v1/routing/simulate", tag = "routing", security(("bearer" = [])),
    request_body = SimulateRequest,
    responses((status = 200, body = SimulateResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn simulate(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<SimulateRequest>,
) -> Result<Json<SimulateResponse>> {
    let facts = LeadFacts {
        name: body.name,
        email: body.email,
        company: body.company,
        source: body.source,
        country: body.country,
        company_size: body.company_size,
    };
    let s = rules::simulate(&state.db, &caller.actor, facts).await?;
    Ok(Json(SimulateResponse {
        rule: s.rule.map(Into::into),
        rotation: s.rotation.into(),
        owner: s.owner.map(Into::into),
        skipped: s
            .skipped
            .into_iter()
            .map(|(user_id, reason)| SkippedJson {
                user_id,
                reason: reason.to_owned(),
            })
            .collect(),
        rules_passed: s
            .rules_passed
            .into_iter()
            .map(|p| {
                let (why, condition) = match p.why {
                    Passed::Disabled => ("disabled", None),
                    Passed::NoMatch { condition } => ("no_match", Some(condition)),
                    Passed::NobodyAvailable => ("nobody_available", None),
                };
                PassedRuleJson {
                    id: p.id,
                    name: p.name,
                    why: why.to_owned(),
                    condition,
                }
            })
            .collect(),
        rules_passed_more: s.rules_passed_more,
        reason: s.reason,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BacktestRequest {
    /// The draft list, as `PUT /api/v1/routing/rules` takes it.
    rules: Vec<DraftRuleJson>,
    /// 1 to 90; 30 when left out.
    days: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleCountJson {
    /// The rule's name; the last entry is the default rotation's ("Everyone"), for leads no
    /// rule matched.
    rule: String,
    #[schema(required = true)]
    rule_id: Option<String>,
    matched: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnassignedJson {
    current: i64,
    draft: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestResponse {
    /// Leads created in the period that came in with no owner.
    leads: i64,
    /// Leads per member (user id) under the current rules.
    current: BTreeMap<String, i64>,
    /// Leads per member under the draft rules.
    draft: BTreeMap<String, i64>,
    by_rule: Vec<RuleCountJson>,
    /// Leads nobody active could take.
    unassigned: UnassignedJson,
}

/// The account's leads of the last `days` replayed, in their original order, through the
/// current and the draft rules from the same start. Changes nothing. Any role.
#[utoipa::path(post, path = "/api/v1/routing/backtest", tag = "routing", security(("bearer" = [])),
    request_body = BacktestRequest,
    responses((status = 200, body = BacktestResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn backtest(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<BacktestRequest>,
) -> Result<Json<BacktestResponse>> {
    let drafts = body.rules.into_iter().map(Into::into).collect();
    let b = rules::backtest(&state.db, &caller.actor, drafts, body.days.unwrap_or(30)).await?;
    Ok(Json(BacktestResponse {
        leads: b.leads,
        current: b.current,
        draft: b.draft,
        by_rule: b
            .by_rule
            .into_iter()
            .map(|(rule_id, rule, matched)| RuleCountJson {
                rule,
                rule_id,
                matched,
            })
            .collect(),
        unassigned: UnassignedJson {
            current: b.unassigned.0,
            draft: b.unassigned.1,
        },
    }))
}
