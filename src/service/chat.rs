//! One turn of the website chat: the assistant answers, and once it has what a rep needs the
//! conversation's one lead is created through the same insert and routing path as every
//! other lead. Conversation state lives in the database, so any process can answer.

use super::intake::insert_new;
use super::rate_limit;
use super::secrets;
use super::website::{self, Submission};
use crate::assistant::{self, Assistant, Context, Details, Line, Speaker};
use crate::domain::lead::{LeadSource, NOTES_MAX};
use crate::error::{Error, Result};
use crate::store::conversations::{self, Conversation};
use crate::store::{Db, now_ms};

/// Longest visitor message.
pub const MESSAGE_MAX: usize = 2_000;
/// A conversation stops growing here (the visitor is told so).
pub const TRANSCRIPT_MAX: usize = 80;

pub const UNAVAILABLE: &str = "The chat assistant isn't available right now. Please use the contact form and someone will get back to you.";
const ALREADY: &str = "Thanks! The team already has your details and will be in touch soon.";
const TOO_LONG: &str =
    "This chat has grown long. Please use the contact form, or reload the page to start again.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub conversation_id: String,
    pub reply: String,
    pub lead_id: Option<String>,
}

/// Who is chatting, for the rate limit.
pub struct Caller<'a> {
    pub address: &'a str,
    pub rate_limit: u32,
}

#[tracing::instrument(skip_all, fields(account_id))]
pub async fn turn(
    db: &Db,
    assistant: &dyn Assistant,
    form_key: &str,
    conversation_id: Option<&str>,
    message: &str,
    caller: Caller<'_>,
) -> Result<Turn> {
    let form = website::public_form(db, form_key).await?;
    tracing::Span::current().record("account_id", form.account_id.as_str());
    let message = message.trim();
    if message.is_empty() {
        return Err(Error::field("message", "is required"));
    }
    if message.chars().count() > MESSAGE_MAX {
        return Err(Error::field(
            "message",
            format!("must be at most {MESSAGE_MAX} characters"),
        ));
    }
    if message
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Error::field(
            "message",
            "contains characters that are not allowed",
        ));
    }
    let conversation_id = conversation_id.map(str::trim).filter(|id| !id.is_empty());
    if !form.assistant_enabled {
        return Ok(Turn {
            conversation_id: conversation_id.unwrap_or_default().to_owned(),
            reply: UNAVAILABLE.into(),
            lead_id: None,
        });
    }
    let account_id = form.account_id.as_str();
    let existing = match conversation_id {
        Some(id) => {
            let mut conn = db.conn().await?;
            Some(
                conversations::get(&mut conn, account_id, id)
                    .await?
                    .ok_or(Error::NotFound)?,
            )
        }
        None => None,
    };
    let seen = existing.clone().unwrap_or_else(|| Conversation {
        id: secrets::new_id(),
        account_id: account_id.to_owned(),
        details: Details::default(),
        transcript: vec![Line {
            from: Speaker::Assistant,
            text: assistant::greeting(&form.account_name),
        }],
        lead_id: None,
    });

    // The assistant answers outside any transaction: a model may take seconds.
    let answer = if seen.lead_id.is_some() {
        None
    } else if seen.transcript.len() >= TRANSCRIPT_MAX {
        Some(assistant::Reply {
            text: TOO_LONG.into(),
            details: seen.details.clone(),
            create_lead: false,
        })
    } else {
        let ctx = Context {
            account_name: &form.account_name,
            description: &form.description,
            details: &seen.details,
            transcript: &seen.transcript,
            message,
        };
        Some(assistant.respond(ctx).await)
    };

    let now = now_ms();
    let mut tx = db.begin_write().await?;
    rate_limit::check(
        db,
        &mut tx,
        account_id,
        caller.address,
        caller.rate_limit,
        now,
    )
    .await?;
    // Read again under the conversation's lock: a turn answered meanwhile (say, the same
    // final message sent twice) may have created the lead already.
    let mut current = match &existing {
        Some(c) => {
            db.lock_conversation(&mut tx, account_id, &c.id).await?;
            conversations::get(&mut tx, account_id, &c.id)
                .await?
                .ok_or(Error::NotFound)?
        }
        None => seen.clone(),
    };
    let reply = match (&current.lead_id, answer) {
        (Some(_), _) | (None, None) => ALREADY.to_owned(),
        (None, Some(answer)) => {
            current.details = answer.details;
            let mut text = answer.text;
            if answer.create_lead && current.transcript.len() < TRANSCRIPT_MAX {
                let mut transcript = current.transcript.clone();
                transcript.push(Line {
                    from: Speaker::Visitor,
                    text: message.to_owned(),
                });
                transcript.push(Line {
                    from: Speaker::Assistant,
                    text: text.clone(),
                });
                match lead_from(&current.details, &transcript) {
                    Ok(lead) => {
                        let (created, _) =
                            insert_new(db, &mut tx, account_id, None, lead, None, now).await?;
                        current.lead_id = Some(created.id);
                    }
                    // The assistant thought it was done, but the details would not pass the
                    // public form's checks: keep talking instead of storing bad data.
                    Err(Error::Validation(fields)) => {
                        text = format!(
                            "Sorry, I couldn't use your {}. Could you send it again?",
                            fields
                                .0
                                .keys()
                                .map(String::as_str)
                                .collect::<Vec<_>>()
                                .join(" and ")
                        );
                    }
                    Err(err) => return Err(err),
                }
            }
            text
        }
    };
    if current.transcript.len() < TRANSCRIPT_MAX {
        current.transcript.push(Line {
            from: Speaker::Visitor,
            text: message.to_owned(),
        });
        current.transcript.push(Line {
            from: Speaker::Assistant,
            text: reply.clone(),
        });
    }
    if existing.is_some() {
        conversations::update(&mut tx, &current, now).await?;
    } else {
        conversations::insert(&mut tx, &current, now).await?;
    }
    tx.commit().await?;
    Ok(Turn {
        conversation_id: current.id,
        reply,
        lead_id: current.lead_id,
    })
}

/// The lead a conversation produces: the details, checked like a website form, with the
/// transcript as its notes.
fn lead_from(details: &Details, transcript: &[Line]) -> Result<super::intake::ValidLead> {
    let submission = Submission {
        name: details.name.clone(),
        email: details.email.clone(),
        phone: details.phone.clone(),
        company: details.company.clone(),
        message: None,
        honeypot: None,
    };
    let mut lead = website::validate(&submission)?;
    lead.source = LeadSource::Assistant;
    lead.notes = Some(transcript_notes(details, transcript));
    Ok(lead)
}

/// "Visitor: ..." / "Assistant: ..." lines, keeping the end when it is too long.
pub fn transcript_notes(details: &Details, transcript: &[Line]) -> String {
    let mut text = String::from("Chat transcript\n");
    if let Some(need) = &details.need {
        text = format!("Looking for: {need}\n\n{text}");
    }
    for line in transcript {
        let who = match line.from {
            Speaker::Visitor => "Visitor",
            Speaker::Assistant => "Assistant",
        };
        text.push_str(&format!("{who}: {}\n", line.text));
    }
    let count = text.chars().count();
    if count > NOTES_MAX {
        text = text.chars().skip(count - NOTES_MAX).collect();
    }
    text.trim_end().to_owned()
}
