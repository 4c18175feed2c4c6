use proptest::prelude::{Strategy as _, any, prop, prop_assert, prop_assert_eq, proptest};

use super::*;
use crate::domain::lead::LeadSource;
use crate::domain::routing::{Skip, preview};
use crate::domain::rules::{Condition, RuleField, RuleOp, Value};

fn member(i: usize, active: bool) -> Candidate {
    Candidate {
        id: format!("u{i}"),
        name: format!("Rep {i}"),
        active,
        open_leads: 0,
        last_routed_seq: None,
    }
}

fn rotation(id: &str, strategy: Strategy, members: &[usize]) -> Rotation {
    Rotation {
        id: id.into(),
        name: if id == DEFAULT_ROTATION {
            "Everyone".into()
        } else {
            format!("Rotation {id}")
        },
        strategy,
        members: members.iter().map(|i| format!("u{i}")).collect(),
    }
}

fn country_rule(id: &str, countries: &[&str], rotation: &str) -> Rule {
    Rule {
        id: id.into(),
        name: format!("Rule {id}"),
        enabled: true,
        conditions: vec![Condition {
            field: RuleField::Country,
            op: RuleOp::In,
            value: Value::List(countries.iter().map(|c| Value::Text((*c).into())).collect()),
        }],
        rotation_id: rotation.into(),
    }
}

fn from(country: &str) -> Facts {
    Facts::new(LeadSource::Website, "Lead", None, None, Some(country), None)
}

fn engine(rules: Vec<Rule>, rotations: Vec<Rotation>, team: Vec<Candidate>) -> Engine {
    Engine {
        rules: rules.into(),
        rotations,
        candidates: team,
        turns: HashMap::new(),
    }
}

/// Decides and records `leads` one after another from seq 1; the owners' ids.
fn run(engine: &mut Engine, leads: &[Facts]) -> Vec<Option<String>> {
    leads
        .iter()
        .enumerate()
        .map(|(n, facts)| {
            let receipt = engine.decide(facts, n as i64 + 1)?;
            engine.apply(&receipt);
            Some(receipt.owner.id)
        })
        .collect()
}

#[test]
fn rules_send_leads_to_their_rotation_and_each_keeps_its_own_turns() {
    let team: Vec<_> = (0..4).map(|i| member(i, true)).collect();
    let mut e = engine(
        vec![country_rule("eu", &["DE", "FR"], "eu")],
        vec![
            rotation(DEFAULT_ROTATION, Strategy::RoundRobin, &[]),
            rotation("eu", Strategy::RoundRobin, &[2, 3]),
        ],
        team,
    );
    let leads = [
        from("DE"),
        from("US"),
        from("FR"),
        from("DE"),
        from("US"),
        from("US"),
    ];
    let owners = run(&mut e, &leads);
    let ids = |v: &[&str]| v.iter().map(|s| Some((*s).to_owned())).collect::<Vec<_>>();
    // EU leads alternate u2, u3; the rest go round the whole team in its own order.
    assert_eq!(owners, ids(&["u2", "u0", "u3", "u2", "u1", "u2"]));
    let receipt = e.decide(&from("AT"), 7).unwrap();
    assert_eq!(receipt.rule, None);
    assert_eq!(receipt.rotation.as_ref().unwrap().name, "Everyone");
    assert!(
        receipt
            .reason
            .starts_with("No rule matched -> rotation 'Everyone'. Round-robin: ")
    );
    let receipt = e.decide(&from("FR"), 7).unwrap();
    assert_eq!(receipt.rule.as_ref().unwrap().id, "eu");
    assert!(
        receipt.reason.starts_with(
            "Matched rule 'Rule eu' (country is one of DE, FR) -> rotation 'Rotation eu'. Round-robin: Rep 3"
        ),
        "{}",
        receipt.reason
    );
}

