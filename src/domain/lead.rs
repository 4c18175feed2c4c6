//! Leads: status, source, the fields a lead may carry, and what counts as open.

use super::kinds::closed_set;
use super::validate::{self, EmailAddress, FieldErrors};

closed_set! {
    pub enum LeadStatus {
        Open = ("open", "Open"),
        Won = ("won", "Won"),
        Lost = ("lost", "Lost"),
        Dormant = ("dormant", "Dormant"),
    }
}

closed_set! {
    pub enum LeadSource {
        Team = ("team", "Team"),
        Assistant = ("assistant", "AI assistant"),
        Website = ("website", "Website"),
        Import = ("import", "Import"),
    }
}

impl LeadChanges {
    /// The new lead these changes describe, when they name it (creation requires a name).
    pub fn into_new(self, source: LeadSource) -> Option<NewLead> {
        Some(NewLead {
            name: self.name?,
            email: self.email.flatten(),
            phone: self.phone.flatten(),
            company: self.company.flatten(),
            notes: self.notes.flatten(),
            source,
        })
    }
}

/// A lead counts towards its owner's workload while it has an owner and is `open`.
pub fn is_open(owner: Option<&str>, status: LeadStatus) -> bool {
    owner.is_some() && status == LeadStatus::Open
}

pub const PHONE_MAX: usize = 50;
pub const COMPANY_MAX: usize = 200;
pub const NOTES_MAX: usize = 10_000;

/// A new lead's fields, validated: made from parsed input by [`LeadChanges::into_new`] (a
/// channel may add what it checks itself, such as the website form's required email),
/// never by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLead {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub notes: Option<String>,
    pub source: LeadSource,
}

/// What an edit changes, validated: `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LeadChanges {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub company: Option<Option<String>>,
    pub notes: Option<Option<String>>,
}

/// Raw input for the lead fields; `Some("")` clears an optional field.
#[derive(Debug, Default, Clone)]
pub struct LeadInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub notes: Option<String>,
}

impl LeadChanges {
    /// Validates input; with `require_name`, a missing name is an error (creation).
    pub fn parse(input: &LeadInput, require_name: bool, errors: &mut FieldErrors) -> LeadChanges {
        let name = match (&input.name, require_name) {
            (None, false) => None,
            (raw, _) => errors.check(
                "name",
                validate::required_text(raw.as_deref(), validate::NAME_MAX),
            ),
        };
        let email = input.email.as_deref().map(|raw| {
            if raw.trim().is_empty() {
                None
            } else {
                errors.check(
                    "email",
                    EmailAddress::parse(raw).map(EmailAddress::into_string),
                )
            }
        });
        let optional = |raw: Option<&String>,
                        field: &str,
                        max: usize,
                        multiline: bool,
                        errors: &mut FieldErrors| {
            raw.map(|raw| {
                let text = raw.trim();
                if text.is_empty() {
                    return None;
                }
                if text.chars().count() > max {
                    errors.add(field, format!("must be at most {max} characters"));
                    return None;
                }
                let bad =
                    |c: char| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'));
                if text.chars().any(bad) {
                    errors.add(field, "contains characters that are not allowed");
                    return None;
                }
                // One-line fields sit next to the name on every page: same rule as names.
                if !multiline && text.chars().any(validate::is_disguising) {
                    errors.add(field, validate::INVISIBLE);
                    return None;
                }
                Some(text.to_owned())
            })
        };
        LeadChanges {
            name,
            email,
            phone: optional(input.phone.as_ref(), "phone", PHONE_MAX, false, errors),
            company: optional(
                input.company.as_ref(),
                "company",
                COMPANY_MAX,
                false,
                errors,
            ),
            notes: optional(input.notes.as_ref(), "notes", NOTES_MAX, true, errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: LeadInput, require_name: bool) -> (LeadChanges, FieldErrors) {
        let mut errors = FieldErrors::default();
        let fields = LeadChanges::parse(&input, require_name, &mut errors);
        (fields, errors)
    }

    #[test]
    fn creation_needs_a_name_and_bounds_every_field() {
        let (_, errors) = parse(LeadInput::default(), true);
        assert!(errors.get("name").is_some());
        let (fields, errors) = parse(
            LeadInput {
                name: Some(" Jane ".into()),
                email: Some("".into()),
                notes: Some("line one\nline two".into()),
                ..Default::default()
            },
            true,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(fields.name.as_deref(), Some("Jane"));
        assert_eq!(fields.email, Some(None));
        assert_eq!(fields.notes, Some(Some("line one\nline two".into())));
        let (_, errors) = parse(
            LeadInput {
                name: Some("x".repeat(201)),
                email: Some("nope".into()),
                phone: Some("1".repeat(51)),
                company: Some("a\u{0}b".into()),
                notes: Some("n".repeat(10_001)),
            },
            true,
        );
        for f in ["name", "email", "phone", "company", "notes"] {
            assert!(errors.get(f).is_some(), "{f}");
        }
    }

    #[test]
    fn one_line_fields_refuse_invisible_characters() {
        let (_, errors) = parse(
            LeadInput {
                name: Some("a\u{202e}evil".into()),
                phone: Some("555\u{200b}1234".into()),
                company: Some("Acme\u{202e} Corp".into()),
                notes: Some("שלום\u{200f} - notes may carry direction marks".into()),
                ..Default::default()
            },
            true,
        );
        for f in ["name", "phone", "company"] {
            assert_eq!(errors.get(f), Some(validate::INVISIBLE), "{f}");
        }
        assert_eq!(errors.get("notes"), None);
    }

    #[test]
    fn open_means_owned_and_open() {
        assert!(is_open(Some("u"), LeadStatus::Open));
        assert!(!is_open(None, LeadStatus::Open));
        assert!(!is_open(Some("u"), LeadStatus::Won));
    }
}
