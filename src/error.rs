//! The one error type of the use cases; `http::error` turns it into the API's error body.

use crate::domain::permissions::Denied;
use crate::domain::validate::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("Not found.")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("Request body is too large.")]
    PayloadTooLarge,
    #[error("Some fields are missing or invalid.")]
    Validation(FieldErrors),
    #[error("Too many requests; try again in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
    /// Too much work queued (new-password hashing): a 429 like `RateLimited`.
    #[error("The server is busy; try again in a few seconds.")]
    Busy { retry_after_secs: u64 },
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// A validation error for a single field.
    pub fn field(field: &str, why: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, why);
        Self::Validation(errors)
    }

    /// `Ok` when there are no field errors.
    pub fn check_fields(errors: FieldErrors) -> Result<()> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Self::Validation(errors))
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(anyhow::Error::new(err))
    }
}

impl From<Denied> for Error {
    fn from(denied: Denied) -> Self {
        Self::Forbidden(denied.0.to_owned())
    }
}
