//! Routing rules: read and save the ordered list, try a lead against them (simulate), and
//! replay the last days' leads through the current and a draft list (backtest). Only
//! saving writes.

use std::collections::BTreeMap;

use serde_json::json;

use super::Actor;
use super::routing::engine;
use super::secrets;
use crate::domain::AuditAction;
use crate::domain::country;
use crate::domain::lead::LeadSource;
use crate::domain::permissions::{self, Action};
use crate::domain::routing::Skip;
use crate::domain::routing::engine::{Engine, Named, PassedRule};
use crate::domain::rules::{self, DraftRule, Facts, Rule};
use crate::domain::validate::FieldErrors;
use crate::error::{Error, Result};
use crate::store::users::{self, User};
use crate::store::{Conn, Db, audit, now_ms, routing as store};

#[derive(Debug, Clone)]
pub struct RulesView {
    pub rules: Vec<Rule>,
    /// Bumped by every save: send it back as `If-Match` to refuse a save over someone else's.
    pub version: i64,
}

pub async fn list(db: &Db, actor: &Actor) -> Result<RulesView> {
    permissions::check(actor.user.role, Action::ViewRouting)?;
    let mut conn = db.conn().await?;
    let s = store::get(&mut conn, actor.account_id()).await?;
    Ok(RulesView {
        rules: s.rules.to_vec(),
        version: s.rules_version,
    })
}

/// Validates drafts against the account's rotations, keeping the ids of rules it has.
async fn validate(
    conn: &mut Conn,
    account_id: &str,
    drafts: Vec<DraftRule>,
    current: &[Rule],
) -> Result<Vec<Rule>> {
    let engine = engine(conn, account_id, true).await?;
    let rotations: Vec<String> = engine.rotations.iter().map(|r| r.id.clone()).collect();
    let known: Vec<String> = current.iter().map(|r| r.id.clone()).collect();
    let mut errors = FieldErrors::default();
    let rules = rules::validate(drafts, &rotations, &known, secrets::new_id, &mut errors);
    Error::check_fields(errors)?;
    Ok(rules)
}

/// Replaces the whole ordered list. With `if_match`, a list saved by someone else since
/// that version is a `409`; without it the later save wins (both are in the audit log).
#[tracing::instrument(skip_all, fields(account_id = %actor.account_id()))]
pub async fn save(
    db: &Db,
    actor: &Actor,
    drafts: Vec<DraftRule>,
    if_match: Option<i64>,
) -> Result<RulesView> {
    permissions::check(actor.user.role, Action::SaveRouting)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    db.lock_routing(&mut tx, actor.account_id()).await?;
    let before = store::get(&mut tx, actor.account_id()).await?;
    if if_match.is_some_and(|v| v != before.rules_version) {
        return Err(Error::conflict(
            "The rules were changed by someone else since you loaded them: reload and try again.",
        ));
    }
    let rules = validate(&mut tx, actor.account_id(), drafts, &before.rules).await?;
    let version = before.rules_version + 1;
    store::save_rules(
        &mut tx,
        actor.account_id(),
        &rules,
        version,
        &actor.user.id,
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        audit::NewEntry {
            account_id: actor.account_id(),
            actor_id: Some(&actor.user.id),
            action: AuditAction::RoutingRulesUpdated,
            target: &format!("account:{}", actor.account_id()),
            before: Some(json!(before.rules)),
            after: Some(json!(rules)),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(RulesView { rules, version })
}

/// A lead's routing fields as the simulator and the public form read them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct LeadFacts {
    pub name: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    pub source: Option<String>,
    pub country: Option<String>,
    pub company_size: Option<serde_json::Value>,
}

impl LeadFacts {
    fn parse(&self) -> Result<Facts> {
        let mut errors = FieldErrors::default();
        let source = match self.source.as_deref().map(str::trim) {
            None | Some("") => Some(LeadSource::Team),
            Some(raw) => errors.check("source", LeadSource::parse_field(raw)),
        };
        let country = match self.country.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => errors.check("country", country::parse(raw)),
        };
        let company_size = match &self.company_size {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => errors.check("company_size", company_size(v)),
        };
        Error::check_fields(errors)?;
        Ok(Facts::new(
            source.unwrap_or(LeadSource::Team),
            self.name.as_deref().unwrap_or_default(),
            self.email.as_deref(),
            self.company.as_deref(),
            country,
            company_size,
        ))
    }
}

