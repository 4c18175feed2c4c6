//! Lead routing: reading and saving the settings, and routing a new lead inside the
//! transaction that creates it (the only place routing decisions are made).

use crate::domain::AuditAction;
use serde_json::json;

use super::Actor;
use crate::domain::permissions::{self, Action};
use std::collections::HashMap;

use super::rotations;
use crate::domain::routing::engine::{Engine, Named};
use crate::domain::routing::{self, Candidate, Receipt, Strategy};
use crate::domain::rules::{DEFAULT_ROTATION, Facts};
use crate::domain::validate::FieldErrors;
use crate::error::{Error, Result};
use crate::store::rotations as rotation_store;
use crate::store::routing::{self as store, Settings};
use crate::store::users::{self, User};
use crate::store::{Conn, Db, audit, now_ms};

/// One member as the Lead routing page and API show them.
#[derive(Debug, Clone)]
pub struct CandidateView {
    pub user: User,
    pub checked: bool,
    pub open_leads: i64,
    /// Routed to them in the last 7 and 30 days.
    pub routed_7d: i64,
    pub routed_30d: i64,
}

#[derive(Debug, Clone)]
pub struct RoutingView {
    pub settings: Settings,
    /// Active and inactive sales-capable members, in team order.
    pub candidates: Vec<CandidateView>,
    pub effective_pool: Vec<String>,
    pub fallback: bool,
    pub next: Option<String>,
    /// The owners of the next routed leads under the current settings (a dry run).
    pub preview: Vec<String>,
    /// The rotation "Next up" and the chart are about, and every rotation to switch to.
    pub rotation: Named,
    pub rotations: Vec<Named>,
}

impl RoutingView {
    pub fn name_of(&self, id: &str) -> &str {
        self.candidates
            .iter()
            .find(|c| c.user.id == id)
            .map_or("", |c| c.user.name.as_str())
    }
}

const DAY_MS: i64 = 24 * 3600 * 1000;
pub const PREVIEW_LEN: usize = 10;

pub async fn view(db: &Db, actor: &Actor) -> Result<RoutingView> {
    permissions::check(actor.user.role, Action::ViewRouting)?;
    let mut conn = db.conn().await?;
    build_view(&mut conn, actor.account_id(), None).await
}

/// The view with "Next up" and the chart for one rotation (`None`: the default one, as
/// [`view`] shows it); `NotFound` for a rotation the account does not have.
pub async fn view_of(db: &Db, actor: &Actor, rotation: Option<&str>) -> Result<RoutingView> {
    permissions::check(actor.user.role, Action::ViewRouting)?;
    let mut conn = db.conn().await?;
    build_view(&mut conn, actor.account_id(), rotation).await
}

