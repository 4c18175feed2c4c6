//! Validated input, parsed once at the edge. Each failure is a short reason for the field.

use std::collections::BTreeMap;

/// Reasons keyed by field name, as the API's `fields` object and the forms show them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, why: impl Into<String>) {
        self.0.entry(field.to_owned()).or_insert_with(|| why.into());
    }

    /// Keeps the value when valid, records the reason otherwise.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(why) => {
                self.add(field, why);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
}

/// A well-formed email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("is required".into());
        }
        if email.chars().count() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        let invalid = || Err("is not a valid email address".to_owned());
        let Some((local, domain)) = email.rsplit_once('@') else {
            return invalid();
        };
        let bad_char =
            |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"@".contains(c);
        if local.is_empty()
            || local.len() > 64
            || local.chars().any(bad_char)
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
        {
            return invalid();
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.len() > 63
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
        {
            return invalid();
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A trimmed single-line text of 1..=max characters (names, titles).
pub fn required_text(raw: Option<&str>, max: usize) -> Result<String, String> {
    let text = raw.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Err("is required".into());
    }
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("must be a single line of text".into());
    }
    Ok(text.to_owned())
}

/// A password: at least 8 characters; bounded so hashing stays cheap.
pub fn password(raw: Option<&str>) -> Result<String, String> {
    let pw = raw.unwrap_or_default();
    let len = pw.chars().count();
    if len < 8 {
        return Err("must be at least 8 characters".into());
    }
    if len > 256 {
        return Err("must be at most 256 characters".into());
    }
    Ok(pw.to_owned())
}

pub const NAME_MAX: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            EmailAddress::parse(" Jane@Acme.IO ").unwrap().as_str(),
            "jane@acme.io"
        );
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.org",
            "x@xn--bcher-kva.de",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "plain",
            "@acme.io",
            "jane@",
            "jane@acme",
            "ja ne@acme.io",
            "jane@acme..io",
            "jane@-acme.io",
            ".jane@acme.io",
            "jane..x@acme.io",
            "a@b@c.io",
            "<a>@b.io",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn texts_and_passwords() {
        assert_eq!(required_text(Some("  Acme "), 10).unwrap(), "Acme");
        assert!(required_text(Some("   "), 10).is_err());
        assert!(required_text(None, 10).is_err());
        assert!(required_text(Some("a\nb"), 10).is_err());
        assert!(required_text(Some(&"é".repeat(11)), 10).is_err());
        assert!(required_text(Some(&"é".repeat(10)), 10).is_ok());
        assert!(password(Some("1234567")).is_err());
        assert!(password(Some("12345678")).is_ok());
        assert!(password(Some(&"x".repeat(257))).is_err());
    }

    #[test]
    fn first_reason_per_field_wins() {
        let mut errors = FieldErrors::default();
        errors.add("name", "is required");
        errors.add("name", "other");
        assert_eq!(errors.get("name"), Some("is required"));
    }
}

#[cfg(test)]
mod hostile {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::lead::{LeadFields, LeadInput};

    proptest! {
        /// Whatever arrives, validation answers (never panics) and what it accepts is
        /// bounded and single-line.
        #[test]
        fn validators_take_any_string(raw in any::<String>()) {
            if let Ok(email) = EmailAddress::parse(&raw) {
                prop_assert!(email.as_str().chars().count() <= EmailAddress::MAX_LEN);
                prop_assert!(!email.as_str().chars().any(char::is_whitespace));
            }
            if let Ok(text) = required_text(Some(&raw), NAME_MAX) {
                prop_assert!(!text.is_empty() && text.chars().count() <= NAME_MAX);
                prop_assert!(!text.chars().any(char::is_control));
            }
            let _ = password(Some(&raw));
            let input = LeadInput {
                name: Some(raw.clone()),
                email: Some(raw.clone()),
                phone: Some(raw.clone()),
                company: Some(raw.clone()),
                notes: Some(raw.clone()),
            };
            let mut errors = FieldErrors::default();
            let _ = LeadFields::parse(&input, true, &mut errors);
        }
    }
}