/// A number of employees: a whole number, zero or more (text digits are read too).
pub fn company_size(raw: &serde_json::Value) -> Result<i64, String> {
    let n = match raw {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match n {
        Some(n) if n >= 0 => Ok(n),
        Some(_) => Err("must not be negative".into()),
        None => Err("must be a whole number of employees".into()),
    }
}

#[derive(Debug, Clone)]
pub struct Simulation {
    pub rule: Option<Named>,
    pub rotation: Named,
    pub owner: Option<User>,
    /// Members left out of the rotation's pool, and why.
    pub skipped: Vec<(String, &'static str)>,
    pub rules_passed: Vec<PassedRule>,
    /// Rules passed over beyond those in `rules_passed`.
    pub rules_passed_more: usize,
    pub reason: String,
}

/// Which rule, rotation and rep would get a lead like this right now. Writes nothing.
pub async fn simulate(db: &Db, actor: &Actor, lead: LeadFacts) -> Result<Simulation> {
    permissions::check(actor.user.role, Action::ViewRouting)?;
    let facts = lead.parse()?;
    let mut conn = db.conn().await?;
    let settings = store::get(&mut conn, actor.account_id()).await?;
    let engine = engine(&mut conn, actor.account_id(), true).await?;
    let (rule, rotation, passed, more) = engine.route_of(&facts);
    let rule = rule.map(|r| Named {
        id: r.id.clone(),
        name: r.name.clone(),
    });
    let rotation_named = Named {
        id: rotation.id.clone(),
        name: rotation.name.clone(),
    };
    let candidates = engine.candidates_for(rotation);
    let skipped = crate::domain::routing::resolve_pool(&rotation.members, &candidates)
        .skipped
        .into_iter()
        .map(|(i, why)| (candidates[i].id.clone(), skip_reason(why)))
        .collect();
    let decision = engine.decide(&facts, settings.next_seq);
    let owner = match &decision {
        Some(r) => users::get(&mut conn, actor.account_id(), &r.owner.id).await?,
        None => None,
    };
    let mut reason = match &decision {
        Some(r) => r.reason.clone(),
        None => format!(
            "Nobody in rotation '{}' is active, so the lead would stay unassigned.",
            rotation.name
        ),
    };
    if !settings.enabled {
        reason =
            format!("Lead routing is off, so the lead would stay unassigned. With it on: {reason}");
    }
    Ok(Simulation {
        rule,
        rotation: rotation_named,
        owner,
        skipped,
        rules_passed: passed,
        rules_passed_more: more,
        reason,
    })
}

fn skip_reason(why: Skip) -> &'static str {
    match why {
        Skip::Inactive => "inactive",
        Skip::NotInRotation => "not_in_rotation",
    }
}

pub const BACKTEST_DAYS: std::ops::RangeInclusive<i64> = 1..=90;

#[derive(Debug, Clone, Default)]
pub struct Backtest {
    pub leads: i64,
    pub current: BTreeMap<String, i64>,
    pub draft: BTreeMap<String, i64>,
    /// Leads each draft rule would take, in the draft's order, then the default rotation's.
    pub by_rule: Vec<(Option<String>, String, i64)>,
    /// Leads nobody could take (nobody active), under the current and the draft rules.
    pub unassigned: (i64, i64),
}

/// The leads created in the last `days` that came in with no owner, replayed in their
/// original order through the current rules and through `drafts`, from the same start (no
/// open leads, no turns: the counts compare the rules, not the past). Writes nothing.
pub async fn backtest(
    db: &Db,
    actor: &Actor,
    drafts: Vec<DraftRule>,
    days: i64,
) -> Result<Backtest> {
    permissions::check(actor.user.role, Action::ViewRouting)?;
    if !BACKTEST_DAYS.contains(&days) {
        return Err(Error::field("days", "must be from 1 to 90"));
    }
    let mut conn = db.conn().await?;
    let settings = store::get(&mut conn, actor.account_id()).await?;
    let draft_rules = validate(&mut conn, actor.account_id(), drafts, &settings.rules).await?;
    let mut current = engine(&mut conn, actor.account_id(), true).await?;
    for c in &mut current.candidates {
        c.open_leads = 0;
        c.last_routed_seq = None;
    }
    current.turns.clear();
    let mut draft = Engine {
        rules: draft_rules.into(),
        ..current.clone()
    };
    let since = now_ms() - days * 24 * 3600 * 1000;
    let leads = crate::store::leads::arrived_unowned(&mut conn, actor.account_id(), since).await?;
    let mut out = Backtest {
        leads: leads.len() as i64,
        by_rule: draft
            .rules
            .iter()
            .map(|r| (Some(r.id.clone()), r.name.clone(), 0))
            .chain([(None, draft.default_rotation().name.clone(), 0)])
            .collect(),
        ..Backtest::default()
    };
    for (n, facts) in leads.iter().enumerate() {
        let seq = n as i64 + 1;
        for (engine, counts, unassigned) in [
            (&mut current, &mut out.current, &mut out.unassigned.0),
            (&mut draft, &mut out.draft, &mut out.unassigned.1),
        ] {
            match engine.decide(facts, seq) {
                Some(r) => {
                    *counts.entry(r.owner.id.clone()).or_default() += 1;
                    engine.apply(&r);
                }
                None => *unassigned += 1,
            }
        }
        // by_rule holds the draft's rules in order, then the default rotation's line.
        let slot = draft.rule_index(facts).unwrap_or(out.by_rule.len() - 1);
        out.by_rule[slot].2 += 1;
    }
    Ok(out)
}
