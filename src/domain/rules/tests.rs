use proptest::prelude::*;
use serde_json::json;

use super::*;

fn cond(field: RuleField, op: RuleOp, value: Value) -> Condition {
    Condition { field, op, value }
}

fn text(t: &str) -> Value {
    Value::Text(t.into())
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|t| text(t)).collect())
}

fn lead() -> Facts {
    Facts::new(
        LeadSource::Website,
        "  Ana Lucía Pérez ",
        Some("ana@Nimbus.Example"),
        Some("Nimbus Health GmbH"),
        Some("de"),
        Some(500),
    )
}

#[test]
fn every_operator_on_a_lead_with_every_field() {
    use RuleField::*;
    use RuleOp::*;
    let facts = lead();
    let cases = [
        (cond(Source, Is, text("website")), true),
        (cond(Source, Is, text("team")), false),
        (cond(Source, IsNot, text("team")), true),
        (cond(Source, In, list(&["team", "website"])), true),
        (cond(Source, NotIn, list(&["website"])), false),
        (cond(Country, Is, text("DE")), true),
        (cond(Country, Is, text("de")), true),
        (cond(Country, In, list(&["AT", "CH"])), false),
        (cond(Country, NotIn, list(&["AT", "CH"])), true),
        (cond(CompanySize, Gte, Value::Number(500)), true),
        (cond(CompanySize, Gte, Value::Number(501)), false),
        (cond(CompanySize, Lte, Value::Number(500)), true),
        (cond(CompanySize, Lte, Value::Number(499)), false),
        (cond(CompanySize, Is, Value::Number(500)), true),
        (
            cond(CompanySize, In, Value::List(vec![Value::Number(500)])),
            true,
        ),
        (cond(EmailDomain, Is, text("nimbus.example")), true),
        (cond(EmailDomain, EndsWith, text(".EXAMPLE ")), true),
        (cond(EmailDomain, Contains, text("bus")), true),
        (cond(Company, Contains, text("health")), true),
        (cond(Company, EndsWith, text("gmbh")), true),
        (cond(Company, Is, text("nimbus")), false),
        (cond(Name, Is, text("ana lucía pérez")), true),
        (cond(Name, Contains, text("LUCÍA")), true),
        (cond(Country, IsEmpty, Value::None), false),
        (cond(Country, IsNotEmpty, Value::None), true),
        (cond(CompanySize, IsEmpty, Value::None), false),
    ];
    for (c, expected) in cases {
        assert_eq!(c.holds(&facts), expected, "{}", c.describe());
    }
}

#[test]
fn a_missing_field_matches_only_the_negative_operators() {
    use RuleOp::*;
    let bare = Facts::new(LeadSource::Team, "Bo", None, None, None, None);
    for field in [
        RuleField::Country,
        RuleField::CompanySize,
        RuleField::EmailDomain,
        RuleField::Company,
    ] {
        for op in field.ops() {
            let value = match (op, field) {
                (In | NotIn, RuleField::CompanySize) => Value::List(vec![Value::Number(5)]),
                (In | NotIn, _) => list(&["x"]),
                (_, RuleField::CompanySize) => Value::Number(5),
                _ => text("x"),
            };
            let expected = matches!(op, IsEmpty | IsNot | NotIn);
            assert_eq!(
                cond(field, *op, value).holds(&bare),
                expected,
                "{} {}",
                field.as_str(),
                op.as_str()
            );
        }
    }
}

fn rule(id: &str, enabled: bool, conditions: Vec<Condition>, rotation: &str) -> Rule {
    Rule {
        id: id.into(),
        name: format!("Rule {id}"),
        enabled,
        conditions,
        rotation_id: rotation.into(),
    }
}

#[test]
fn the_first_enabled_matching_rule_with_someone_available_wins() {
    let dach = cond(RuleField::Country, RuleOp::In, list(&["DE", "AT", "CH"]));
    let big = cond(RuleField::CompanySize, RuleOp::Gte, Value::Number(1000));
    let rules = vec![
        rule("off", false, vec![], "r0"),
        rule("huge", true, vec![dach.clone(), big], "r1"),
        rule("empty-rotation", true, vec![dach.clone()], "nobody"),
        rule("dach", true, vec![dach], "r2"),
        rule("all", true, vec![], "r3"),
    ];
    let (won, passed) = first_match(&rules, &lead(), |r| r != "nobody");
    assert_eq!(won, Some(3));
    assert_eq!(
        passed,
        vec![
            (0, Skipped::Disabled),
            (1, Skipped::NoMatch(1)),
            (2, Skipped::NobodyAvailable),
        ]
    );
    assert_eq!(
        passed[1].1.explain(&rules[1]),
        Passed::NoMatch {
            condition: "company size is at least 1000".into()
        }
    );
    assert_eq!(
        rules[1].describe(),
        "country is one of DE, AT, CH and company size is at least 1000"
    );
    let (none, passed) = first_match(&rules[..3], &lead(), |r| r != "nobody");
    assert_eq!((none, passed.len()), (None, 3));
}

