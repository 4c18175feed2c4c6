//! The website chat assistant: one trait, two providers. The guided provider is a
//! deterministic conversation (not an AI model) and the default; the LLM provider talks to
//! any OpenAI-compatible server and falls back to the guided one when the model fails.

#[cfg(test)]
pub mod eval;
pub mod extract;
pub mod guided;
pub mod llm;

use std::future::Future;
use std::pin::Pin;

pub use crate::domain::Speaker;
pub use crate::domain::conversation::{Asked, Details, Line};

/// Everything a provider may look at to answer one message.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub account_name: &'a str,
    /// What the business does, in the Owner's words (for the LLM's prompt).
    pub description: &'a str,
    /// The details before this message.
    pub details: &'a Details,
    /// The conversation before this message.
    pub transcript: &'a [Line],
    pub message: &'a str,
}

/// A provider's answer to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub details: Details,
    /// The assistant has what a rep needs: create the lead now (the server validates the
    /// details as strictly as the public form before it does).
    pub create_lead: bool,
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait Assistant: Send + Sync {
    /// Shown in logs and docs: "guided" or "llm".
    fn kind(&self) -> &'static str;
    /// Answers one message. Never fails: a provider that cannot answer falls back.
    fn respond<'a>(&'a self, ctx: Context<'a>) -> BoxFuture<'a, Reply>;
}

/// The greeting every conversation starts with.
pub fn greeting(account_name: &str) -> String {
    format!("Hi! I'm the {account_name} assistant. What can we help you with today?")
}

/// How long one call to the model may take before the guided reply is used instead.
pub const LLM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// The provider the configuration asks for: the LLM when a server and a model are
/// configured, else the guided assistant.
pub fn from_config(config: &crate::config::Config) -> std::sync::Arc<dyn Assistant> {
    match (
        config.assistant_url.as_deref(),
        config.assistant_model.as_deref(),
    ) {
        (Some(url), Some(model)) if url.starts_with("http://") || url.starts_with("https://") => {
            tracing::info!(url, model, "chat assistant: LLM");
            std::sync::Arc::new(llm::Llm::new(
                url,
                model,
                config.assistant_api_key.as_deref(),
                LLM_TIMEOUT,
            ))
        }
        (Some(url), _) => {
            tracing::error!(
                url,
                "LEADROUTE_ASSISTANT_URL needs an http(s) URL and LEADROUTE_ASSISTANT_MODEL a model; using the guided assistant"
            );
            std::sync::Arc::new(guided::Guided)
        }
        _ => std::sync::Arc::new(guided::Guided),
    }
}
