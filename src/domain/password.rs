//! How easy a new password is to guess: an estimate of the guesses an attacker who knows
//! the usual patterns needs (common passwords, the member's own name and email, sequences,
//! rows of keys, repeats, years), after the method of zxcvbn. It keeps nothing on the
//! heap between calls: the common-password list is a sorted table in the binary, searched in place, so
//! a server that never changes a password pays nothing for it and one that does pays
//! no resident dictionaries.

mod common;

/// A password needs about a million guesses or more (zxcvbn's score 2).
const MIN_LOG10_GUESSES: f64 = 6.0;

/// Guesses per character that no pattern explains.
const BRUTE_FORCE_PER_CHAR: f64 = 10.0;

const KEYBOARD_ROWS: [&str; 4] = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"];

/// Why a password is easy to guess: the pattern that explains most of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    Common,
    Personal,
    Sequence,
    KeyboardRow,
    Repeat,
    Year,
}

impl Weakness {
    pub fn warning(self) -> &'static str {
        match self {
            Weakness::Common => "it is close to a common password",
            Weakness::Personal => "it contains your name, email or account name",
            Weakness::Sequence => "sequences like abc or 6543 are easy to guess",
            Weakness::KeyboardRow => "rows of keys like qwerty are easy to guess",
            Weakness::Repeat => "repeats like aaa or abcabc are easy to guess",
            Weakness::Year => "years are easy to guess",
        }
    }
}

/// The estimate: log10 of the guesses needed, and the weakest pattern found in the
/// cheapest reading of the password (none when it reads as random characters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub log10_guesses: f64,
    pub weakness: Option<Weakness>,
}

impl Estimate {
    pub fn is_strong_enough(&self) -> bool {
        self.log10_guesses >= MIN_LOG10_GUESSES
    }
}

/// One way to read `chars[start..end]`.
#[derive(Debug, Clone, Copy)]
struct Reading {
    start: usize,
    end: usize,
    log10_guesses: f64,
    weakness: Weakness,
}

/// Estimates `password`, with `personal` words (the member's name, email parts, account
/// name; lower case) counted as the attacker's first guesses.
pub fn estimate(password: &str, personal: &[&str]) -> Estimate {
    let chars: Vec<char> = password.chars().collect();
    let lower: Vec<char> = password.chars().flat_map(char::to_lowercase).collect();
    // Lower-casing may change the length (rare letters); then read the original as is.
    let lower = if lower.len() == chars.len() {
        lower
    } else {
        chars.clone()
    };
    let mut readings = Vec::new();
    dictionary(&chars, &lower, personal, &mut readings);
    sequences(&lower, &mut readings);
    keyboard_rows(&lower, &mut readings);
    repeats(&lower, &mut readings);
    years(&lower, &mut readings);
    cheapest(chars.len(), &readings)
}

/// The cheapest cover of the password by readings and brute-forced runs: the product of
/// each part's guesses times the number of orders the parts could come in (k!).
fn cheapest(len: usize, readings: &[Reading]) -> Estimate {
    if len == 0 {
        return Estimate {
            log10_guesses: 0.0,
            weakness: None,
        };
    }
    // best[i][k]: the least log10 guesses covering chars[..i] with k parts (brute-forced
    // runs count as one part each), with the weakest pattern used.
    let max_parts = len.min(24);
    let mut best = vec![vec![None::<(f64, Option<(f64, Weakness)>)>; max_parts + 1]; len + 1];
    best[0][0] = Some((0.0, None));
    for end in 1..=len {
        for k in 1..=max_parts {
            let mut candidate: Option<(f64, Option<(f64, Weakness)>)> = None;
            let mut consider = |previous: Option<(f64, Option<(f64, Weakness)>)>,
                                cost: f64,
                                pattern: Option<(f64, Weakness)>| {
                if let Some((before, weak)) = previous {
                    let total = before + cost;
                    // The pattern that saved the most guesses names the weakness.
                    let weak = match (weak, pattern) {
                        (Some(a), Some(b)) => Some(if b.0 > a.0 { b } else { a }),
                        (a, b) => a.or(b),
                    };
                    if candidate.is_none_or(|(c, _)| total < c) {
                        candidate = Some((total, weak));
                    }
                }
            };
            for (start, row) in best.iter().enumerate().take(end) {
                let brute = (end - start) as f64 * BRUTE_FORCE_PER_CHAR.log10();
                consider(row[k - 1], brute, None);
            }
            for r in readings.iter().filter(|r| r.end == end) {
                let saved =
                    (r.end - r.start) as f64 * BRUTE_FORCE_PER_CHAR.log10() - r.log10_guesses;
                consider(
                    best[r.start][k - 1],
                    r.log10_guesses,
                    Some((saved, r.weakness)),
                );
            }
            best[end][k] = candidate;
        }
    }
    let mut answer = Estimate {
        log10_guesses: f64::INFINITY,
        weakness: None,
    };
    let mut log10_factorial = 0.0;
    for (k, parts) in best[len].iter().enumerate().skip(1) {
        log10_factorial += (k as f64).log10();
        if let Some((guesses, weak)) = *parts {
            let total = guesses + log10_factorial;
            if total < answer.log10_guesses {
                answer = Estimate {
                    log10_guesses: total,
                    weakness: weak.map(|(_, w)| w),
                };
            }
        }
    }
    answer
}

