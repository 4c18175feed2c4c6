//! A website chat as stored: its turns, each with its speaker, and what the visitor has told
//! the assistant so far. Plain data: the assistant reads and extends it, the store keeps it.

use serde::{Deserialize, Serialize};

use super::Speaker;

/// Breaks a reader may show as a new line (other control characters are refused earlier).
pub const LINE_BREAKS: &[char] = &['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];

/// What the assistant asked last, which tells how to read a bare answer ("Jane").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Asked {
    Need,
    Name,
    Email,
    /// Their company (asked once the lead exists, when they had not said).
    Company,
    /// "Is your email address ...?" after a spelled-out one ("bob at builders dot example").
    ConfirmEmail,
}

/// What the visitor has told us so far. Kept with the conversation in the database, and
/// updated by the guided extraction on every turn, whichever provider answers.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    /// What they are looking for, in their words.
    pub need: Option<String>,
    /// What the assistant asked last.
    pub asked: Option<Asked>,
    /// How often they declined to give an email address.
    pub email_refusals: u8,
    /// The conversation has ended without a lead (they would not share an email).
    pub closed: bool,
    /// An email address read from words ("bob at builders dot example"), waiting for the
    /// visitor to confirm it.
    #[serde(default)]
    pub pending_email: Option<String>,
    /// The lead's owner has been told that this conversation changed the lead (once per
    /// conversation, however many corrections follow).
    #[serde(default)]
    pub owner_notified: bool,
}

impl Details {
    pub fn first_name(&self) -> &str {
        self.name
            .as_deref()
            .and_then(|n| n.split_whitespace().next())
            .unwrap_or("there")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub from: Speaker,
    pub text: String,
}

impl Line {
    /// The text's lines, split at every break a reader may show (a CRLF is one break).
    pub fn lines(&self) -> Vec<&str> {
        self.text
            .split("\r\n")
            .flat_map(|part| part.split(LINE_BREAKS))
            .collect()
    }
}
