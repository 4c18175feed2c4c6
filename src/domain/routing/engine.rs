//! The whole routing decision for one account: rules pick a rotation, the rotation's pool
//! and strategy pick the rep. Pure and deterministic: the same state and the same leads in
//! the same order give the same owners, which is what the per-account serialisation and
//! the backtest's replay rely on.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Candidate, Pool, Receipt, Strategy, decide, resolve_pool};
use crate::domain::rules::{self, DEFAULT_ROTATION, Facts, Passed, Rule};

/// A rotation as the engine needs it. The default rotation ("Everyone") is the article's:
/// its picks, and the whole active team when every pick is inactive. A named rotation
/// with nobody active cannot take a lead, so its rule falls through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub id: String,
    pub name: String,
    pub strategy: Strategy,
    /// The picks (user ids); empty = the whole sales-capable team.
    pub members: Vec<String>,
}

impl Rotation {
    pub fn is_default(&self) -> bool {
        self.id == DEFAULT_ROTATION
    }
}

/// (id, name) of what a decision went through, as the lead and its receipt keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// A rule passed over on the way to the decision, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassedRule {
    pub id: String,
    pub name: String,
    #[serde(flatten)]
    pub why: Passed,
}

/// Everything the engine reads: the rules in order, the rotations (the default first),
/// the sales-capable members in team order with their open leads and their last routed
/// seq in the default rotation, and the last routed seq per (named rotation, member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    /// Shared with the settings they were read with (no copy per batch).
    pub rules: Arc<Vec<Rule>>,
    pub rotations: Vec<Rotation>,
    pub candidates: Vec<Candidate>,
    /// Named rotation id -> member id -> the seq of the last lead it routed to them.
    pub turns: HashMap<String, HashMap<String, i64>>,
}

/// How many of the rules passed over a receipt describes; the rest it only counts.
pub const PASSED_SHOWN: usize = 3;

impl Engine {
    /// The default rotation; the engine is always built with it first.
    pub fn default_rotation(&self) -> &Rotation {
        &self.rotations[0]
    }

    fn rotation(&self, id: &str) -> Option<&Rotation> {
        self.rotations.iter().find(|r| r.id == id)
    }

    /// The candidates as `rotation` sees them: its own round-robin order, and for a named
    /// rotation with picks only those picks (the rest of the team is not part of its story,
    /// and leaving them out keeps its receipts small). The default rotation's are the
    /// candidates' own, borrowed: no copy on the common path.
    pub fn candidates_for(&self, rotation: &Rotation) -> Cow<'_, [Candidate]> {
        if rotation.is_default() {
            return Cow::Borrowed(&self.candidates);
        }
        let picked = |c: &&Candidate| rotation.members.contains(&c.id);
        // Picks that are all no longer candidates count as no picks (see `resolve_pool`).
        let any_pick = self.candidates.iter().any(|c| picked(&c));
        let turns = self.turns.get(&rotation.id);
        let view = self
            .candidates
            .iter()
            .filter(|c| !any_pick || picked(c))
            .map(|c| Candidate {
                last_routed_seq: turns.and_then(|t| t.get(&c.id)).copied(),
                ..c.clone()
            })
            .collect();
        Cow::Owned(view)
    }

    /// The pool of `rotation` right now, or `None` when it cannot take a lead.
    pub fn pool(&self, rotation: &Rotation, candidates: &[Candidate]) -> Option<Pool> {
        let pool = resolve_pool(&rotation.members, candidates);
        let usable = !pool.members.is_empty() && (rotation.is_default() || !pool.fallback);
        usable.then_some(pool)
    }

    /// Whether `rotation` can take a lead now: someone active among its picks (or in the
    /// team, with none), or, for the default rotation, anyone active. No copies: this runs
    /// for every rule a lead matches.
    fn available(&self, rotation: &Rotation) -> bool {
        let picked = |c: &Candidate| rotation.members.contains(&c.id);
        let any_pick = self.candidates.iter().any(picked);
        self.candidates
            .iter()
            .any(|c| c.active && (!any_pick || rotation.is_default() || picked(c)))
    }

    /// The index of the rule that decides a lead with `facts`, if any (no explanations: the
    /// backtest asks this for every lead of a month).
    pub fn rule_index(&self, facts: &Facts) -> Option<usize> {
        rules::first_match(&self.rules, facts, |id| {
            self.rotation(id).is_some_and(|r| self.available(r))
        })
        .0
    }

    /// Which rule and rotation a lead with `facts` goes to, with the first
    /// [`PASSED_SHOWN`] rules passed over explained and how many more there were.
    pub fn route_of(&self, facts: &Facts) -> (Option<&Rule>, &Rotation, Vec<PassedRule>, usize) {
        let (won, passed) = rules::first_match(&self.rules, facts, |id| {
            self.rotation(id).is_some_and(|r| self.available(r))
        });
        let more = passed.len().saturating_sub(PASSED_SHOWN);
        let passed = passed
            .into_iter()
            .take(PASSED_SHOWN)
            .map(|(i, why)| PassedRule {
                id: self.rules[i].id.clone(),
                name: self.rules[i].name.clone(),
                why: why.explain(&self.rules[i]),
            })
            .collect();
        let rule = won.map(|i| &self.rules[i]);
        let rotation = rule
            .and_then(|r| self.rotation(&r.rotation_id))
            .unwrap_or_else(|| self.default_rotation());
        (rule, rotation, passed, more)
    }

    /// Decides the owner of the lead that gets `seq`; `None` when nobody can take it.
    /// Changes nothing: [`Engine::apply`] records the decision.
    pub fn decide(&self, facts: &Facts, seq: i64) -> Option<Receipt> {
        let (rule, rotation, passed, more) = self.route_of(facts);
        let candidates = self.candidates_for(rotation);
        let mut receipt = decide(rotation.strategy, &rotation.members, &candidates, seq)?;
        if !self.rules.is_empty() {
            let how = match rule {
                Some(rule) => format!(
                    "Matched rule '{}' ({}) -> rotation '{}'.",
                    rule.name,
                    rule.describe(),
                    rotation.name
                ),
                None => format!("No rule matched -> rotation '{}'.", rotation.name),
            };
            receipt.reason = format!("{how} {}", receipt.reason);
            receipt.rotation = Some(Named {
                id: rotation.id.clone(),
                name: rotation.name.clone(),
            });
            receipt.rule = rule.map(|r| Named {
                id: r.id.clone(),
                name: r.name.clone(),
            });
            receipt.rules_passed = passed;
            receipt.rules_passed_more = more;
        }
        Some(receipt)
    }

    /// Records a routed lead: the owner's open leads and their turn in that rotation.
    pub fn apply(&mut self, receipt: &Receipt) {
        let owner = &receipt.owner.id;
        let Some(c) = self.candidates.iter_mut().find(|c| &c.id == owner) else {
            return;
        };
        c.open_leads += 1;
        match &receipt.rotation {
            Some(r) if r.id != DEFAULT_ROTATION => {
                self.turns
                    .entry(r.id.clone())
                    .or_default()
                    .insert(owner.clone(), receipt.seq);
            }
            _ => c.last_routed_seq = Some(receipt.seq),
        }
    }

    /// A lead given to `user_id` by hand counts in later balanced decisions.
    pub fn owner_given(&mut self, user_id: &str) {
        if let Some(c) = self.candidates.iter_mut().find(|c| c.id == user_id) {
            c.open_leads += 1;
        }
    }
}

#[cfg(test)]
mod tests;