fn draft(value: serde_json::Value) -> Vec<DraftRule> {
    serde_json::from_value(value).unwrap()
}

fn ids() -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("new{n}")
    }
}

#[test]
fn drafts_are_normalised_and_keep_only_known_ids() {
    let mut errors = FieldErrors::default();
    let rules = validate(
        draft(json!([
            {"id": "r1", "name": " DACH ", "conditions": [
                {"field": "country", "op": "in", "value": ["de", "Austria", "CHE"]},
                {"field": "company_size", "op": "gte", "value": "500"},
                {"field": "source", "op": "is", "value": "Website"}]},
            {"id": "forged", "name": "Rest", "enabled": false, "rotation_id": "default"}
        ]))
        .into_iter()
        .map(|mut d| {
            d.rotation_id.get_or_insert_with(|| "eu".into());
            d
        })
        .collect(),
        &["default".into(), "eu".into()],
        &["r1".into()],
        ids(),
        &mut errors,
    );
    assert!(errors.0.is_empty(), "{errors:?}");
    assert_eq!(rules[0].id, "r1");
    assert_eq!(rules[0].name, "DACH");
    assert!(rules[0].enabled, "a rule is on unless said otherwise");
    assert_eq!(rules[0].conditions[0].value, list(&["DE", "AT", "CH"]));
    assert_eq!(rules[0].conditions[1].value, Value::Number(500));
    assert_eq!(rules[0].conditions[2].value, text("website"));
    assert_eq!(
        rules[1].id, "new1",
        "a client cannot choose a new rule's id"
    );
    assert!(!rules[1].enabled);
}

#[test]
fn bad_rules_are_named_by_index_and_field() {
    let many_values: Vec<String> = (0..=MAX_VALUES).map(|i| i.to_string()).collect();
    let cases = [
        (
            json!([{"name": "A", "rotation_id": "default", "conditions": [{"field": "colour", "op": "is", "value": "red"}]}]),
            "rules[0].conditions[0].field",
        ),
        (
            json!([{"name": "A", "rotation_id": "default", "conditions": [{"field": "country", "op": "gte", "value": "DE"}]}]),
            "rules[0].conditions[0].op",
        ),
        (
            json!([{"name": "A", "rotation_id": "default", "conditions": [{"field": "company_size", "op": "gte", "value": "abc"}]}]),
            "rules[0].conditions[0].value",
        ),
        (
            json!([{"name": "A", "rotation_id": "default", "conditions": [{"field": "company_size", "op": "lte", "value": -1}]}]),
            "rules[0].conditions[0].value",
        ),
        (
            json!([{"name": "A", "rotation_id": "default", "conditions": [{"field": "country", "op": "in", "value": []}]}]),
            "rules[0].conditions[0].value",
        ),
        (
            json!([{"name": "A", "rotation_id": "default", "conditions": [{"field": "country", "op": "in", "value": "DE"}]}]),
            "rules[0].conditions[0].value",
        ),
        (
            json!([{"name": "A", "rotation_id": "default", "conditions": [{"field": "country", "op": "is", "value": "Atlantis"}]}]),
            "rules[0].conditions[0].value",
        ),
        (
            json!([{"name": "A", "rotation_id": "default", "conditions": [{"field": "source", "op": "is", "value": "fax"}]}]),
            "rules[0].conditions[0].value",
        ),
        (
            json!([{"name": "A", "rotation_id": "default", "conditions": [{"field": "name", "op": "in", "value": many_values}]}]),
            "rules[0].conditions[0].value",
        ),
        (
            json!([{"name": "A", "rotation_id": "default"}, {"name": "B", "rotation_id": "elsewhere"}]),
            "rules[1].rotation_id",
        ),
        (
            json!([{"name": "A", "rotation_id": "default"}, {"name": " ", "rotation_id": "default"}]),
            "rules[1].name",
        ),
    ];
    for (input, key) in cases {
        let mut errors = FieldErrors::default();
        validate(
            draft(input.clone()),
            &["default".into()],
            &[],
            ids(),
            &mut errors,
        );
        assert!(errors.get(key).is_some(), "{input}: {errors:?}");
    }
    let too_many = serde_json::Value::Array(
        (0..=MAX_RULES)
            .map(|_| json!({"name": "A", "rotation_id": "default"}))
            .collect(),
    );
    let mut errors = FieldErrors::default();
    validate(
        draft(too_many),
        &["default".into()],
        &[],
        ids(),
        &mut errors,
    );
    assert!(errors.get("rules").is_some());
    let conditions: Vec<_> = (0..=MAX_CONDITIONS)
        .map(|_| json!({"field": "country", "op": "is_empty"}))
        .collect();
    let mut errors = FieldErrors::default();
    validate(
        draft(json!([{"name": "A", "rotation_id": "default", "conditions": conditions}])),
        &["default".into()],
        &[],
        ids(),
        &mut errors,
    );
    assert!(errors.get("rules[0].conditions").is_some());
}

