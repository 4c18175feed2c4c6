//! Lead routing -> Rules and rotations: the ordered rule list (edited as a draft on the
//! server: add, remove, move, then one Save), the backtest of a draft, the "Test a lead"
//! simulator, and the rotations. Anyone may open it; saving is for Owners and Managers.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{Nav, PageResult, banner};
use crate::app::AppState;
use crate::domain::country;
use crate::domain::lead::LeadSource;
use crate::domain::permissions::{self, Action};
use crate::domain::routing::Strategy;
use crate::domain::routing::settings::{MemberInput, RotationInput};
use crate::domain::rules::{DraftCondition, DraftRule, Passed, RuleField, RuleOp, Value};
use crate::error::{Error, Result};
use crate::http::auth::WebUser;
use crate::service::rotations::{self, RotationView};
use crate::service::rules::{self, LeadFacts};
use crate::service::team;

/// One condition as the form holds it: the value as typed (lists comma-separated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConditionRow {
    field: String,
    op: String,
    value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleRow {
    id: String,
    name: String,
    enabled: bool,
    rotation_id: String,
    conditions: Vec<ConditionRow>,
}

impl RuleRow {
    fn draft(&self) -> DraftRule {
        DraftRule {
            id: Some(self.id.clone()).filter(|id| !id.is_empty()),
            name: Some(self.name.clone()),
            enabled: Some(self.enabled),
            rotation_id: Some(self.rotation_id.clone()),
            conditions: self
                .conditions
                .iter()
                .map(|c| {
                    let list = matches!(c.op.as_str(), "in" | "not_in");
                    let value = if list {
                        serde_json::Value::Array(
                            c.value
                                .split(',')
                                .map(str::trim)
                                .filter(|v| !v.is_empty())
                                .map(|v| serde_json::Value::String(v.to_owned()))
                                .collect(),
                        )
                    } else {
                        serde_json::Value::String(c.value.clone())
                    };
                    DraftCondition {
                        field: Some(c.field.clone()),
                        op: Some(c.op.clone()),
                        value,
                    }
                })
                .collect(),
        }
    }
}

pub struct RotationCard {
    id: String,
    name: String,
    strategy: &'static str,
    members: String,
    pool: usize,
    next: Option<String>,
}

pub struct BacktestRow {
    name: String,
    current: i64,
    draft: i64,
}

pub struct BacktestView {
    leads: i64,
    rows: Vec<BacktestRow>,
    by_rule: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SimForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    company_size: String,
}

pub struct SimView {
    rule: Option<String>,
    rotation: String,
    owner: Option<String>,
    reason: String,
    passed: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "routing_rules.html")]
