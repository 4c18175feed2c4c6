//! The assistant's evaluation set (`tests/data/assistant_eval.json`): conversations as
//! visitors write them, each with the lead it should leave. Both providers are scored on it
//! per field; this module plays it through the guided assistant the way `service::chat`
//! does (answers until the lead exists, follow-ups after).

use super::guided;
use super::{Context, Details, Line, Speaker};

mod score;

pub use score::*;

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
