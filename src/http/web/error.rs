//! The page handlers' one error type, as `http::error` is the API's: a handler returns
//! `Result<_, PageError>` and `?` does the rest. The error page is drawn by
//! [`render_page_errors`], which knows who is asking, so it keeps the viewer's navigation.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Nav, error_page_with};
use crate::error::Error;
use crate::http::auth::{Credential, WebUser};

/// A page that could not be shown.
#[derive(Debug)]
pub struct PageError(pub Error);

impl From<Error> for PageError {
    fn from(err: Error) -> Self {
        Self(err)
    }
}

/// What a page handler answers.
pub type PageResult<T = Response> = Result<T, PageError>;

/// The error, described, waiting for the viewer to be known.
#[derive(Clone)]
struct FailedPage {
    status: StatusCode,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let message = page_message(&self.0);
        let mut response = status.into_response();
        response
            .extensions_mut()
            .insert(FailedPage { status, message });
        response
    }
}

/// The sentence an error page shows (internal errors are logged, never shown).
pub fn page_message(err: &Error) -> String {
    match err {
        Error::NotFound => "There is nothing here, or it is not yours to see.".to_owned(),
        other => other.public_message(),
    }
}

/// What went wrong as one sentence for a page's banner, when the page is shown again.
pub fn banner(err: Error) -> String {
    match err {
        Error::Validation(fields) => fields.sentence(),
        other => other.public_message(),
    }
}

/// Draws the error page of a handler that answered a [`PageError`], with the navigation of
/// whoever is signed in.
pub async fn render_page_errors(request: Request, next: Next) -> Response {
    let credential = request.extensions().get::<Credential>().cloned();
    let mut response = next.run(request).await;
    let Some(failed) = response.extensions_mut().remove::<FailedPage>() else {
        return response;
    };
    let user = credential.as_ref().and_then(WebUser::from_credential);
    let nav = user.as_ref().map(|u| Nav::new(u, ""));
    error_page_with(nav, failed.status, failed.message)
}
