//! Routing rules, pure: an ordered list of conditions -> rotation. The first enabled rule
//! whose conditions all hold names the rotation a new lead goes to; none -> the default
//! rotation. Evaluation is total: a missing field never matches `is`, `in`, `contains`,
//! `ends_with`, `gte` or `lte`, always matches `is_empty`, `is_not` and `not_in`; text is
//! compared trimmed and case-insensitively.

use serde::{Deserialize, Serialize};

use super::country;
use super::kinds::closed_set;
use super::lead::LeadSource;
use super::validate::FieldErrors;

pub const MAX_RULES: usize = 100;
pub const MAX_CONDITIONS: usize = 50;
pub const MAX_VALUES: usize = 200;
pub const NAME_MAX: usize = 100;
/// The id of the rotation every account has, the help article's "Everyone".
pub const DEFAULT_ROTATION: &str = "default";

closed_set! {
    /// What a condition looks at.
    pub enum RuleField {
        Source = ("source", "Source"),
        Country = ("country", "Country"),
        CompanySize = ("company_size", "Company size"),
        EmailDomain = ("email_domain", "Email domain"),
        Company = ("company", "Company"),
        Name = ("name", "Name"),
    }
}

closed_set! {
    /// How a condition compares.
    pub enum RuleOp {
        Is = ("is", "is"),
        IsNot = ("is_not", "is not"),
        In = ("in", "is one of"),
        NotIn = ("not_in", "is none of"),
        Contains = ("contains", "contains"),
        EndsWith = ("ends_with", "ends with"),
        Gte = ("gte", "is at least"),
        Lte = ("lte", "is at most"),
        IsEmpty = ("is_empty", "is empty"),
        IsNotEmpty = ("is_not_empty", "is not empty"),
    }
}

impl RuleField {
    /// The operators that make sense for this field.
    pub fn ops(self) -> &'static [RuleOp] {
        use RuleOp::*;
        match self {
            RuleField::Source => &[Is, IsNot, In, NotIn],
            RuleField::Country => &[Is, IsNot, In, NotIn, IsEmpty, IsNotEmpty],
            RuleField::CompanySize => &[Is, IsNot, In, NotIn, Gte, Lte, IsEmpty, IsNotEmpty],
            RuleField::EmailDomain | RuleField::Company | RuleField::Name => &[
                Is, IsNot, In, NotIn, Contains, EndsWith, IsEmpty, IsNotEmpty,
            ],
        }
    }
}

/// A condition's value, as stored and shown: one text or number, a list, or none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Number(i64),
    Text(String),
    List(Vec<Value>),
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub field: RuleField,
    pub op: RuleOp,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub conditions: Vec<Condition>,
    pub rotation_id: String,
}

/// What the rules see of a new lead, normalised once: text lower case and trimmed,
/// country upper case, the email's domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub source: Option<LeadSource>,
    pub country: Option<String>,
    pub company_size: Option<i64>,
    pub email_domain: Option<String>,
    pub company: Option<String>,
    pub name: Option<String>,
}

impl Facts {
    pub fn new(
        source: LeadSource,
        name: &str,
        email: Option<&str>,
        company: Option<&str>,
        country: Option<&str>,
        company_size: Option<i64>,
    ) -> Self {
        Facts {
            source: Some(source),
            country: country
                .map(|c| c.trim().to_uppercase())
                .filter(|c| !c.is_empty()),
            company_size,
            email_domain: email
                .and_then(|e| e.rsplit_once('@'))
                .map(|(_, domain)| fold(domain))
                .filter(|d| !d.is_empty()),
            company: company.map(fold).filter(|c| !c.is_empty()),
            name: Some(fold(name)).filter(|n| !n.is_empty()),
        }
    }

    /// The field's text as facts keep it (lower case; the country upper case).
    fn text(&self, field: RuleField) -> Option<&str> {
        match field {
            RuleField::Source => self.source.map(LeadSource::as_str),
            RuleField::Country => self.country.as_deref(),
            RuleField::CompanySize => None,
            RuleField::EmailDomain => self.email_domain.as_deref(),
            RuleField::Company => self.company.as_deref(),
            RuleField::Name => self.name.as_deref(),
        }
    }
}

