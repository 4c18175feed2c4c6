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
            email: self.email.into_value(),
            phone: self.phone.into_value(),
            company: self.company.into_value(),
            notes: self.notes.into_value(),
            country: self.country.into_value(),
            company_size: self.company_size.into_value(),
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
    pub name: PersonName,
    pub email: Option<EmailAddress>,
    pub phone: Option<Phone>,
    pub company: Option<Company>,
    pub notes: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
    /// Employees.
    pub company_size: Option<i64>,
    pub source: LeadSource,
}

/// What an edit does to an optional field: keep it, clear it, or set it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Change<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Change<U> {
        match self {
            Change::Keep => Change::Keep,
            Change::Clear => Change::Clear,
            Change::Set(v) => Change::Set(f(v)),
        }
    }

    /// The value it sets; keeping and clearing both leave a new lead without one.
    pub fn into_value(self) -> Option<T> {
        match self {
            Change::Set(v) => Some(v),
            Change::Keep | Change::Clear => None,
        }
    }
}

/// In a JSON body: `null` clears, a value sets; a field left out keeps (with
/// `#[serde(default)]`).
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Change<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(d).map(|v| v.map_or(Change::Clear, Change::Set))
    }
}

/// What an edit changes, validated: a name is kept (`None`) or set, an optional field is
/// kept, cleared or set.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LeadChanges {
    pub name: Option<PersonName>,
    pub email: Change<EmailAddress>,
    pub phone: Change<Phone>,
    pub company: Change<Company>,
    pub notes: Change<String>,
    pub country: Change<String>,
    pub company_size: Change<i64>,
}

/// Declares a text newtype made only by its `parse`.
macro_rules! text_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

text_newtype! {
    /// A lead's name: one line of 1..=200 visible characters, trimmed.
    PersonName
}

text_newtype! {
    /// A lead's phone number as given: one line of at most 50 characters, trimmed.
    Phone
}

text_newtype! {
    /// A lead's company: one line of at most 200 characters, trimmed.
    Company
}

impl PersonName {
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        validate::required_text(raw, validate::NAME_MAX).map(Self)
    }
}

impl Phone {
    /// A non-empty phone; an empty one is refused (a form's empty field clears it instead).
    pub fn parse(raw: &str) -> Result<Self, String> {
        optional_text(raw, PHONE_MAX, false).map(Self)
    }
}

impl Company {
    /// A non-empty company; an empty one is refused (a form's empty field clears it instead).
    pub fn parse(raw: &str) -> Result<Self, String> {
        optional_text(raw, COMPANY_MAX, false).map(Self)
    }
}

/// A trimmed, non-empty text of at most `max` characters; one line unless `multiline`.
fn optional_text(raw: &str, max: usize, multiline: bool) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("is required".into());
    }
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    let bad = |c: char| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'));
    if text.chars().any(bad) {
        return Err("contains characters that are not allowed".into());
    }
    // One-line fields sit next to the name on every page: same rule as names.
    if !multiline && text.chars().any(validate::is_disguising) {
        return Err(validate::INVISIBLE.into());
    }
    Ok(text.to_owned())
}

/// Raw input for the lead fields; `Some("")` clears an optional field.
#[derive(Debug, Default, Clone)]
pub struct LeadInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub notes: Option<String>,
    /// A code (`DE`) or an English name.
    pub country: Option<String>,
    /// A whole number of employees, as typed.
    pub company_size: Option<String>,
}

pub const COMPANY_SIZE_MAX: i64 = 100_000_000;

/// A number of employees: a whole number from 0 (thousands separators allowed).
pub fn parse_company_size(raw: &str) -> Result<i64, String> {
    let digits: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | '_' | ' '))
        .collect();
    match digits.parse::<i64>() {
        Ok(n) if n < 0 => Err("must not be negative".into()),
        Ok(n) if n > COMPANY_SIZE_MAX => Err("must be at most 100,000,000 employees".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("must be a whole number of employees".into()),
    }
}

impl LeadChanges {
    /// Validates input; with `require_name`, a missing name is an error (creation).
    pub fn parse(input: &LeadInput, require_name: bool, errors: &mut FieldErrors) -> LeadChanges {
        let name = match (&input.name, require_name) {
            (None, false) => None,
            (raw, _) => errors.check("name", PersonName::parse(raw.as_deref())),
        };
        // Absent keeps a field, empty clears it; a refused value is recorded and kept.
        fn change<T>(
            raw: Option<&String>,
            field: &str,
            parse: impl FnOnce(&str) -> Result<T, String>,
            errors: &mut FieldErrors,
        ) -> Change<T> {
            match raw {
                None => Change::Keep,
                Some(raw) if raw.trim().is_empty() => Change::Clear,
                Some(raw) => match errors.check(field, parse(raw)) {
                    Some(value) => Change::Set(value),
                    None => Change::Clear,
                },
            }
        }
        LeadChanges {
            name,
            email: change(input.email.as_ref(), "email", EmailAddress::parse, errors),
            phone: change(input.phone.as_ref(), "phone", Phone::parse, errors),
            company: change(input.company.as_ref(), "company", Company::parse, errors),
            notes: change(
                input.notes.as_ref(),
                "notes",
                |raw| optional_text(raw, NOTES_MAX, true),
                errors,
            ),
            country: change(
                input.country.as_ref(),
                "country",
                |raw| super::country::parse(raw).map(str::to_owned),
                errors,
            ),
            company_size: change(
                input.company_size.as_ref(),
                "company_size",
                parse_company_size,
                errors,
            ),
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
        assert_eq!(fields.name.as_ref().map(PersonName::as_str), Some("Jane"));
        assert_eq!(fields.email, Change::Clear);
        assert_eq!(fields.notes, Change::Set("line one\nline two".into()));
        let (_, errors) = parse(
            LeadInput {
                name: Some("x".repeat(201)),
                email: Some("nope".into()),
                phone: Some("1".repeat(51)),
                company: Some("a\u{0}b".into()),
                notes: Some("n".repeat(10_001)),
                country: Some("Atlantis".into()),
                company_size: Some("-3".into()),
            },
            true,
        );
        for f in [
            "name",
            "email",
            "phone",
            "company",
            "notes",
            "country",
            "company_size",
        ] {
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
    fn parsed_fields_serialise_as_their_text() {
        // The website form's idempotency hash is the JSON of these: it must stay plain text.
        let (fields, errors) = parse(
            LeadInput {
                name: Some("Jane".into()),
                email: Some("Jane@X.io".into()),
                phone: Some(" 555 ".into()),
                company: Some("".into()),
                ..Default::default()
            },
            true,
        );
        assert!(errors.is_empty(), "{errors:?}");
        let new = fields.into_new(LeadSource::Website).unwrap();
        let json = serde_json::json!([new.name, new.email, new.phone, new.company, new.notes]);
        assert_eq!(json.to_string(), r#"["Jane","jane@x.io","555",null,null]"#);
    }

    #[test]
    fn open_means_owned_and_open() {
        assert!(is_open(Some("u"), LeadStatus::Open));
        assert!(!is_open(None, LeadStatus::Open));
        assert!(!is_open(Some("u"), LeadStatus::Won));
    }
}