#[test]
fn a_rotation_with_nobody_active_falls_through_and_the_default_keeps_its_fallback() {
    let team = vec![member(0, true), member(1, false), member(2, false)];
    let mut e = engine(
        vec![
            country_rule("gone", &["DE"], "gone"),
            country_rule("eu", &["DE"], "eu"),
        ],
        vec![
            rotation(DEFAULT_ROTATION, Strategy::RoundRobin, &[2]),
            rotation("gone", Strategy::RoundRobin, &[1]),
            rotation("eu", Strategy::Balanced, &[0, 1]),
        ],
        team,
    );
    let r = e.decide(&from("DE"), 1).unwrap();
    assert_eq!(r.rotation.as_ref().unwrap().id, "eu");
    assert_eq!(r.owner.id, "u0");
    assert_eq!(r.rules_passed.len(), 1);
    assert_eq!(r.rules_passed[0].why, Passed::NobodyAvailable);
    // The default rotation's only pick is inactive: the whole active team, as the article says.
    let r = e.decide(&from("US"), 1).unwrap();
    assert!(r.fallback);
    assert_eq!(r.owner.id, "u0");
    // Nobody active at all: no decision, the lead stays unassigned.
    e.candidates[0].active = false;
    assert!(e.decide(&from("DE"), 1).is_none());
}

/// A named rotation's receipt is about its own picks: an inactive pick is skipped with
/// its reason, the rest of the team is not listed at all.
#[test]
fn a_named_rotations_receipt_lists_only_its_own_picks() {
    let team = vec![
        member(0, true),
        member(1, false),
        member(2, true),
        member(3, true),
    ];
    let e = engine(
        vec![country_rule("eu", &["DE"], "eu")],
        vec![
            rotation(DEFAULT_ROTATION, Strategy::RoundRobin, &[]),
            rotation("eu", Strategy::RoundRobin, &[1, 2]),
        ],
        team,
    );
    let r = e.decide(&from("DE"), 1).unwrap();
    assert_eq!(r.owner.id, "u2");
    let pool: Vec<_> = r.pool.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(pool, ["u2"]);
    let skipped: Vec<_> = r.skipped.iter().map(|s| (s.id.as_str(), s.why)).collect();
    assert_eq!(skipped, [("u1", Skip::Inactive)]);
}

#[test]
fn without_rules_the_receipt_is_exactly_the_articles() {
    let team: Vec<_> = (0..3).map(|i| member(i, true)).collect();
    let e = engine(
        Vec::new(),
        vec![rotation(DEFAULT_ROTATION, Strategy::Balanced, &[0, 2])],
        team.clone(),
    );
    let r = e.decide(&from("DE"), 5).unwrap();
    let plain = decide(Strategy::Balanced, &e.rotations[0].members, &team, 5).unwrap();
    assert_eq!(r, plain);
    assert_eq!((r.rotation, r.rule), (None, None));
}

fn team_and_rotations()
-> impl proptest::strategy::Strategy<Value = (Vec<Candidate>, Vec<Rotation>, Vec<Rule>)> {
    (2usize..7).prop_flat_map(|n| {
        (
            proptest::collection::vec((any::<bool>(), 0i64..4), n),
            proptest::collection::vec(proptest::collection::vec(0..n, 0..3), 1..4),
            proptest::collection::vec(any::<bool>(), 3),
            any::<bool>(),
        )
            .prop_map(move |(people, pools, balanced, default_balanced)| {
                let team = people
                    .iter()
                    .enumerate()
                    .map(|(i, (active, open))| Candidate {
                        open_leads: *open,
                        ..member(i, *active)
                    })
                    .collect();
                let strategy = |b: bool| {
                    if b {
                        Strategy::Balanced
                    } else {
                        Strategy::RoundRobin
                    }
                };
                let mut rotations =
                    vec![rotation(DEFAULT_ROTATION, strategy(default_balanced), &[])];
                let mut rules = Vec::new();
                let countries = ["DE", "FR", "US"];
                for (k, members) in pools.iter().enumerate() {
                    let id = format!("r{k}");
                    rotations.push(rotation(&id, strategy(balanced[k % 3]), members));
                    rules.push(country_rule(&id, &[countries[k % 3]], &id));
                }
                (team, rotations, rules)
            })
    })
}

fn any_leads() -> impl proptest::strategy::Strategy<Value = Vec<Facts>> {
    proptest::collection::vec(
        proptest::sample::select(vec!["DE", "FR", "US", "JP"]).prop_map(from),
        1..30,
    )
}

