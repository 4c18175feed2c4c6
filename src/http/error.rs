//! Turning errors into the API's error body (`{"error": {"code", "message", "fields"}}`).
//! Internal errors are logged in the request's span and never shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::collections::BTreeMap;

use crate::error::Error;

/// The error body of every failed API request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// What went wrong, for programs; the status says the same.
    #[schema(value_type = ErrorCode)]
    pub code: &'static str,
    /// A sentence for a person.
    pub message: String,
    /// Only for `validation`: why each named field was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}

/// An error's code; each goes with one status.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ErrorCode {
    /// 400: the body is not valid JSON or form, the content type is wrong, the request
    /// cannot be read.
    BadRequest,
    /// 401: no or bad credentials.
    Unauthorized,
    /// 403: authenticated, but the role may not do this.
    Forbidden,
    /// 404: no such thing in this account.
    NotFound,
    /// 409: the state changed under you.
    Conflict,
    /// 413: the body is over the limit.
    PayloadTooLarge,
    /// 422: a field is missing or wrong; `fields` says which.
    Validation,
    /// 429: too many requests; see `Retry-After`.
    RateLimited,
    /// 500: a bug; the message reveals nothing internal.
    Internal,
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::RateLimited { .. } | Error::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound => "not_found",
            Error::Conflict(_) => "conflict",
            Error::PayloadTooLarge => "payload_too_large",
            Error::Validation(_) => "validation",
            Error::RateLimited { .. } | Error::Busy { .. } => "rate_limited",
            Error::Internal(_) => "internal",
        }
    }

    /// The sentence shown to people; internal details stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "internal error");
                "Something went wrong on our side. Please try again.".into()
            }
            other => other.to_string(),
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.public_message(),
                fields: match self {
                    Error::Validation(fields) => Some(fields.0.clone()),
                    _ => None,
                },
            },
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let Error::RateLimited { retry_after_secs } | Error::Busy { retry_after_secs } = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs.max(1)),
            );
        }
        response
    }
}

/// The error for a bare status produced outside our handlers (unknown route, wrong method,
/// a framework rejection), so every API answer has the same body.
pub fn for_status(status: StatusCode) -> Option<Error> {
    Some(match status {
        StatusCode::NOT_FOUND => Error::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => Error::bad_request("This method is not allowed here."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            Error::bad_request("Expected a JSON body (Content-Type: application/json).")
        }
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
        StatusCode::UNAUTHORIZED => Error::Unauthorized("Sign in first.".into()),
        StatusCode::FORBIDDEN => Error::forbidden("You may not do this."),
        s if s.is_client_error() => Error::bad_request("The request could not be understood."),
        s if s.is_server_error() => Error::Internal(anyhow::anyhow!("status {s} without a body")),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes the OpenAPI document lists are exactly the ones errors carry.
    #[test]
    fn documented_codes_are_the_codes() {
        let errors = [
            (Error::bad_request("x"), ErrorCode::BadRequest),
            (Error::Unauthorized("x".into()), ErrorCode::Unauthorized),
            (Error::forbidden("x"), ErrorCode::Forbidden),
            (Error::NotFound, ErrorCode::NotFound),
            (Error::conflict("x"), ErrorCode::Conflict),
            (Error::PayloadTooLarge, ErrorCode::PayloadTooLarge),
            (Error::Validation(Default::default()), ErrorCode::Validation),
            (
                Error::RateLimited {
                    retry_after_secs: 1,
                },
                ErrorCode::RateLimited,
            ),
            (
                Error::Busy {
                    retry_after_secs: 1,
                },
                ErrorCode::RateLimited,
            ),
            (Error::Internal(anyhow::anyhow!("x")), ErrorCode::Internal),
        ];
        for (err, code) in errors {
            assert_eq!(serde_json::to_value(&code).unwrap(), err.code(), "{err:?}");
        }
    }
}