pub struct RulesPage {
    nav: Option<Nav>,
    csrf_token: String,
    can_save: bool,
    version: i64,
    rules: Vec<RuleRow>,
    /// The draft differs from what is saved.
    unsaved: bool,
    rotations: Vec<RotationCard>,
    fields: Vec<(&'static str, &'static str)>,
    ops: Vec<(&'static str, &'static str)>,
    sources: Vec<(&'static str, &'static str)>,
    countries: Vec<(&'static str, String)>,
    members: Vec<(String, String)>,
    error: Option<String>,
    notice: Option<&'static str>,
    backtest: Option<BacktestView>,
    sim: SimForm,
    sim_result: Option<SimView>,
}

fn rows_of(rules: Vec<crate::domain::rules::Rule>) -> Vec<RuleRow> {
    rules
        .into_iter()
        .map(|r| RuleRow {
            id: r.id,
            name: r.name,
            enabled: r.enabled,
            rotation_id: r.rotation_id,
            conditions: r
                .conditions
                .into_iter()
                .map(|c| ConditionRow {
                    field: c.field.as_str().to_owned(),
                    op: c.op.as_str().to_owned(),
                    value: match c.value {
                        Value::None => String::new(),
                        other => other.describe(),
                    },
                })
                .collect(),
        })
        .collect()
}

fn card(view: &RotationView, name_of: &dyn Fn(&str) -> String) -> RotationCard {
    let members = if view.settings.members.is_empty() {
        "Everyone sales-capable".to_owned()
    } else {
        view.settings
            .members
            .iter()
            .map(|m| name_of(&m.user_id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    RotationCard {
        id: view.id.clone(),
        name: view.settings.name.clone(),
        strategy: view.settings.strategy.label(),
        members,
        pool: view.effective_pool.len(),
        next: view.next.as_deref().map(name_of),
    }
}

/// The page with the saved rules, or with `draft` (and the version it started from).
async fn page(
    state: &AppState,
    user: &WebUser,
    draft: Option<(Vec<RuleRow>, i64)>,
) -> Result<RulesPage> {
    let saved = rules::list(&state.db, &user.actor).await?;
    let team = team::members(&state.db, &user.actor).await?;
    let name_of = |id: &str| {
        team.iter()
            .find(|m| m.id == id)
            .map_or_else(|| id.to_owned(), |m| m.name.clone())
    };
    let rotations = rotations::list(&state.db, &user.actor).await?;
    let saved_rows = rows_of(saved.rules);
    let (rules, version) = draft.unwrap_or((saved_rows.clone(), saved.version));
    Ok(RulesPage {
        nav: Some(Nav::new(user, "routing")),
        csrf_token: user.csrf_token().to_owned(),
        can_save: permissions::check(user.actor.user.role, Action::SaveRouting).is_ok(),
        version,
        unsaved: rules != saved_rows,
        rules,
        rotations: rotations.iter().map(|r| card(r, &name_of)).collect(),
        fields: RuleField::ALL
            .iter()
            .map(|f| (f.as_str(), f.label()))
            .collect(),
        ops: RuleOp::ALL
            .iter()
            .map(|o| (o.as_str(), o.label()))
            .collect(),
        sources: LeadSource::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        countries: country::all(),
        members: team
            .iter()
            .filter(|m| m.role.is_sales_capable() && m.active)
            .map(|m| (m.id.clone(), m.name.clone()))
            .collect(),
        error: None,
        notice: None,
        backtest: None,
        sim: SimForm::default(),
        sim_result: None,
    })
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    saved: Option<String>,
    rotation: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<ShowQuery>,
) -> PageResult {
    let mut page = page(&state, &user, None).await?;
    page.notice = match (q.saved, q.rotation.as_deref()) {
        (Some(_), _) => Some("Routing rules saved. The change is in the audit log."),
        (_, Some("deleted")) => Some("Rotation deleted."),
        (_, Some(_)) => Some("Rotation saved."),
        _ => None,
    };
    Ok(page.into_response())
}

/// The draft rules a form holds: `r{i}.name`, `r{i}.c{j}.field`, ... in index order.
fn draft_of(fields: &[(String, String)]) -> Vec<RuleRow> {
    let mut rules: BTreeMap<usize, (RuleRow, BTreeMap<usize, ConditionRow>)> = BTreeMap::new();
    for (key, value) in fields {
        let Some((rule, part)) = key
            .strip_prefix('r')
            .and_then(|k| k.split_once('.'))
            .and_then(|(i, part)| Some((i.parse::<usize>().ok()?, part)))
        else {
            continue;
        };
        let (row, conditions) = rules.entry(rule).or_default();
        match part {
            "id" => row.id = value.clone(),
            "name" => row.name = value.clone(),
            "enabled" => row.enabled = value == "true",
            "rotation_id" => row.rotation_id = value.clone(),
            _ => {
                let Some((j, what)) = part
                    .strip_prefix('c')
                    .and_then(|k| k.split_once('.'))
                    .and_then(|(j, what)| Some((j.parse::<usize>().ok()?, what)))
                else {
                    continue;
                };
                let c = conditions.entry(j).or_default();
                match what {
                    "field" => c.field = value.clone(),
                    "op" => c.op = value.clone(),
                    "value" => c.value = value.clone(),
                    _ => {}
                }
            }
        }
    }
    rules
        .into_values()
        .map(|(mut row, conditions)| {
            row.conditions = conditions.into_values().collect();
            row
        })
        .collect()
}

/// What a button of the rule editor asks: `do=save`, `do=up:2`, `do=remove_condition:1:0`.
fn edit(rules: &mut Vec<RuleRow>, action: &str) {
    let mut parts = action.split(':');
    let verb = parts.next().unwrap_or_default();
    let i: Option<usize> = parts.next().and_then(|n| n.parse().ok());
    let j: Option<usize> = parts.next().and_then(|n| n.parse().ok());
    let len = rules.len();
    match (verb, i, j) {
        ("add_rule", _, _) => rules.push(RuleRow {
            name: format!("Rule {}", len + 1),
            enabled: true,
            rotation_id: "default".into(),
            ..RuleRow::default()
        }),
        ("remove", Some(i), _) if i < len => {
            rules.remove(i);
        }
        ("up", Some(i), _) if i > 0 && i < len => rules.swap(i, i - 1),
        ("down", Some(i), _) if i + 1 < len => rules.swap(i, i + 1),
        ("add_condition", Some(i), _) if i < len => rules[i].conditions.push(ConditionRow {
            field: "country".into(),
            op: "in".into(),
            value: String::new(),
        }),
        ("remove_condition", Some(i), Some(j)) if i < len && j < rules[i].conditions.len() => {
            rules[i].conditions.remove(j);
        }
        _ => {}
    }
}

/// "rules[1].conditions[0].value: ..." as a person reads it: "Rule 2, condition 1: ...".
fn readable(err: Error) -> String {
    let Error::Validation(fields) = err else {
        return banner(err);
    };
    let mut sentences = Vec::new();
    for (key, why) in &fields.0 {
        let mut place = Vec::new();
        let mut what = key.as_str();
        for part in key.split('.') {
            if let Some(i) = part
                .strip_prefix("rules[")
                .and_then(|p| p.strip_suffix(']'))
            {
                place.push(format!("Rule {}", i.parse::<usize>().unwrap_or(0) + 1));
            } else if let Some(j) = part
                .strip_prefix("conditions[")
                .and_then(|p| p.strip_suffix(']'))
            {
                place.push(format!("condition {}", j.parse::<usize>().unwrap_or(0) + 1));
            } else {
                what = part;
            }
        }
        let what = what.replace('_', " ").replace("rotation id", "rotation");
        let place = if place.is_empty() {
            String::new()
        } else {
            format!("{}: ", place.join(", "))
        };
        sentences.push(format!("{place}{what} {why}."));
    }
    sentences.join(" ")
}

pub async fn save(
    State(state): State<AppState>,
    user: WebUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut draft = draft_of(&fields);
    let version: i64 = value("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let action = value("do").unwrap_or("save").to_owned();
    let drafts = || draft.iter().map(RuleRow::draft).collect::<Vec<_>>();
    match action.as_str() {
        "save" => {
            match rules::save(&state.db, &user.actor, drafts(), Some(version)).await {
                Ok(_) => Ok(Redirect::to("/settings/routing/rules?saved=1").into_response()),
                Err(err) => {
                    let status = err.status();
                    let mut page = page(&state, &user, Some((draft, version))).await?;
                    page.error = Some(match err {
                    Error::Forbidden(_) => "Only an Owner or Manager can change routing rules; nothing was changed.".into(),
                    other => readable(other),
                });
                    Ok((status, page).into_response())
                }
            }
        }
        "backtest" => {
            let result = rules::backtest(&state.db, &user.actor, drafts(), 30).await;
            let mut page = page(&state, &user, Some((draft, version))).await?;
            match result {
                Ok(b) => {
                    let mut ids: Vec<&String> = b.current.keys().chain(b.draft.keys()).collect();
                    ids.sort();
                    ids.dedup();
                    let name_of = |id: &str| {
                        page.members
                            .iter()
                            .find(|(m, _)| m == id)
                            .map_or_else(|| "A former member".to_owned(), |(_, n)| n.clone())
                    };
                    page.backtest = Some(BacktestView {
                        leads: b.leads,
                        rows: ids
                            .into_iter()
                            .map(|id| BacktestRow {
                                name: name_of(id),
                                current: b.current.get(id).copied().unwrap_or(0),
                                draft: b.draft.get(id).copied().unwrap_or(0),
                            })
                            .collect(),
                        by_rule: b.by_rule.into_iter().map(|(_, n, m)| (n, m)).collect(),
                    });
                }
                Err(err) => page.error = Some(readable(err)),
            }
            Ok(page.into_response())
        }
        other => {
            edit(&mut draft, other);
            Ok(page(&state, &user, Some((draft, version)))
                .await?
                .into_response())
        }
    }
}

pub async fn simulate(
    State(state): State<AppState>,
    user: WebUser,
    Form(sim): Form<SimForm>,
) -> PageResult {
    let blank = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let facts = LeadFacts {
        name: blank(&sim.name),
        email: blank(&sim.email),
        company: blank(&sim.company),
        source: blank(&sim.source),
        country: blank(&sim.country),
        company_size: blank(&sim.company_size).map(serde_json::Value::String),
    };
    let result = rules::simulate(&state.db, &user.actor, facts).await;
    let mut page = page(&state, &user, None).await?;
    match result {
        Ok(s) => {
            page.sim_result = Some(SimView {
                rule: s.rule.map(|r| r.name),
                rotation: s.rotation.name,
                owner: s.owner.map(|u| u.name),
                reason: s.reason,
                passed: s
                    .rules_passed
                    .into_iter()
                    .map(|p| match p.why {
                        Passed::Disabled => format!("'{}' is off", p.name),
                        Passed::NoMatch { condition } => {
                            format!("'{}' did not match: not {condition}", p.name)
                        }
                        Passed::NobodyAvailable => {
                            format!("'{}' matched, but nobody in its rotation is active", p.name)
                        }
                    })
                    .collect(),
            })
        }
        Err(err) => page.error = Some(banner(err)),
    }
    page.sim = sim;
    Ok(page.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "rotation.html")]
pub struct RotationPage {
    nav: Option<Nav>,
    csrf_token: String,
    can_save: bool,
    /// `None` for a new rotation.
    id: Option<String>,
    is_default: bool,
    name: String,
    strategy: &'static str,
    members: Vec<(String, String, bool)>,
    error: Option<String>,
}

async fn rotation_page(state: &AppState, user: &WebUser, id: Option<&str>) -> Result<RotationPage> {
    let view = match id {
        Some(id) => Some(rotations::get(&state.db, &user.actor, id).await?),
        None => None,
    };
    let team = team::members(&state.db, &user.actor).await?;
    let picked = |uid: &str| {
        view.as_ref()
            .is_some_and(|v| v.settings.members.iter().any(|m| m.user_id == uid))
    };
    Ok(RotationPage {
        nav: Some(Nav::new(user, "routing")),
        csrf_token: user.csrf_token().to_owned(),
        can_save: permissions::check(user.actor.user.role, Action::SaveRouting).is_ok(),
        is_default: id == Some(crate::domain::rules::DEFAULT_ROTATION),
        id: id.map(str::to_owned),
        name: view
            .as_ref()
            .map(|v| v.settings.name.clone())
            .unwrap_or_default(),
        strategy: view
            .as_ref()
            .map_or(Strategy::RoundRobin, |v| v.settings.strategy)
            .as_str(),
        members: team
            .iter()
            .filter(|m| m.role.is_sales_capable())
            .map(|m| (m.id.clone(), m.name.clone(), picked(&m.id)))
            .collect(),
        error: None,
    })
}

pub async fn new_rotation(State(state): State<AppState>, user: WebUser) -> PageResult {
    Ok(rotation_page(&state, &user, None).await?.into_response())
}

pub async fn show_rotation(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> PageResult {
    Ok(rotation_page(&state, &user, Some(&id))
        .await?
        .into_response())
}

fn rotation_input(fields: &[(String, String)], is_default: bool) -> RotationInput {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    RotationInput {
        name: if is_default { None } else { value("name") },
        strategy: value("strategy"),
        members: Some(
            fields
                .iter()
                .filter(|(k, _)| k == "member")
                .map(|(_, v)| MemberInput {
                    user_id: v.clone(),
                    weight: None,
                })
                .collect(),
        ),
        ..RotationInput::default()
    }
}

/// Adds (`id` absent) or changes a rotation; back to the rules page when it worked.
pub async fn save_rotation(
    State(state): State<AppState>,
    user: WebUser,
    id: Option<Path<String>>,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let id = id.map(|Path(id)| id);
    let is_default = id.as_deref() == Some(crate::domain::rules::DEFAULT_ROTATION);
    let input = rotation_input(&fields, is_default);
    let result = match &id {
        Some(id) => rotations::update(&state.db, &user.actor, id, input).await,
        None => rotations::create(&state.db, &user.actor, input).await,
    };
    match result {
        Ok(_) => Ok(Redirect::to("/settings/routing/rules?rotation=saved").into_response()),
        Err(err) => {
            let status = err.status();
            let mut page = rotation_page(&state, &user, id.as_deref()).await?;
            page.error = Some(banner(err));
            Ok((status, page).into_response())
        }
    }
}

pub async fn delete_rotation(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> PageResult {
    match rotations::delete(&state.db, &user.actor, &id).await {
        Ok(()) => Ok(Redirect::to("/settings/routing/rules?rotation=deleted").into_response()),
        Err(err) => {
            let status = err.status();
            let mut page = rotation_page(&state, &user, Some(&id)).await?;
            page.error = Some(banner(err));
            Ok((status, page).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_form_is_read_back_in_order_and_edited() {
        let mut rules = draft_of(&form(&[
            ("r1.name", "B"),
            ("r0.name", "A"),
            ("r0.enabled", "true"),
            ("r0.rotation_id", "eu"),
            ("r0.c0.field", "country"),
            ("r0.c0.op", "in"),
            ("r0.c0.value", "DE, AT ,"),
            ("r1.rotation_id", "default"),
            ("csrf_token", "x"),
        ]));
        assert_eq!(rules.len(), 2);
        assert_eq!((rules[0].name.as_str(), rules[1].name.as_str()), ("A", "B"));
        assert!(rules[0].enabled && !rules[1].enabled);
        let draft = rules[0].draft();
        assert_eq!(draft.conditions[0].value, serde_json::json!(["DE", "AT"]));
        edit(&mut rules, "down:0");
        assert_eq!(rules[1].name, "A");
        edit(&mut rules, "up:1");
        assert_eq!(rules[0].name, "A");
        edit(&mut rules, "add_condition:1");
        assert_eq!(rules[1].conditions.len(), 1);
        edit(&mut rules, "remove_condition:1:0");
        assert!(rules[1].conditions.is_empty());
        edit(&mut rules, "add_rule");
        assert_eq!(rules.len(), 3);
        edit(&mut rules, "remove:0");
        edit(&mut rules, "up:9");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].name, "B");
    }

    #[test]
    fn errors_read_as_sentences() {
        let mut fields = crate::domain::validate::FieldErrors::default();
        fields.add(
            "rules[1].conditions[0].value",
            "must list at least one value",
        );
        fields.add("rules[0].rotation_id", "is not a rotation of this account");
        assert_eq!(
            readable(Error::Validation(fields)),
            "Rule 1: rotation is not a rotation of this account. Rule 2, condition 1: value must list at least one value."
        );
    }
}