/// Equal after trimming, ignoring case; allocates nothing.
fn same_text(value: &str, fact: &str) -> bool {
    let lower = |s: &str| {
        s.trim()
            .chars()
            .flat_map(char::to_lowercase)
            .collect::<Vec<_>>()
    };
    let (value, fact) = (value.trim(), fact.trim());
    if value.is_ascii() && fact.is_ascii() {
        return value.eq_ignore_ascii_case(fact);
    }
    lower(value) == lower(fact)
}

/// Trimmed and lower case: how text is compared.
fn fold(text: &str) -> String {
    text.trim().to_lowercase()
}

impl Condition {
    /// Whether the condition holds for the lead. Total: any facts, any value.
    pub fn holds(&self, facts: &Facts) -> bool {
        use RuleOp::*;
        if self.field == RuleField::CompanySize {
            let size = facts.company_size;
            let number = |v: &Value| match v {
                Value::Number(n) => Some(*n),
                Value::Text(t) => t.trim().parse().ok(),
                _ => None,
            };
            let list = || self.value.items().filter_map(number).collect::<Vec<_>>();
            return match (self.op, size) {
                (IsEmpty, s) => s.is_none(),
                (IsNotEmpty, s) => s.is_some(),
                (IsNot, None) | (NotIn, None) => true,
                (_, None) => false,
                (Is, Some(s)) => number(&self.value) == Some(s),
                (IsNot, Some(s)) => number(&self.value) != Some(s),
                (In, Some(s)) => list().contains(&s),
                (NotIn, Some(s)) => !list().contains(&s),
                (Gte, Some(s)) => number(&self.value).is_some_and(|n| s >= n),
                (Lte, Some(s)) => number(&self.value).is_some_and(|n| s <= n),
                (Contains | EndsWith, Some(_)) => false,
            };
        }
        let fact = facts.text(self.field);
        let same = |v: &Value, f: &str| match v {
            Value::Text(t) => same_text(t, f),
            Value::Number(n) => f.parse::<i64>().is_ok_and(|x| x == *n),
            _ => false,
        };
        // Facts are lower case already (the country upper case): only the needle folds.
        let needle = || match &self.value {
            Value::Text(t) => Some(fold(t)),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        match (self.op, fact) {
            (IsEmpty, f) => f.is_none(),
            (IsNotEmpty, f) => f.is_some(),
            (IsNot | NotIn, None) => true,
            (_, None) => false,
            (Is, Some(f)) => same(&self.value, f),
            (IsNot, Some(f)) => !same(&self.value, f),
            (In, Some(f)) => self.value.items().any(|v| same(v, f)),
            (NotIn, Some(f)) => !self.value.items().any(|v| same(v, f)),
            (Contains, Some(f)) => needle().is_some_and(|v| f.contains(&v)),
            (EndsWith, Some(f)) => needle().is_some_and(|v| f.ends_with(&v)),
            (Gte | Lte, Some(_)) => false,
        }
    }

    /// "country is one of DE, AT, CH", for receipts and pages.
    pub fn describe(&self) -> String {
        let field = self.field.label().to_lowercase();
        match self.op {
            RuleOp::IsEmpty | RuleOp::IsNotEmpty => format!("{field} {}", self.op.label()),
            _ => format!("{field} {} {}", self.op.label(), self.value.describe()),
        }
    }
}

impl Value {
    /// The items of a list; a single value counts as a list of one.
    fn items(&self) -> impl Iterator<Item = &Value> {
        let items: &[Value] = match self {
            Value::List(items) => items,
            Value::None => &[],
            single => std::slice::from_ref(single),
        };
        items.iter()
    }

