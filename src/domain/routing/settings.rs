//! A rotation's settings and their validation: what the Rotations section and
//! `/api/v1/rotations` save. The default rotation ("Everyone") has the same settings but
//! its name is fixed.

use serde::{Deserialize, Serialize};

use super::Strategy;
use crate::domain::kinds::closed_set;
use crate::domain::lead::Change;
use crate::domain::validate::{self, FieldErrors};

pub const DEFAULT_NAME: &str = "Everyone";
pub const NAME_MAX: usize = 100;
pub const WEIGHT_DEFAULT: i64 = 100;
pub const WEIGHT_RANGE: std::ops::RangeInclusive<i64> = 1..=1000;
pub const FIRST_TOUCH_RANGE: std::ops::RangeInclusive<i64> = 1..=10_080;
pub const HOPS_RANGE: std::ops::RangeInclusive<i64> = 1..=10;

closed_set! {
    /// What routing does when nobody in the rotation can take a lead.
    pub enum IfNoneAvailable {
        AnyoneActive = ("anyone_active", "Give it to anyone active"),
        Hold = ("hold", "Hold it until someone is back"),
    }
}

closed_set! {
    /// What happens when a routed lead is not touched in time.
    pub enum SlaAction {
        Reassign = ("reassign", "Reassign to the next rep"),
        Notify = ("notify", "Notify Owners and Managers only"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: String,
    pub weight: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationSettings {
    pub name: String,
    pub strategy: Strategy,
    /// The picks in the order saved; empty = the whole sales-capable team.
    pub members: Vec<Member>,
    pub if_none_available: IfNoneAvailable,
    pub first_touch_minutes: Option<i64>,
    pub sla_action: SlaAction,
    pub max_hops: i64,
}

impl RotationSettings {
    /// A new rotation's settings before its input is applied.
    pub fn new(name: &str) -> Self {
        RotationSettings {
            name: name.to_owned(),
            strategy: Strategy::RoundRobin,
            members: Vec::new(),
            if_none_available: IfNoneAvailable::AnyoneActive,
            first_touch_minutes: None,
            sla_action: SlaAction::Reassign,
            max_hops: 2,
        }
    }

    pub fn member_ids(&self) -> Vec<String> {
        self.members.iter().map(|m| m.user_id.clone()).collect()
    }
}

/// A change as it arrives; a field left out keeps its value. `first_touch_minutes: null`
/// turns the first-touch timer off, so it is "absent" vs "null" (see [`Change`]).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RotationInput {
    pub name: Option<String>,
    pub strategy: Option<String>,
    pub members: Option<Vec<MemberInput>>,
    pub if_none_available: Option<String>,
    #[serde(default)]
    pub first_touch_minutes: Change<i64>,
    pub sla_action: Option<String>,
    pub max_hops: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MemberInput {
    pub user_id: String,
    pub weight: Option<i64>,
}

/// Applies `input` to `settings`. `capable` are the ids of the account's sales-capable
/// members; `taken` the names of its other rotations; a default rotation keeps its name.
pub fn apply(
    mut settings: RotationSettings,
    input: RotationInput,
    capable: &[String],
    taken: &[String],
    is_default: bool,
    errors: &mut FieldErrors,
) -> RotationSettings {
    if let Some(raw) = input.name {
        match validate::required_text(Some(&raw), NAME_MAX) {
            Err(why) => errors.add("name", why),
            Ok(name) if is_default && name != DEFAULT_NAME => {
                errors.add("name", "of the default rotation cannot change")
            }
            Ok(name) if !is_default && name.eq_ignore_ascii_case(DEFAULT_NAME) => {
                errors.add("name", "is the default rotation's name")
            }
            Ok(name)
                if taken
                    .iter()
                    .any(|t| t.to_lowercase() == name.to_lowercase()) =>
            {
                errors.add("name", "is already used by another rotation")
            }
            Ok(name) => settings.name = name,
        }
    }
    if let Some(raw) = input.strategy {
        match Strategy::parse(raw.trim()) {
            Some(s) => settings.strategy = s,
            None => errors.add("strategy", "must be round_robin or balanced"),
        }
    }
    if let Some(members) = input.members {
        let mut picked: Vec<Member> = Vec::new();
        for m in members {
            let weight = m.weight.unwrap_or(WEIGHT_DEFAULT);
            if !capable.contains(&m.user_id) {
                errors.add(
                    "members",
                    format!("{} is not a sales-capable member of the team", m.user_id),
                );
            } else if !WEIGHT_RANGE.contains(&weight) {
                errors.add("members", "a weight must be from 1 to 1000");
            } else if !picked.iter().any(|p| p.user_id == m.user_id) {
                picked.push(Member {
                    user_id: m.user_id,
                    weight,
                });
            }
        }
        settings.members = picked;
    }
    if let Some(raw) = input.if_none_available {
        match IfNoneAvailable::parse_field(raw.trim()) {
            Ok(v) => settings.if_none_available = v,
            Err(why) => errors.add("if_none_available", why),
        }
    }
    match input.first_touch_minutes {
        Change::Keep => {}
        Change::Clear => settings.first_touch_minutes = None,
        Change::Set(n) if FIRST_TOUCH_RANGE.contains(&n) => settings.first_touch_minutes = Some(n),
        Change::Set(_) => errors.add(
            "first_touch_minutes",
            "must be from 1 to 10080 minutes (a week), or null for no timer",
        ),
    }
    if let Some(raw) = input.sla_action {
        match SlaAction::parse_field(raw.trim()) {
            Ok(v) => settings.sla_action = v,
            Err(why) => errors.add("sla_action", why),
        }
    }
    match input.max_hops {
        Some(n) if HOPS_RANGE.contains(&n) => settings.max_hops = n,
        Some(_) => errors.add("max_hops", "must be from 1 to 10"),
        None => {}
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: serde_json::Value) -> RotationInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_change_keeps_what_it_leaves_out() {
        let capable = vec!["u1".to_owned(), "u2".to_owned()];
        let mut errors = FieldErrors::default();
        let s = apply(
            RotationSettings::new("EU"),
            input(
                json!({"strategy": "balanced", "members": [{"user_id": "u2", "weight": 50}, {"user_id": "u1"}, {"user_id": "u2"}], "first_touch_minutes": 15}),
            ),
            &capable,
            &[],
            false,
            &mut errors,
        );
        assert!(errors.0.is_empty(), "{errors:?}");
        assert_eq!(s.name, "EU");
        assert_eq!(s.strategy, Strategy::Balanced);
        assert_eq!(s.member_ids(), ["u2", "u1"]);
        assert_eq!(s.members[0].weight, 50);
        assert_eq!(s.members[1].weight, 100);
        assert_eq!(s.first_touch_minutes, Some(15));
        let cleared = apply(
            s,
            input(json!({"first_touch_minutes": null})),
            &capable,
            &[],
            false,
            &mut errors,
        );
        assert_eq!(cleared.first_touch_minutes, None);
        assert_eq!(cleared.strategy, Strategy::Balanced);
    }

    #[test]
    fn bad_settings_name_their_field() {
        let cases = [
            (json!({"name": " "}), "name"),
            (json!({"name": "everyone"}), "name"),
            (json!({"name": "Taken"}), "name"),
            (json!({"strategy": "random"}), "strategy"),
            (
                json!({"members": [{"user_id": "accounting-person"}]}),
                "members",
            ),
            (
                json!({"members": [{"user_id": "u1", "weight": 0}]}),
                "members",
            ),
            (
                json!({"members": [{"user_id": "u1", "weight": 1001}]}),
                "members",
            ),
            (json!({"if_none_available": "wait"}), "if_none_available"),
            (json!({"first_touch_minutes": 0}), "first_touch_minutes"),
            (json!({"sla_action": "escalate"}), "sla_action"),
            (json!({"max_hops": 0}), "max_hops"),
        ];
        for (raw, field) in cases {
            let mut errors = FieldErrors::default();
            apply(
                RotationSettings::new("EU"),
                input(raw.clone()),
                &["u1".to_owned()],
                &["taken".to_owned()],
                false,
                &mut errors,
            );
            assert!(errors.get(field).is_some(), "{raw}: {errors:?}");
        }
        let mut errors = FieldErrors::default();
        apply(
            RotationSettings::new(DEFAULT_NAME),
            input(json!({"name": "All"})),
            &[],
            &[],
            true,
            &mut errors,
        );
        assert!(errors.get("name").is_some());
    }
}