/// Common passwords and personal words, also written with digits or symbols for letters
/// ("p@ssw0rd"); capitals cost a little.
fn dictionary(chars: &[char], lower: &[char], personal: &[&str], out: &mut Vec<Reading>) {
    let mut spellings = vec![lower.to_vec()];
    for one in ['i', 'l'] {
        let spelling = unleet(lower, one);
        if !spellings.contains(&spelling) {
            spellings.push(spelling);
        }
    }
    for spelling in &spellings {
        let text: String = spelling.iter().collect();
        // Byte offset of each character, and of the end.
        let at: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        let mut push = |start: usize, end: usize, rank: usize, weakness: Weakness| {
            let substitutions = (start..end).filter(|&i| spelling[i] != lower[i]).count();
            out.push(Reading {
                start,
                end,
                log10_guesses: (rank as f64).log10()
                    + capitals(&chars[start..end])
                    + substitutions as f64 * 2f64.log10(),
                weakness,
            });
        };
        for start in 0..spelling.len() {
            for end in (start + 3)..=spelling.len().min(start + common::LONGEST) {
                let word = &text[at[start]..at[end]];
                if let Ok(i) = common::COMMON.binary_search_by(|(w, _)| (*w).cmp(word)) {
                    push(
                        start,
                        end,
                        usize::from(common::COMMON[i].1),
                        Weakness::Common,
                    );
                }
            }
        }
        for (rank, word) in personal.iter().enumerate() {
            for (byte_at, _) in text.match_indices(word) {
                let start = at.partition_point(|&b| b < byte_at);
                push(
                    start,
                    start + word.chars().count(),
                    rank + 1,
                    Weakness::Personal,
                );
            }
        }
    }
}

/// `text` with the usual stand-ins for letters read back as letters (`one` for `1`).
fn unleet(text: &[char], one: char) -> Vec<char> {
    text.iter()
        .map(|&c| match c {
            '0' => 'o',
            '1' => one,
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            '!' => 'i',
            other => other,
        })
        .collect()
}

/// log10 of the extra guesses capitals cost: none, an initial or all capitals double the
/// guesses; capitals elsewhere cost one guess in two per letter.
fn capitals(word: &[char]) -> f64 {
    let upper = word.iter().filter(|c| c.is_uppercase()).count();
    let letters = word.iter().filter(|c| c.is_alphabetic()).count();
    if upper == 0 {
        0.0
    } else if upper == letters || (upper == 1 && word[0].is_uppercase()) {
        2f64.log10()
    } else {
        letters as f64 * 2f64.log10() / 2.0
    }
}

/// Runs of three or more characters one apart: "abc", "6543".
fn sequences(lower: &[char], out: &mut Vec<Reading>) {
    let mut start = 0;
    while start + 2 < lower.len() {
        let step = lower[start + 1] as i64 - lower[start] as i64;
        let mut end = start + 1;
        if step.abs() == 1 {
            while end + 1 < lower.len() && lower[end + 1] as i64 - lower[end] as i64 == step {
                end += 1;
            }
        }
        let len = end + 1 - start;
        if len >= 3 {
            let first = lower[start];
            let base: f64 = if matches!(first, 'a' | 'z' | '0' | '1' | '9') {
                4.0
            } else if first.is_ascii_digit() {
                10.0
            } else {
                26.0
            };
            let direction = if step < 0 { 2.0 } else { 1.0 };
            out.push(Reading {
                start,
                end: end + 1,
                log10_guesses: (base * len as f64 * direction).log10(),
                weakness: Weakness::Sequence,
            });
            start = end;
        } else {
            start += 1;
        }
    }
}

/// Four or more neighbouring keys of one row, either way: "qwer", "lkjhg", "7890".
fn keyboard_rows(lower: &[char], out: &mut Vec<Reading>) {
    for start in 0..lower.len() {
        for end in (start + 4)..=lower.len() {
            let run: String = lower[start..end].iter().collect();
            let reversed: String = run.chars().rev().collect();
            let on_a_row = KEYBOARD_ROWS
                .iter()
                .any(|row| row.contains(&run) || row.contains(&reversed));
            if !on_a_row {
                break;
            }
            out.push(Reading {
                start,
                end,
                log10_guesses: (40.0 * (end - start) as f64).log10(),
                weakness: Weakness::KeyboardRow,
            });
        }
    }
}

