//! The routing engine, pure: who is in the pool right now, and who gets the next lead.
//! The store feeds it the account's sales-capable members; it reads no clock and no table.

use serde::{Deserialize, Serialize};

pub mod engine;
pub mod settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    RoundRobin,
    Balanced,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::Balanced => "balanced",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "Round-robin",
            Strategy::Balanced => "Balanced by workload",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Strategy::RoundRobin, Strategy::Balanced]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A sales-capable member as routing sees them, in team order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub name: String,
    pub active: bool,
    /// Assigned to them with status open.
    pub open_leads: i64,
    /// The seq of the last routed lead they received; `None` when never.
    pub last_routed_seq: Option<i64>,
}

/// Why a member was left out of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    Inactive,
    NotInRotation,
}

/// Who routing picks from right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// Indexes into the candidates, in team order.
    pub members: Vec<usize>,
    /// Every saved pick is inactive, so the whole active team is used.
    pub fallback: bool,
    /// Candidates left out, with why.
    pub skipped: Vec<(usize, Skip)>,
}

/// The pool rules of the contract. `candidates` are the sales-capable members in team order;
/// `rotation` is the saved picks. Ids that are no longer candidates (a pick since made
/// Accounting) are ignored, so a rotation of only such ids counts as no picks.
pub fn resolve_pool(rotation: &[String], candidates: &[Candidate]) -> Pool {
    let picked = |c: &Candidate| rotation.contains(&c.id);
    let any_pick = candidates.iter().any(picked);
    let any_active_pick = candidates.iter().any(|c| picked(c) && c.active);
    let use_picks = any_pick && any_active_pick;
    let mut pool = Pool {
        members: Vec::new(),
        fallback: any_pick && !any_active_pick,
        skipped: Vec::new(),
    };
    for (i, c) in candidates.iter().enumerate() {
        if !c.active {
            pool.skipped.push((i, Skip::Inactive));
        } else if use_picks && !picked(c) {
            pool.skipped.push((i, Skip::NotInRotation));
        } else {
            pool.members.push(i);
        }
    }
    pool
}

/// The pick: round-robin takes whoever has gone longest without a routed lead (never
/// first); balanced takes the fewest open leads, ties broken the round-robin way. Remaining
/// ties go by team order. `None` when the pool is empty.
pub fn pick(strategy: Strategy, pool: &Pool, candidates: &[Candidate]) -> Option<usize> {
    // `None` sorts before `Some`, so "never routed" comes first; then team order.
    let recency = |i: usize| (candidates[i].last_routed_seq, i);
    match strategy {
        Strategy::RoundRobin => pool.members.iter().copied().min_by_key(|&i| recency(i)),
        Strategy::Balanced => pool
            .members
            .iter()
            .copied()
            .min_by_key(|&i| (candidates[i].open_leads, recency(i))),
    }
}

/// A routing decision with everything needed to explain it later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub strategy: Strategy,
    pub seq: i64,
    pub owner: Person,
    /// The pool as it was, in team order.
    pub pool: Vec<PoolEntry>,
    pub skipped: Vec<Skipped>,
    pub fallback: bool,
    /// The one-sentence summary (`routing.reason` in the API).
    pub reason: String,
    /// With routing rules: the rotation and the rule that chose it (none: no rule matched),
    /// and the rules passed over before it. Absent for an account without rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<engine::Named>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<engine::Named>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules_passed: Vec<engine::PassedRule>,
    /// Rules passed over beyond the ones described.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rules_passed_more: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolEntry {
    pub id: String,
    pub name: String,
    /// Open leads when the decision was made (what balanced compares).
    pub open_leads: i64,
    /// Seq of their previous routed lead (what round-robin compares).
    pub last_routed_seq: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub id: String,
    pub name: String,
    pub why: Skip,
}