    pub fn describe(&self) -> String {
        match self {
            Value::Number(n) => n.to_string(),
            Value::Text(t) => t.clone(),
            Value::List(items) => items
                .iter()
                .map(Value::describe)
                .collect::<Vec<_>>()
                .join(", "),
            Value::None => String::new(),
        }
    }
}

impl Rule {
    pub fn matches(&self, facts: &Facts) -> bool {
        self.conditions.iter().all(|c| c.holds(facts))
    }

    /// "country is one of DE, AT, CH and company size is at least 500".
    pub fn describe(&self) -> String {
        if self.conditions.is_empty() {
            return "every lead".into();
        }
        self.conditions
            .iter()
            .map(Condition::describe)
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

/// Why a rule before the winner was passed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "why")]
pub enum Passed {
    Disabled,
    /// The first condition that does not hold.
    NoMatch {
        condition: String,
    },
    /// It matched, but its rotation had nobody to take the lead.
    NobodyAvailable,
}

/// [`Passed`] as the evaluation finds it: the failing condition by index, so a decision
/// that passes over many rules builds no text; [`Skipped::explain`] writes it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    Disabled,
    NoMatch(usize),
    NobodyAvailable,
}

impl Skipped {
    pub fn explain(self, rule: &Rule) -> Passed {
        match self {
            Skipped::Disabled => Passed::Disabled,
            Skipped::NoMatch(i) => Passed::NoMatch {
                condition: rule.conditions[i].describe(),
            },
            Skipped::NobodyAvailable => Passed::NobodyAvailable,
        }
    }
}

/// The rules in order, each with whether it decides: `Some(index)` of the first enabled
/// matching rule, with the rules passed over before it; `None` (no rule matched) with all.
/// `available(rotation_id)` says whether a rotation can take a lead right now; a rule
/// whose rotation cannot is passed over (falls through).
pub fn first_match(
    rules: &[Rule],
    facts: &Facts,
    mut available: impl FnMut(&str) -> bool,
) -> (Option<usize>, Vec<(usize, Skipped)>) {
    let mut passed = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        if !rule.enabled {
            passed.push((i, Skipped::Disabled));
        } else if let Some(c) = rule.conditions.iter().position(|c| !c.holds(facts)) {
            passed.push((i, Skipped::NoMatch(c)));
        } else if !available(&rule.rotation_id) {
            passed.push((i, Skipped::NobodyAvailable));
        } else {
            return (Some(i), passed);
        }
    }
    (None, passed)
}

/// A rule as it arrives (API body or page form), before validation.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DraftRule {
    pub id: Option<String>,
    pub name: Option<String>,
    pub enabled: Option<bool>,
    #[serde(default)]
    pub conditions: Vec<DraftCondition>,
    pub rotation_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DraftCondition {
    pub field: Option<String>,
    pub op: Option<String>,
    #[serde(default)]
    pub value: serde_json::Value,
}

/// Validates a whole rule list. `rotations` are the account's rotation ids; `new_id` makes
/// an id for a rule that arrives without one (or with an id not in `known_ids`, so a
/// client cannot pick ids). Errors name the rule's index and the field:
/// `rules[2].conditions[0].value`.
pub fn validate(
    drafts: Vec<DraftRule>,
    rotations: &[String],
    known_ids: &[String],
    mut new_id: impl FnMut() -> String,
    errors: &mut FieldErrors,
) -> Vec<Rule> {
    if drafts.len() > MAX_RULES {
        errors.add("rules", format!("must hold at most {MAX_RULES} rules"));
        return Vec::new();
    }
    let mut rules = Vec::with_capacity(drafts.len());
    let mut seen_ids: Vec<String> = Vec::new();
    for (i, draft) in drafts.into_iter().enumerate() {
        let at = |field: &str| format!("rules[{i}].{field}");
        let name = draft.name.as_deref().map(str::trim).unwrap_or_default();
        if name.is_empty() {
            errors.add(&at("name"), "is required");
        } else if name.chars().count() > NAME_MAX {
            errors.add(
                &at("name"),
                format!("must be at most {NAME_MAX} characters"),
            );
        } else if name
            .chars()
            .any(|c| c.is_control() || super::validate::is_disguising(c))
        {
            errors.add(&at("name"), super::validate::INVISIBLE);
        }
        let rotation_id = draft
            .rotation_id
            .as_deref()
            .map(str::trim)
            .unwrap_or_default();
        if rotation_id.is_empty() {
            errors.add(&at("rotation_id"), "is required");
        } else if !rotations.iter().any(|r| r == rotation_id) {
            errors.add(&at("rotation_id"), "is not a rotation of this account");
        }
        if draft.conditions.len() > MAX_CONDITIONS {
            errors.add(
                &at("conditions"),
                format!("must hold at most {MAX_CONDITIONS} conditions"),
            );
        }
        let conditions = draft
            .conditions
            .iter()
            .take(MAX_CONDITIONS)
            .enumerate()
            .filter_map(|(j, c)| condition(c, &at(&format!("conditions[{j}]")), errors))
            .collect();
        let id = match draft.id {
            Some(id) if known_ids.contains(&id) && !seen_ids.contains(&id) => id,
            _ => new_id(),
        };
        seen_ids.push(id.clone());
        rules.push(Rule {
            id,
            name: name.to_owned(),
            enabled: draft.enabled.unwrap_or(true),
            conditions,
            rotation_id: rotation_id.to_owned(),
        });
    }
    rules
}

/// One condition, checked against its field: `at` is the key its errors go under.
fn condition(draft: &DraftCondition, at: &str, errors: &mut FieldErrors) -> Option<Condition> {
    let key = |part: &str| format!("{at}.{part}");
    let field = match RuleField::parse_field(draft.field.as_deref().unwrap_or_default().trim()) {
        Ok(f) => f,
        Err(why) => {
            errors.add(&key("field"), why);
            return None;
        }
    };
    let op = match RuleOp::parse(draft.op.as_deref().unwrap_or_default().trim()) {
        Some(op) if field.ops().contains(&op) => op,
        _ => {
            errors.add(&key("op"), RuleOp::expected(field.ops()));
            return None;
        }
    };
    let value = match op {
        RuleOp::IsEmpty | RuleOp::IsNotEmpty => Ok(Value::None),
        RuleOp::In | RuleOp::NotIn => match &draft.value {
            serde_json::Value::Array(items) if items.is_empty() => {
                Err("must list at least one value".to_owned())
            }
            serde_json::Value::Array(items) if items.len() > MAX_VALUES => {
                Err(format!("must list at most {MAX_VALUES} values"))
            }
            serde_json::Value::Array(items) => items
                .iter()
                .map(|v| single(field, v))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List),
            _ => Err("must be a list of values".to_owned()),
        },
        RuleOp::Gte | RuleOp::Lte => single(field, &draft.value),
        _ => single(field, &draft.value),
    };
    match value {
        Ok(value) => Some(Condition { field, op, value }),
        Err(why) => {
            errors.add(&key("value"), why);
            None
        }
    }
}

/// One value of `field`, normalised: a country code, a source's wire name, a whole number
/// for company size, trimmed text otherwise.
fn single(field: RuleField, raw: &serde_json::Value) -> Result<Value, String> {
    let text = match raw {
        serde_json::Value::String(s) => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let text = text
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "is required".to_owned())?;
    match field {
        RuleField::CompanySize => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Value::Number)
            .ok_or_else(|| format!("{text:?} is not a number of employees (a whole number)")),
        RuleField::Country => country::parse(&text).map(|c| Value::Text(c.to_owned())),
        RuleField::Source => LeadSource::parse_field(&text.to_lowercase())
            .map(|s| Value::Text(s.as_str().to_owned())),
        _ if text.chars().count() > NAME_MAX => {
            Err(format!("must be at most {NAME_MAX} characters"))
        }
        _ => Ok(Value::Text(text)),
    }
}

pub mod changes;

#[cfg(test)]
mod tests;