async fn build_view(
    conn: &mut Conn,
    account_id: &str,
    rotation: Option<&str>,
) -> Result<RoutingView> {
    let settings = store::get(conn, account_id).await?;
    let members = users::list(conn, account_id).await?;
    let engine = engine_from(conn, account_id, &settings, true).await?;
    let chosen = match rotation.filter(|id| *id != DEFAULT_ROTATION) {
        Some(id) => engine
            .rotations
            .iter()
            .find(|r| r.id == id)
            .ok_or(Error::NotFound)?,
        None => engine.default_rotation(),
    };
    let now = now_ms();
    let (a, b) = (now - 7 * DAY_MS, now - 30 * DAY_MS);
    let routed = if chosen.is_default() {
        store::routed_counts(conn, account_id, a, b).await?
    } else {
        store::routed_counts_in(conn, account_id, &chosen.id, a, b).await?
    };
    let candidates_seen = engine.candidates_for(chosen);
    // The default rotation's pool as the contract has it (its `fallback` even when nobody
    // is active); a named one's only when it can take a lead.
    let pool = if chosen.is_default() {
        Some(routing::resolve_pool(&chosen.members, &candidates_seen))
    } else {
        engine.pool(chosen, &candidates_seen)
    };
    let ids = |indexes: &[usize]| -> Vec<String> {
        indexes
            .iter()
            .map(|&i| candidates_seen[i].id.clone())
            .collect()
    };
    let next = pool
        .as_ref()
        .and_then(|p| routing::pick(chosen.strategy, p, &candidates_seen))
        .map(|i| candidates_seen[i].id.clone());
    let preview = if pool.is_some() {
        ids(&routing::preview(
            chosen.strategy,
            &chosen.members,
            &candidates_seen,
            settings.next_seq,
            PREVIEW_LEN,
        ))
    } else {
        Vec::new()
    };
    let in_pool = |id: &str| {
        pool.as_ref()
            .is_some_and(|p| p.members.iter().any(|&i| candidates_seen[i].id == id))
    };
    let candidates = members
        .into_iter()
        .filter_map(|user| {
            let c: &Candidate = engine.candidates.iter().find(|c| c.id == user.id)?;
            // A named rotation's chart shows its own pool; the default's, everyone.
            if !chosen.is_default() && !in_pool(&user.id) {
                return None;
            }
            let (routed_7d, routed_30d) = routed
                .iter()
                .find(|(id, _, _)| *id == user.id)
                .map_or((0, 0), |(_, a, b)| (*a, *b));
            Some(CandidateView {
                checked: settings.rotation.contains(&user.id),
                open_leads: c.open_leads,
                routed_7d,
                routed_30d,
                user,
            })
        })
        .collect();
    Ok(RoutingView {
        effective_pool: pool.as_ref().map(|p| ids(&p.members)).unwrap_or_default(),
        fallback: pool.as_ref().is_some_and(|p| p.fallback),
        next,
        preview,
        candidates,
        rotation: Named {
            id: chosen.id.clone(),
            name: chosen.name.clone(),
        },
        rotations: engine
            .rotations
            .iter()
            .map(|r| Named {
                id: r.id.clone(),
                name: r.name.clone(),
            })
            .collect(),
        settings,
    })
}

/// A change to the settings; a missing part keeps its saved value (a greyed-out form
/// does not send Strategy and the rotation).
#[derive(Debug, Default, Clone)]
pub struct SaveInput {
    pub enabled: Option<bool>,
    pub strategy: Option<String>,
    pub rotation: Option<Vec<String>>,
}

#[tracing::instrument(skip_all, fields(account_id = %actor.account_id()))]
pub async fn save(db: &Db, actor: &Actor, input: SaveInput) -> Result<RoutingView> {
    permissions::check(actor.user.role, Action::SaveRouting)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    db.lock_routing(&mut tx, actor.account_id()).await?;
    let before = store::get(&mut tx, actor.account_id()).await?;
    let mut errors = FieldErrors::default();
    let strategy = match input.strategy.as_deref() {
        None => Some(before.strategy),
        Some(raw) => errors.check(
            "strategy",
            Strategy::parse(raw.trim()).ok_or_else(|| "must be round_robin or balanced".to_owned()),
        ),
    };
    let rotation = match input.rotation {
        None => before.rotation.clone(),
        Some(ids) => {
            let members = users::list(&mut tx, actor.account_id()).await?;
            let mut picks: Vec<String> = Vec::new();
            for id in ids {
                let capable = members
                    .iter()
                    .any(|m| m.id == id && m.role.is_sales_capable());
                if !capable {
                    errors.add(
                        "rotation",
                        format!("{id} is not a sales-capable member of the team"),
                    );
                } else if !picks.contains(&id) {
                    picks.push(id);
                }
            }
            picks
        }
    };
    Error::check_fields(errors)?;
    let strategy = strategy.unwrap_or(before.strategy);
    let enabled = input.enabled.unwrap_or(before.enabled);
    store::save(
        &mut tx,
        actor.account_id(),
        enabled,
        strategy,
        &rotation,
        &actor.user.id,
        now,
    )
    .await?;
    let snapshot = |enabled: bool, strategy: Strategy, rotation: &[String]| json!({"enabled": enabled, "strategy": strategy.as_str(), "rotation": rotation});
    audit::record(
        &mut tx,
        audit::NewEntry {
            account_id: actor.account_id(),
            actor_id: Some(&actor.user.id),
            action: AuditAction::RoutingUpdated,
            target: &format!("account:{}", actor.account_id()),
            before: Some(snapshot(before.enabled, before.strategy, &before.rotation)),
            after: Some(snapshot(enabled, strategy, &rotation)),
        },
        now,
    )
    .await?;
    let view = build_view(&mut tx, actor.account_id(), None).await?;
    tx.commit().await?;
    Ok(view)
}