/// Decides the owner of the lead that gets `seq`, or `None` when nobody can be picked.
pub fn decide(
    strategy: Strategy,
    rotation: &[String],
    candidates: &[Candidate],
    seq: i64,
) -> Option<Receipt> {
    let pool = resolve_pool(rotation, candidates);
    let chosen = pick(strategy, &pool, candidates)?;
    let owner = &candidates[chosen];
    let size = pool.members.len();
    let reps = if size == 1 {
        "1 rep".to_owned()
    } else {
        format!("{size} reps")
    };
    let whom = if pool.fallback {
        "the whole active team (every checked rep is inactive)"
    } else if pool
        .skipped
        .iter()
        .any(|(_, why)| *why == Skip::NotInRotation)
    {
        "the rotation"
    } else {
        "the whole sales-capable team"
    };
    let reason = match strategy {
        Strategy::RoundRobin => match owner.last_routed_seq {
            None => format!(
                "Round-robin: {} was next in line among {reps} in {whom} (no routed lead yet).",
                owner.name
            ),
            Some(_) => format!(
                "Round-robin: {} had gone longest without a routed lead among {reps} in {whom}.",
                owner.name
            ),
        },
        Strategy::Balanced => {
            let tied = pool
                .members
                .iter()
                .filter(|&&i| candidates[i].open_leads == owner.open_leads)
                .count();
            let tie = if tied > 1 {
                ", a tie broken by who had gone longest without a routed lead"
            } else {
                ""
            };
            format!(
                "Balanced: {} had the fewest open leads ({}{tie}) among {reps} in {whom}.",
                owner.name, owner.open_leads
            )
        }
    };
    Some(Receipt {
        strategy,
        seq,
        owner: Person {
            id: owner.id.clone(),
            name: owner.name.clone(),
        },
        pool: pool
            .members
            .iter()
            .map(|&i| {
                let c = &candidates[i];
                PoolEntry {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    open_leads: c.open_leads,
                    last_routed_seq: c.last_routed_seq,
                }
            })
            .collect(),
        skipped: pool
            .skipped
            .iter()
            .map(|&(i, why)| Skipped {
                id: candidates[i].id.clone(),
                name: candidates[i].name.clone(),
                why,
            })
            .collect(),
        fallback: pool.fallback,
        reason,
        rotation: None,
        rule: None,
        rules_passed: Vec::new(),
        rules_passed_more: 0,
    })
}

/// Applies a decision to the candidates, as the store does after routing a lead.
pub fn apply(candidates: &mut [Candidate], owner_id: &str, seq: i64) {
    if let Some(c) = candidates.iter_mut().find(|c| c.id == owner_id) {
        c.open_leads += 1;
        c.last_routed_seq = Some(seq);
    }
}

