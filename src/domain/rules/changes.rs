//! A saved rule list's change in words, for the audit log: what was added, removed,
//! switched, edited or moved, one sentence each.

use super::Rule;

/// The change from `before` to `after`, rules matched by id. `rotation` names a rotation
/// id (a deleted rotation's id comes back as it is).
pub fn describe(before: &[Rule], after: &[Rule], rotation: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut lines = Vec::new();
    let find = |list: &'_ [Rule], id: &str| list.iter().position(|r| r.id == id);
    for (i, rule) in after.iter().enumerate() {
        let Some(old) = find(before, &rule.id).map(|j| &before[j]) else {
            lines.push(format!(
                "Added rule '{}' at position {}: {} -> '{}'{}.",
                rule.name,
                i + 1,
                rule.describe(),
                rotation(&rule.rotation_id),
                if rule.enabled { "" } else { " (off)" }
            ));
            continue;
        };
        if old.name != rule.name {
            lines.push(format!("Renamed rule '{}' to '{}'.", old.name, rule.name));
        }
        if old.enabled != rule.enabled {
            let state = if rule.enabled { "on" } else { "off" };
            lines.push(format!("Turned rule '{}' {state}.", rule.name));
        }
        if old.conditions != rule.conditions {
            lines.push(format!(
                "Rule '{}' now matches {} (was {}).",
                rule.name,
                rule.describe(),
                old.describe()
            ));
        }
        if old.rotation_id != rule.rotation_id {
            lines.push(format!(
                "Rule '{}' now routes to '{}' (was '{}').",
                rule.name,
                rotation(&rule.rotation_id),
                rotation(&old.rotation_id)
            ));
        }
    }
    for old in before.iter().filter(|r| find(after, &r.id).is_none()) {
        lines.push(format!("Removed rule '{}'.", old.name));
    }
    // The rules kept, in their old and their new order: a different order is a move.
    let kept_before: Vec<&str> = before
        .iter()
        .filter(|r| find(after, &r.id).is_some())
        .map(|r| r.id.as_str())
        .collect();
    let kept_after: Vec<&str> = after
        .iter()
        .filter(|r| find(before, &r.id).is_some())
        .map(|r| r.id.as_str())
        .collect();
    if kept_before != kept_after {
        let order: Vec<String> = after.iter().map(|r| format!("'{}'", r.name)).collect();
        lines.push(format!("Reordered: {}.", order.join(", ")));
    }
    if lines.is_empty() {
        lines.push("Saved with no change.".into());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::{Condition, RuleField, RuleOp, Value};

    fn rule(id: &str, name: &str, country: &str, rotation: &str) -> Rule {
        Rule {
            id: id.into(),
            name: name.into(),
            enabled: true,
            conditions: vec![Condition {
                field: RuleField::Country,
                op: RuleOp::Is,
                value: Value::Text(country.into()),
            }],
            rotation_id: rotation.into(),
        }
    }

    fn names(id: &str) -> String {
        match id {
            "eu" => "Enterprise EU".into(),
            "us" => "US".into(),
            other => other.into(),
        }
    }

    #[test]
    fn each_kind_of_change_is_one_sentence() {
        let before = vec![
            rule("a", "DACH", "DE", "eu"),
            rule("b", "America", "US", "us"),
            rule("c", "France", "FR", "eu"),
        ];
        let mut after = vec![
            before[1].clone(),
            before[0].clone(),
            rule("d", "Spain", "ES", "eu"),
        ];
        after[0].enabled = false;
        after[1].name = "DACH region".into();
        after[1].rotation_id = "us".into();
        after[1].conditions[0].value = Value::Text("AT".into());
        assert_eq!(
            describe(&before, &after, &names),
            [
                "Turned rule 'America' off.",
                "Renamed rule 'DACH' to 'DACH region'.",
                "Rule 'DACH region' now matches country is AT (was country is DE).",
                "Rule 'DACH region' now routes to 'US' (was 'Enterprise EU').",
                "Added rule 'Spain' at position 3: country is ES -> 'Enterprise EU'.",
                "Removed rule 'France'.",
                "Reordered: 'America', 'DACH region', 'Spain'.",
            ]
        );
    }

    #[test]
    fn an_unchanged_list_says_so_and_an_added_rule_is_not_a_move() {
        let before = vec![rule("a", "DACH", "DE", "eu")];
        assert_eq!(
            describe(&before, &before, &names),
            ["Saved with no change."]
        );
        let after = vec![rule("n", "New", "US", "us"), before[0].clone()];
        assert_eq!(
            describe(&before, &after, &names),
            ["Added rule 'New' at position 1: country is US -> 'US'."]
        );
    }
}