/// A unit written two or more times in a row ("aaaa", "abcabc", "passpass"): as hard as
/// the unit (read with the patterns found inside it), times the number of repeats. Only
/// the shortest unit at each place, and only where a run of it starts: a bounded amount
/// of work for any password.
fn repeats(lower: &[char], out: &mut Vec<Reading>) {
    let mut covered_until = 0;
    for start in 0..lower.len() {
        let Some((unit, times)) = (1..=(lower.len() - start) / 2).find_map(|unit| {
            let same = |n: usize| {
                start + (n + 1) * unit <= lower.len()
                    && lower[start + n * unit..start + (n + 1) * unit] == lower[start..start + unit]
            };
            let times = (1..).find(|&n| !same(n)).unwrap_or(1);
            (times >= 2 && times * unit >= 3).then_some((unit, times))
        }) else {
            continue;
        };
        let end = start + times * unit;
        if end <= covered_until {
            continue;
        }
        covered_until = end;
        let inside: Vec<Reading> = out
            .iter()
            .filter(|r| r.start >= start && r.end <= start + unit)
            .map(|r| Reading {
                start: r.start - start,
                end: r.end - start,
                ..*r
            })
            .collect();
        let unit_guesses = if unit == 1 {
            cardinality(lower[start]).log10()
        } else {
            cheapest(unit, &inside).log10_guesses
        };
        out.push(Reading {
            start,
            end,
            log10_guesses: unit_guesses + (times as f64).log10(),
            weakness: Weakness::Repeat,
        });
    }
}

/// Years from 1900 to 2099.
fn years(lower: &[char], out: &mut Vec<Reading>) {
    for start in 0..lower.len().saturating_sub(3) {
        let four = &lower[start..start + 4];
        let is_year = four.iter().all(char::is_ascii_digit)
            && matches!((four[0], four[1]), ('1', '9') | ('2', '0'));
        if is_year {
            out.push(Reading {
                start,
                end: start + 4,
                log10_guesses: 200f64.log10(),
                weakness: Weakness::Year,
            });
        }
    }
}

/// How many characters of the same kind there are to choose from.
fn cardinality(c: char) -> f64 {
    if c.is_ascii_digit() {
        10.0
    } else if c.is_ascii_lowercase() || c.is_ascii_uppercase() {
        26.0
    } else if c.is_ascii() {
        33.0
    } else {
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log10(pw: &str) -> f64 {
        estimate(pw, &[]).log10_guesses
    }

    #[test]
    fn patterns_are_cheap_and_random_text_is_not() {
        assert!(log10("password") < 1.0);
        assert!(log10("P@ssw0rd") < 3.0, "{}", log10("P@ssw0rd"));
        assert!(log10("abcdefgh") < 2.0);
        assert!(log10("87654321") < 3.0);
        assert!(log10("qwertyuiop") < 2.0);
        assert!(log10("zxcvbnm,") < 4.0);
        assert!(log10("aaaaaaaaaaaa") < 3.0);
        assert!(log10("passpasspass") < 4.0, "{}", log10("passpasspass"));
        assert!(log10("dragon1990") < 6.0, "{}", log10("dragon1990"));
        assert!(log10("Zq8#vL2!pW") >= 9.0);
        assert!(log10("correct-horse-battery-42") > 12.0);
    }

    #[test]
    fn personal_words_are_first_guesses() {
        let personal = ["bram", "vandermeer"];
        assert!(estimate("bramvandermeer", &[]).is_strong_enough());
        let own = estimate("BramVanderMeer", &personal);
        assert!(!own.is_strong_enough());
        assert_eq!(own.weakness, Some(Weakness::Personal));
    }

    #[test]
    fn the_weakness_named_is_the_pattern_that_explains_most() {
        assert_eq!(
            estimate("password123", &[]).weakness,
            Some(Weakness::Common)
        );
        assert_eq!(
            estimate("abcdefghij", &[]).weakness,
            Some(Weakness::Sequence)
        );
        assert_eq!(
            estimate("################", &[]).weakness,
            Some(Weakness::Repeat)
        );
        assert_eq!(estimate("Zq8#vL2!pW", &[]).weakness, None);
    }

    #[test]
    fn any_text_gets_an_answer() {
        for pw in [
            "",
            "é",
            "ǅǅǅǅ",
            "İstanbul1",
            &"ab".repeat(128),
            "\u{10FFFF}x1",
        ] {
            let e = estimate(pw, &[]);
            assert!(e.log10_guesses.is_finite(), "{pw:?}");
        }
    }
}