proptest! {
    /// The decisions depend only on the state the store keeps between transactions (open
    /// leads, each rotation's turns): stopping after any lead and going on from a copy of
    /// that state gives the same owners as deciding all at once. This is what makes a
    /// replay in seq order of leads decided by several processes equal to one-at-a-time.
    #[test]
    fn any_split_into_transactions_gives_the_same_owners(
        (team, rotations, rules) in team_and_rotations(),
        leads in any_leads(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut whole = engine(rules.clone(), rotations.clone(), team.clone());
        let all_at_once = run(&mut whole, &leads);
        let cut = cut.index(leads.len() + 1);
        let mut first = engine(rules, rotations, team);
        let mut owners = run(&mut first, &leads[..cut]);
        let mut second = Engine {
            candidates: first.candidates.clone(),
            turns: first.turns.clone(),
            ..first.clone()
        };
        for (n, facts) in leads[cut..].iter().enumerate() {
            let r = second.decide(facts, (cut + n) as i64 + 1);
            if let Some(r) = &r {
                second.apply(r);
            }
            owners.push(r.map(|r| r.owner.id));
        }
        prop_assert_eq!(owners, all_at_once);
    }

    /// The winner's rotation is the first enabled matching rule's whose rotation has
    /// someone active, and the owner is in that rotation's pool.
    #[test]
    fn the_owner_comes_from_the_chosen_rotations_pool(
        (team, rotations, rules) in team_and_rotations(),
        leads in any_leads(),
    ) {
        let e = engine(rules, rotations, team);
        for facts in &leads {
            let Some(r) = e.decide(facts, 1) else {
                prop_assert!(e.candidates.iter().all(|c| !c.active));
                continue;
            };
            let rotation_id = r.rotation.as_ref().map(|n| n.id.clone()).unwrap();
            let rotation = e.rotations.iter().find(|x| x.id == rotation_id).unwrap();
            let seen = e.candidates_for(rotation);
            let pool = e.pool(rotation, &seen).unwrap();
            prop_assert!(pool.members.iter().any(|&i| seen[i].id == r.owner.id));
            let expected = e.rules.iter().find(|rule| {
                rule.matches(facts)
                    && e.rotations.iter().any(|x| x.id == rule.rotation_id && e.pool(x, &e.candidates_for(x)).is_some())
            });
            prop_assert_eq!(r.rule.map(|n| n.id), expected.map(|rule| rule.id.clone()));
        }
    }

    /// Leads to one rotation are served in turn among its pool, whatever other rotations'
    /// leads come in between (each rotation keeps its own round-robin order).
    #[test]
    fn each_rotation_keeps_its_own_turns(leads in any_leads()) {
        let team: Vec<_> = (0..4).map(|i| member(i, true)).collect();
        let mut e = engine(
            vec![country_rule("eu", &["DE", "FR"], "eu")],
            vec![rotation(DEFAULT_ROTATION, Strategy::RoundRobin, &[]), rotation("eu", Strategy::RoundRobin, &[1, 2, 3])],
            team.clone(),
        );
        let owners = run(&mut e, &leads);
        let eu: Vec<_> = leads.iter().zip(&owners).filter(|(f, _)| matches!(f.country.as_deref(), Some("DE" | "FR"))).map(|(_, o)| o.clone().unwrap()).collect();
        let rest: Vec<_> = leads.iter().zip(&owners).filter(|(f, _)| !matches!(f.country.as_deref(), Some("DE" | "FR"))).map(|(_, o)| o.clone().unwrap()).collect();
        let turns = |ids: &[&str], n: usize| ids.iter().cycle().take(n).map(|s| (*s).to_owned()).collect::<Vec<_>>();
        prop_assert_eq!(eu.clone(), turns(&["u1", "u2", "u3"], eu.len()));
        let expected: Vec<String> = preview(Strategy::RoundRobin, &[], &team, 1, rest.len()).into_iter().map(|i| team[i].id.clone()).collect();
        prop_assert_eq!(rest, expected);
    }
}
