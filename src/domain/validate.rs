//! Validated input, parsed once at the edge. Each failure is a short reason for the field.

use std::collections::BTreeMap;

use super::password;

use unicode_normalization::UnicodeNormalization;
use unicode_security::MixedScript;

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

    /// Every reason as one sentence for a page's banner: "status must be ...; q is ...".
    pub fn sentence(&self) -> String {
        self.0
            .iter()
            .map(|(field, why)| format!("{field} {why}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A well-formed email address: trimmed, NFKC-normalised (full-width letters become ASCII)
/// and lower-cased, so look-alike spellings of one address are one user. Invisible and
/// text-direction characters, and parts mixing alphabets (a Cyrillic "а" among Latin
/// letters), are refused rather than silently dropped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("is required".into());
        }
        let too_long = || Err(format!("must be at most {} characters", Self::MAX_LEN));
        // Bounded before normalising: NFKC can expand a character many times over.
        if raw.chars().count() > Self::MAX_LEN {
            return too_long();
        }
        // Lower-casing can leave a sequence NFKC would compose: normalise once more after it.
        let email: String = raw
            .nfkc()
            .collect::<String>()
            .to_lowercase()
            .nfkc()
            .collect();
        if email.chars().count() > Self::MAX_LEN {
            return too_long();
        }
        if email.chars().any(is_default_ignorable) {
            return Err(INVISIBLE.into());
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
        // Each domain label is its own name (an all-Cyrillic label is fine), the local part one.
        if !local.is_single_script() || labels.iter().any(|l| !l.is_single_script()) {
            return Err("mixes letters of different alphabets that look alike".into());
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

/// The reason given for a name holding invisible or text-direction characters.
pub const INVISIBLE: &str = "must not contain invisible or text-direction characters";

/// Unicode's Default_Ignorable_Code_Point: characters that render as nothing (zero-width
/// spaces and joiners, fillers, tags, variation selectors) or only steer the text around
/// them (bidi controls such as U+202E).
pub fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{AD}' | '\u{34F}' | '\u{61C}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Characters a name may not hold: every default-ignorable one except the variation
/// selectors, which only pick how an emoji or ideograph is drawn and hide nothing.
pub fn is_disguising(c: char) -> bool {
    is_default_ignorable(c) && !matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
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
    if text.chars().any(is_disguising) {
        return Err(INVISIBLE.into());
    }
    Ok(text.to_owned())
}

/// A new password: at least 8 characters, bounded so hashing stays cheap, and not easy to
/// guess (about a million guesses or more), also from `user_inputs` (the member's email,
/// name, account name).
pub fn new_password(raw: Option<&str>, user_inputs: &[&str]) -> Result<String, String> {
    let pw = raw.unwrap_or_default();
    let len = pw.chars().count();
    if len < 8 {
        return Err("must be at least 8 characters".into());
    }
    if len > 256 {
        return Err("must be at most 256 characters".into());
    }
    // The email's and name's parts too: "jane@acme.io" should also rule out "jane" and "acme".
    let words: Vec<String> = user_inputs
        .iter()
        .flat_map(|input| {
            std::iter::once(*input).chain(input.split(|c: char| !c.is_alphanumeric()))
        })
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let estimate = password::estimate(pw, &words);
    if !estimate.is_strong_enough() {
        return Err(too_easy(estimate.weakness));
    }
    Ok(pw.to_owned())
}

/// "is too easy to guess", with the pattern that gives it away when there is one. No final
/// full stop: pages show it after the field's label and add one.
fn too_easy(weakness: Option<password::Weakness>) -> String {
    match weakness {
        Some(weakness) => format!(
            "is too easy to guess ({}): add a few more words or characters",
            weakness.warning()
        ),
        None => "is too easy to guess: add a few more words or characters".into(),
    }
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
    fn look_alike_emails_are_one_address_or_refused() {
        let one = |raw: &str| EmailAddress::parse(raw).map(EmailAddress::into_string);
        // Full-width letters and the full-width at sign become ASCII.
        assert_eq!(one("ｊａｎｅ@acme.io").unwrap(), "jane@acme.io");
        assert_eq!(one("ＪＡＮＥ＠ＡＣＭＥ．ＩＯ").unwrap(), "jane@acme.io");
        for invisible in [
            "ja\u{200b}ne@acme.io",
            "jane@ac\u{200d}me.io",
            "\u{feff}jane@acme.io",
            "jane\u{202e}@acme.io",
            "jane@acme.io\u{2066}",
            "ja\u{ad}ne@acme.io",
        ] {
            assert_eq!(one(invisible).unwrap_err(), INVISIBLE, "{invisible:?}");
        }
        // A Cyrillic "а" among Latin letters, in the local part or a domain label.
        for mixed in ["j\u{430}ne@acme.io", "jane@\u{430}cme.io"] {
            assert!(one(mixed).unwrap_err().contains("alphabets"), "{mixed:?}");
        }
        // One alphabet per part is a real address, whatever the alphabet.
        assert_eq!(one("иван@пример.рф").unwrap(), "иван@пример.рф");
        assert_eq!(one("ivan@пример.com").unwrap(), "ivan@пример.com");
        assert!(one("jane+ünï@acme.io").is_ok());
    }

    #[test]
    fn names_refuse_invisible_and_direction_characters() {
        for bad in [
            "Sam Sales\u{202e} (Owner)",
            "a\u{202e}evil\u{200b}",
            "Sam\u{2066}x\u{2069}",
            "Sam\u{200f}",
            "Sam\u{61c}",
            "Sam\u{2060}",
            "Sam\u{feff}",
            "\u{3164}",
            "Sam\u{e0041}",
        ] {
            assert_eq!(
                required_text(Some(bad), NAME_MAX).unwrap_err(),
                INVISIBLE,
                "{bad:?}"
            );
        }
        for ok in ["José Núñez", "محمد", "יוסי כהן", "李小龍", "Zoë ❤\u{fe0f}"]
        {
            assert_eq!(required_text(Some(ok), NAME_MAX).unwrap(), ok);
        }
    }

    #[test]
    fn texts_and_passwords() {
        assert_eq!(required_text(Some("  Acme "), 10).unwrap(), "Acme");
        assert!(required_text(Some("   "), 10).is_err());
        assert!(required_text(None, 10).is_err());
        assert!(required_text(Some("a\nb"), 10).is_err());
        assert!(required_text(Some(&"é".repeat(11)), 10).is_err());
        assert!(required_text(Some(&"é".repeat(10)), 10).is_ok());
        assert_eq!(
            new_password(Some("1234567"), &[]).unwrap_err(),
            "must be at least 8 characters"
        );
        assert!(new_password(Some("correct-horse-battery-42"), &[]).is_ok());
        assert!(new_password(Some(&"x".repeat(257)), &[]).is_err());
    }

    #[test]
    fn passwords_easy_to_guess_are_refused_with_advice() {
        for weak in [
            "password",
            "password123",
            "12345678",
            "qwertyuiop",
            "iloveyou",
            "aaaaaaaaaaaaaaaaaaaa",
            "################",
            "abcdefgh",
        ] {
            let why = new_password(Some(weak), &[]).unwrap_err();
            assert!(why.starts_with("is too easy to guess"), "{weak}: {why}");
            assert!(
                why.contains("add a few more words or characters"),
                "{weak}: {why}"
            );
            assert!(!why.ends_with('.'), "{why}");
        }
        let why = new_password(Some("password123"), &[]).unwrap_err();
        assert!(
            why.contains("common password"),
            "the pattern is named: {why}"
        );
        // Strong on its own, weak for the member it belongs to.
        let own = "bramvandermeer";
        assert!(new_password(Some(own), &[]).is_ok());
        let inputs = ["bram@vandermeer.fintech", "Bram van der Meer"];
        assert!(new_password(Some(own), &inputs).is_err());
        for strong in [
            "correct-horse-battery-42",
            "tulip umbrella cobalt",
            "Zq8#vL2!pW",
        ] {
            assert!(new_password(Some(strong), &inputs).is_ok(), "{strong}");
        }
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
    use crate::domain::lead::{LeadChanges, LeadInput};

    proptest! {
        /// Whatever arrives, validation answers (never panics) and what it accepts is
        /// bounded and single-line.
        #[test]
        fn validators_take_any_string(raw in any::<String>()) {
            if let Ok(email) = EmailAddress::parse(&raw) {
                prop_assert!(email.as_str().chars().count() <= EmailAddress::MAX_LEN);
                prop_assert!(!email.as_str().chars().any(char::is_whitespace));
                prop_assert!(!email.as_str().chars().any(is_default_ignorable));
                // Normalising is idempotent: the stored form parses to itself.
                prop_assert_eq!(EmailAddress::parse(email.as_str()), Ok(email.clone()));
            }
            if let Ok(text) = required_text(Some(&raw), NAME_MAX) {
                prop_assert!(!text.is_empty() && text.chars().count() <= NAME_MAX);
                prop_assert!(!text.chars().any(char::is_control));
                prop_assert!(!text.chars().any(is_disguising));
            }
            let _ = new_password(Some(&raw), &[]);
            let input = LeadInput {
                name: Some(raw.clone()),
                email: Some(raw.clone()),
                phone: Some(raw.clone()),
                company: Some(raw.clone()),
                notes: Some(raw.clone()),
                country: Some(raw.clone()),
                company_size: Some(raw.clone()),
            };
            let mut errors = FieldErrors::default();
            let _ = LeadChanges::parse(&input, true, &mut errors);
        }
    }
}