#[test]
fn stored_rules_read_back_the_same() {
    let rules = vec![rule(
        "a",
        true,
        vec![
            cond(RuleField::Country, RuleOp::In, list(&["DE"])),
            cond(RuleField::CompanySize, RuleOp::Gte, Value::Number(10)),
            cond(RuleField::Company, RuleOp::IsEmpty, Value::None),
        ],
        "default",
    )];
    let stored = serde_json::to_string(&rules).unwrap();
    assert_eq!(serde_json::from_str::<Vec<Rule>>(&stored).unwrap(), rules);
}

fn any_condition() -> impl Strategy<Value = Condition> {
    let field = proptest::sample::select(RuleField::ALL.to_vec());
    (field, any::<prop::sample::Index>(), 0i64..3, "[a-c]{0,2}").prop_map(|(field, op, n, t)| {
        let op = *op.get(field.ops());
        let value = match (op, field) {
            (RuleOp::IsEmpty | RuleOp::IsNotEmpty, _) => Value::None,
            (RuleOp::In | RuleOp::NotIn, RuleField::CompanySize) => {
                Value::List(vec![Value::Number(n)])
            }
            (RuleOp::In | RuleOp::NotIn, _) => Value::List(vec![Value::Text(t)]),
            (_, RuleField::CompanySize) => Value::Number(n),
            _ => Value::Text(t),
        };
        Condition { field, op, value }
    })
}

fn any_facts() -> impl Strategy<Value = Facts> {
    (
        proptest::option::of("[a-c]{0,2}"),
        proptest::option::of(0i64..3),
        proptest::option::of("[a-c]{1,2}"),
    )
        .prop_map(|(company, size, domain)| {
            let email = domain.map(|d| format!("x@{d}"));
            Facts::new(
                LeadSource::Website,
                "ab",
                email.as_deref(),
                company.as_deref(),
                None,
                size,
            )
        })
}

fn any_rules() -> impl Strategy<Value = Vec<Rule>> {
    proptest::collection::vec(
        (
            any::<bool>(),
            proptest::collection::vec(any_condition(), 0..3),
            0usize..3,
        ),
        0..6,
    )
    .prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (on, conditions, r))| rule(&i.to_string(), on, conditions, &format!("r{r}")))
            .collect()
    })
}

proptest! {
    /// The winner is enabled, matches, has someone available, and every rule before it
    /// fails one of those, for the reason recorded.
    #[test]
    fn first_match_is_the_first_rule_that_can_take_the_lead(rules in any_rules(), facts in any_facts(), busy in 0usize..4) {
        let busy = format!("r{busy}");
        let (won, passed) = first_match(&rules, &facts, |r| r != busy);
        let decides = |r: &Rule| r.enabled && r.matches(&facts) && r.rotation_id != busy;
        prop_assert_eq!(won, rules.iter().position(decides));
        let before = won.unwrap_or(rules.len());
        prop_assert_eq!(passed.len(), before);
        for (i, why) in passed {
            let r = &rules[i];
            match why {
                Skipped::Disabled => prop_assert!(!r.enabled),
                Skipped::NoMatch(c) => prop_assert!(r.enabled && !r.conditions[c].holds(&facts) && r.conditions[..c].iter().all(|c| c.holds(&facts))),
                Skipped::NobodyAvailable => prop_assert!(r.enabled && r.matches(&facts) && r.rotation_id == busy),
            }
        }
    }

    /// Negation is exact where the field is present: `is_not` is `!is`, `not_in` is `!in`,
    /// `is_not_empty` is `!is_empty`.
    #[test]
    fn negative_operators_are_the_negation(c in any_condition(), facts in any_facts()) {
        let flip = match c.op {
            RuleOp::Is => Some(RuleOp::IsNot),
            RuleOp::In => Some(RuleOp::NotIn),
            RuleOp::IsEmpty => Some(RuleOp::IsNotEmpty),
            _ => None,
        };
        if let Some(op) = flip {
            let negated = Condition { op, ..c.clone() };
            prop_assert_eq!(c.holds(&facts), !negated.holds(&facts));
        }
    }
}
