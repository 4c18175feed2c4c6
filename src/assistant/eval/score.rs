//! The evaluation set and its per-field score, shared by the guided assistant's unit test
//! and the LLM provider's replay (`tests/api/chat_llm.rs` includes this file).

use serde::Deserialize;

pub const DATA: &str = include_str!("../../../tests/data/assistant_eval.json");

/// The lead a case should leave.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Expected {
    pub name: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub id: String,
    pub lang: String,
    pub tags: Vec<String>,
    pub messages: Vec<String>,
    pub lead: Option<Expected>,
    /// Addresses in the conversation that are not the visitor's own.
    pub not_theirs: Vec<String>,
    /// One recorded model answer per turn, for the LLM replay.
    pub model: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Set {
    cases: Vec<Case>,
}

pub fn cases() -> Vec<Case> {
    serde_json::from_str::<Set>(DATA)
        .expect("tests/data/assistant_eval.json is an evaluation set")
        .cases
}

/// The fields scored, in the order printed.
pub const FIELDS: [&str; 5] = ["lead", "name", "email", "company", "phone"];

/// Per-field hits and the misses, with what was expected and what came out.
#[derive(Debug, Default)]
pub struct Score {
    pub hits: [usize; 5],
    pub totals: [usize; 5],
    pub misses: Vec<String>,
    /// Leads made without consent, or with an address that is not the visitor's own.
    pub violations: Vec<String>,
}

impl Score {
    /// Scores one case from the lead it left (`None`: no lead).
    pub fn add(&mut self, case: &Case, got: Option<&Expected>) {
        let mut check = |i: usize, ok: bool, what: String| {
            self.totals[i] += 1;
            if ok {
                self.hits[i] += 1;
            } else {
                self.misses
                    .push(format!("{} {}: {what}", case.id, FIELDS[i]));
            }
        };
        check(
            0,
            case.lead.is_some() == got.is_some(),
            format!("expected a lead: {}, got {got:?}", case.lead.is_some()),
        );
        if let Some(want) = &case.lead {
            let field = |e: &Expected, i: usize| match i {
                1 => e.name.clone(),
                2 => e.email.clone(),
                3 => e.company.clone(),
                _ => e.phone.clone(),
            };
            for i in 1..5 {
                let got_value = got.and_then(|g| field(g, i));
                let want_value = field(want, i);
                check(
                    i,
                    got.is_some() && got_value == want_value,
                    format!("expected {want_value:?}, got {got_value:?}"),
                );
            }
        }
        if let Some(got) = got {
            if case.lead.is_none() {
                self.violations.push(format!(
                    "{}: a lead where none was wanted: {got:?}",
                    case.id
                ));
            }
            if got
                .email
                .as_ref()
                .is_some_and(|e| case.not_theirs.contains(e))
            {
                self.violations
                    .push(format!("{}: someone else's address: {got:?}", case.id));
            }
        }
    }

    pub fn rate(&self, i: usize) -> f64 {
        if self.totals[i] == 0 {
            1.0
        } else {
            self.hits[i] as f64 / self.totals[i] as f64
        }
    }

    /// "lead 100.0% (141/141), name 97.6% ..." for the report.
    pub fn summary(&self) -> String {
        FIELDS
            .iter()
            .enumerate()
            .map(|(i, f)| {
                format!(
                    "{f} {:.1}% ({}/{})",
                    self.rate(i) * 100.0,
                    self.hits[i],
                    self.totals[i]
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Fails below 95% on any field, or on any violation, printing every miss.
    pub fn assert_passes(&self, provider: &str) {
        println!("{provider}: {}", self.summary());
        for miss in &self.misses {
            println!("  miss: {miss}");
        }
        assert!(
            self.violations.is_empty(),
            "{provider}: leads without consent or with someone else's address: {:#?}",
            self.violations
        );
        for (i, field) in FIELDS.iter().enumerate() {
            assert!(
                self.rate(i) >= 0.95,
                "{provider}: {field} scored {:.1}%, under 95%; misses: {:#?}",
                self.rate(i) * 100.0,
                self.misses
            );
        }
    }
}
