//! Countries: a lead's country is stored as its ISO 3166-1 alpha-2 code (upper case), and
//! read from a code (two or three letters) or an English name ("Germany", "united states").

use celes::Country;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The stored code for `raw`, or the sentence a form or the API shows.
pub fn parse(raw: &str) -> Result<&'static str, String> {
    let text = raw.trim();
    // "Côte d'Ivoire" -> "cotedivoire": the tables' keys have no accents, spaces or marks.
    let squeezed: String = text
        .nfd()
        .filter(|c| c.is_alphanumeric() && !is_combining_mark(*c))
        .collect();
    let found = match text.chars().count() {
        2 => Country::from_alpha2(text),
        3 => Country::from_alpha3(text).or_else(|_| Country::from_name(&squeezed)),
        _ => Country::from_name(&squeezed).or_else(|_| Country::from_alias(&squeezed)),
    };
    found
        .map(|c| c.alpha2)
        .map_err(|_| "must be a country code like DE or a country's English name".to_owned())
}

/// The English name pages show for a stored code ("United States of America").
pub fn name(code: &str) -> Option<String> {
    Country::from_alpha2(code)
        .ok()
        .map(|c| readable(c.long_name))
}

/// Every country as (code, name), by name: the options of a country field.
pub fn all() -> Vec<(&'static str, String)> {
    let mut list: Vec<_> = Country::get_countries()
        .iter()
        .map(|c| (c.alpha2, readable(c.long_name)))
        .collect();
    list.sort_by(|a, b| a.1.cmp(&b.1));
    list
}

/// "The Republic Of Korea" -> "Republic of Korea".
fn readable(long_name: &str) -> String {
    let name = long_name.strip_prefix("The ").unwrap_or(long_name);
    name.split(' ')
        .enumerate()
        .map(|(i, word)| match word {
            "Of" | "And" | "The" | "Da" | "Du" if i > 0 => word.to_lowercase(),
            _ => word.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_english_names_are_read() {
        for (raw, code) in [
            ("DE", "DE"),
            (" de ", "DE"),
            ("DEU", "DE"),
            ("Germany", "DE"),
            ("united states", "US"),
            ("United States of America", "US"),
            ("USA", "US"),
            ("Netherlands", "NL"),
            ("Holland", "NL"),
            ("South Korea", "KR"),
            ("Côte d'Ivoire", "CI"),
        ] {
            assert_eq!(parse(raw), Ok(code), "{raw}");
        }
        for bad in ["", "XX", "Atlantis", "1", "D"] {
            let why = parse(bad).unwrap_err();
            assert!(why.starts_with("must be a country code"), "{bad}: {why}");
        }
    }

    #[test]
    fn names_read_well() {
        assert_eq!(name("US").unwrap(), "United States of America");
        assert_eq!(name("KR").unwrap(), "Republic of Korea");
        assert_eq!(name("DE").unwrap(), "Germany");
        assert_eq!(name("ZZ"), None);
        let all = all();
        assert!(all.len() >= 249);
        assert!(all.windows(2).all(|w| w[0].1 <= w[1].1));
    }
}