/// The account's routing engine: rules, rotations (the default first), candidates and
/// turns. `with_rotations` false skips reading named rotations and turns when the account
/// has no rules (intake: an account without rules reads nothing more than before).
pub(crate) async fn engine(
    conn: &mut Conn,
    account_id: &str,
    with_rotations: bool,
) -> Result<Engine> {
    let settings = store::get(conn, account_id).await?;
    engine_from(conn, account_id, &settings, with_rotations).await
}

async fn engine_from(
    conn: &mut Conn,
    account_id: &str,
    settings: &Settings,
    with_rotations: bool,
) -> Result<Engine> {
    let mut rotations = vec![rotations::engine_rotation(
        DEFAULT_ROTATION,
        &rotation_store::default_settings(settings),
    )];
    let mut turns = HashMap::new();
    if with_rotations || !settings.rules.is_empty() {
        for r in rotation_store::list(conn, account_id).await? {
            rotations.push(rotations::engine_rotation(&r.id, &r.settings));
        }
        turns = rotation_store::turns(conn, account_id).await?;
    }
    Ok(Engine {
        rules: settings.rules.clone(),
        rotations,
        candidates: store::candidates(conn, account_id).await?,
        turns,
    })
}

/// An account's routing while a transaction holds its routing lock: the engine read once,
/// then one decision per new lead in arrival order, each seeing the ones before it (the
/// decision, the seq and the counters move together). The member counters, the named
/// rotations' turns and [`Router::moved_seq`] are written by the caller's batch.
pub(crate) struct Router {
    enabled: bool,
    engine: Option<Engine>,
    first_seq: i64,
    next_seq: i64,
}

impl Router {
    pub(crate) async fn load(db: &Db, tx: &mut Conn, account_id: &str) -> Result<Self> {
        db.lock_routing(tx, account_id).await?;
        let settings = store::get(tx, account_id).await?;
        let engine = if settings.enabled {
            Some(engine_from(tx, account_id, &settings, false).await?)
        } else {
            None
        };
        Ok(Self {
            enabled: settings.enabled,
            engine,
            first_seq: settings.next_seq,
            next_seq: settings.next_seq,
        })
    }

    /// Decides the next lead's owner; `None` when routing is off or nobody can take it
    /// (the lead stays unassigned).
    pub(crate) fn route(&mut self, facts: &Facts) -> Option<Receipt> {
        let engine = self.engine.as_mut().filter(|_| self.enabled)?;
        let receipt = engine.decide(facts, self.next_seq)?;
        engine.apply(&receipt);
        self.next_seq += 1;
        Some(receipt)
    }

    /// A lead given to `user_id` by hand counts in later balanced decisions of the batch.
    pub(crate) fn owner_given(&mut self, user_id: &str) {
        if let Some(engine) = &mut self.engine {
            engine.owner_given(user_id);
        }
    }

    /// The account's next routing seq, when this router decided leads (the batch writes it).
    pub(crate) fn moved_seq(&self) -> Option<i64> {
        (self.next_seq != self.first_seq).then_some(self.next_seq)
    }
}
