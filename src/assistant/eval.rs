//! The assistant's evaluation set (`tests/data/assistant_eval.json`): conversations as
//! visitors write them, each with the lead it should leave. Both providers are scored on it
//! per field; this module plays it through the guided assistant the way `service::chat`
//! does (answers until the lead exists, follow-ups after).

use serde::Deserialize;

use super::guided;
use super::{Context, Details, Line, Speaker};

pub const DATA: &str = include_str!("../../tests/data/assistant_eval.json");

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

/// Plays a case through the guided assistant as the chat service does: `respond` until it
/// creates the lead, `follow_up` after, which corrects the lead.
pub fn play_guided(case: &Case) -> Option<Expected> {
    let mut details = Details::default();
    let mut transcript = vec![Line {
        from: Speaker::Assistant,
        text: super::greeting("Acme"),
    }];
    let mut lead: Option<Expected> = None;
    for message in &case.messages {
        let text = if let Some(lead) = &mut lead {
            let f = guided::follow_up(&details, message);
            let c = &f.changes;
            for (slot, value) in [
                (&mut lead.name, &c.name),
                (&mut lead.email, &c.email),
                (&mut lead.phone, &c.phone),
                (&mut lead.company, &c.company),
            ] {
                if value.is_some() {
                    slot.clone_from(value);
                }
            }
            details = f.details;
            f.text
        } else {
            let reply = guided::respond(&Context {
                account_name: "Acme",
                description: "",
                details: &details,
                transcript: &transcript,
                message,
            });
            details = reply.details;
            if reply.create_lead {
                lead = Some(Expected {
                    name: details.name.clone(),
                    email: details.email.clone(),
                    company: details.company.clone(),
                    phone: details.phone.clone(),
                });
            }
            reply.text
        };
        transcript.push(Line {
            from: Speaker::Visitor,
            text: message.clone(),
        });
        transcript.push(Line {
            from: Speaker::Assistant,
            text,
        });
    }
    lead
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_covers_what_the_issue_asks() {
        let cases = cases();
        assert!(cases.len() >= 100, "{} cases", cases.len());
        let mut langs: Vec<&str> = cases.iter().map(|c| c.lang.as_str()).collect();
        langs.sort_unstable();
        langs.dedup();
        assert!(langs.len() >= 6, "{langs:?}");
        for tag in [
            "prose",
            "list",
            "out-of-order",
            "correction",
            "refusal",
            "colleague",
            "typo",
            "spelled",
            "issue",
            "after-lead",
            "consent",
        ] {
            assert!(
                cases.iter().any(|c| c.tags.iter().any(|t| t == tag)),
                "no case tagged {tag}"
            );
        }
        let mut ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), cases.len(), "case ids are unique");
    }

    #[test]
    fn the_guided_assistant_scores_at_least_95_percent_per_field() {
        let mut score = Score::default();
        for case in cases() {
            let got = play_guided(&case);
            score.add(&case, got.as_ref());
        }
        score.assert_passes("guided");
    }
}