/// A dry run: the owners of the next `n` routed leads if nothing else changes.
pub fn preview(
    strategy: Strategy,
    rotation: &[String],
    candidates: &[Candidate],
    next_seq: i64,
    n: usize,
) -> Vec<usize> {
    let mut sim = candidates.to_vec();
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let seq = next_seq + k as i64;
        let pool = resolve_pool(rotation, &sim);
        let Some(chosen) = pick(strategy, &pool, &sim) else {
            break;
        };
        let id = sim[chosen].id.clone();
        apply(&mut sim, &id, seq);
        out.push(chosen);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Strategy;
    use super::*;
    use proptest::prelude::{Just, Strategy as _, any, prop_assert, prop_assert_eq, proptest};

    fn member(i: usize, active: bool, open: i64, last: Option<i64>) -> Candidate {
        Candidate {
            id: format!("u{i}"),
            name: format!("Rep {i}"),
            active,
            open_leads: open,
            last_routed_seq: last,
        }
    }

    #[test]
    fn pool_rules() {
        let team = vec![
            member(0, true, 0, None),
            member(1, false, 0, None),
            member(2, true, 0, None),
        ];
        // No picks: every active member.
        let pool = resolve_pool(&[], &team);
        assert_eq!((pool.members.clone(), pool.fallback), (vec![0, 2], false));
        assert_eq!(pool.skipped, vec![(1, Skip::Inactive)]);
        // Picks: only the active picks.
        let pool = resolve_pool(&["u2".into(), "u1".into()], &team);
        assert_eq!((pool.members.clone(), pool.fallback), (vec![2], false));
        assert_eq!(
            pool.skipped,
            vec![(0, Skip::NotInRotation), (1, Skip::Inactive)]
        );
        // Every pick inactive: the whole active team, flagged.
        let pool = resolve_pool(&["u1".into()], &team);
        assert_eq!((pool.members.clone(), pool.fallback), (vec![0, 2], true));
        // Nobody active: nobody to pick.
        let idle = vec![member(0, false, 0, None)];
        let pool = resolve_pool(&[], &idle);
        assert!(pool.members.is_empty());
        assert_eq!(pick(Strategy::RoundRobin, &pool, &idle), None);
        assert!(decide(Strategy::Balanced, &[], &idle, 1).is_none());
    }

    #[test]
    fn picks_and_receipts() {
        let team = vec![
            member(0, true, 3, Some(5)),
            member(1, true, 1, Some(9)),
            member(2, true, 1, None),
        ];
        let pool = resolve_pool(&[], &team);
        assert_eq!(
            pick(Strategy::RoundRobin, &pool, &team),
            Some(2),
            "never routed goes first"
        );
        assert_eq!(
            pick(Strategy::Balanced, &pool, &team),
            Some(2),
            "fewest open, then least recent"
        );
        let receipt = decide(Strategy::Balanced, &[], &team, 10).unwrap();
        assert_eq!(receipt.owner.id, "u2");
        assert_eq!(receipt.seq, 10);
        assert_eq!(receipt.pool.len(), 3);
        assert_eq!(
            receipt.reason,
            "Balanced: Rep 2 had the fewest open leads (1, a tie broken by who had gone longest without a routed lead) among 3 reps in the whole sales-capable team."
        );
        let fallback = decide(Strategy::RoundRobin, &["gone".into()], &team, 11).unwrap();
        assert!(
            !fallback.fallback,
            "ids that are not candidates are ignored, with no picks left the team is used"
        );
    }

    fn team_strategy() -> impl proptest::strategy::Strategy<Value = (Vec<Candidate>, Vec<String>)> {
        (1usize..8)
            .prop_flat_map(|n| {
                (
                    proptest::collection::vec(
                        (
                            any::<bool>(),
                            0i64..5,
                            proptest::option::of(0i64..20),
                            any::<bool>(),
                        ),
                        n,
                    ),
                    Just(n),
                )
            })
            .prop_map(|(specs, _)| {
                let mut rotation = Vec::new();
                let team = specs
                    .iter()
                    .enumerate()
                    .map(|(i, (active, open, last, checked))| {
                        if *checked {
                            rotation.push(format!("u{i}"));
                        }
                        member(i, *active, *open, *last)
                    })
                    .collect();
                (team, rotation)
            })
    }

    proptest! {
        #[test]
        fn round_robin_serves_a_steady_pool_in_turn(k in 1usize..9, rounds in 1usize..5, open in proptest::collection::vec(0i64..4, 9)) {
            // A steady pool that has never been routed to: team order, one lead each per k.
            let team: Vec<Candidate> = (0..k).map(|i| member(i, true, open[i], None)).collect();
            let order = preview(Strategy::RoundRobin, &[], &team, 1, k * rounds);
            for (n, chunk) in order.chunks(k).enumerate() {
                prop_assert_eq!(chunk.to_vec(), (0..k).collect::<Vec<_>>(), "round {}", n);
            }
        }

        #[test]
        fn round_robin_gives_each_member_one_lead_per_k_from_any_start((team, rotation) in team_strategy(), total in 1usize..40) {
            let pool = resolve_pool(&rotation, &team);
            let k = pool.members.len();
            let order = preview(Strategy::RoundRobin, &rotation, &team, 100, total);
            // After the first k decisions everyone has been served once, then strict turns.
            for window in order.windows(k.max(1)).skip(k) {
                let mut seen = window.to_vec();
                seen.sort_unstable();
                seen.dedup();
                prop_assert_eq!(seen.len(), k);
            }
        }

        #[test]
        fn balanced_never_picks_someone_with_more_open_leads((team, rotation) in team_strategy()) {
            let pool = resolve_pool(&rotation, &team);
            if let Some(chosen) = pick(Strategy::Balanced, &pool, &team) {
                for &i in &pool.members {
                    prop_assert!(team[chosen].open_leads <= team[i].open_leads);
                }
            } else {
                prop_assert!(pool.members.is_empty());
            }
        }

        #[test]
        fn pool_resolution_follows_the_contract((team, rotation) in team_strategy()) {
            let pool = resolve_pool(&rotation, &team);
            let active_picks: Vec<usize> = (0..team.len()).filter(|&i| team[i].active && rotation.contains(&team[i].id)).collect();
            let active: Vec<usize> = (0..team.len()).filter(|&i| team[i].active).collect();
            if !team.iter().any(|c| rotation.contains(&c.id)) {
                prop_assert_eq!(&pool.members, &active);
                prop_assert!(!pool.fallback);
            } else if active_picks.is_empty() {
                prop_assert_eq!(&pool.members, &active);
                prop_assert!(pool.fallback);
            } else {
                prop_assert_eq!(&pool.members, &active_picks);
                prop_assert!(!pool.fallback);
            }
            // Everyone is either in the pool or skipped with a reason, never both.
            prop_assert_eq!(pool.members.len() + pool.skipped.len(), team.len());
            for (i, why) in &pool.skipped {
                prop_assert_eq!(*why == Skip::Inactive, !team[*i].active);
            }
        }
    }
}
