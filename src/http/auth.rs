//! Who is calling: bearer tokens (API clients) and session cookies (the browser UI), and the
//! cross-site request checks that cookie-authenticated writes need.
//!
//! A middleware resolves the credential once per request and stores it in the request's
//! extensions; handlers ask for [`ApiUser`] or [`WebUser`].

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::app::AppState;
use crate::error::Error;
use crate::service::Actor;
use crate::service::accounts;
use crate::store::sessions::{Kind, Session};

pub const SESSION_COOKIE: &str = "lr_session";
/// The form field (or `X-CSRF-Token` header) that carries a browser session's CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";
const CSRF_HEADER: &str = "x-csrf-token";
/// Largest form body the CSRF check will read.
const FORM_LIMIT: usize = 64 * 1024;

/// The resolved credential of a request, if any.
#[derive(Clone)]
pub struct Credential(pub Option<Session>);

impl Credential {
    fn actor(&self) -> Option<(Actor, Session)> {
        self.0.clone().map(|s| {
            (
                Actor {
                    user: s.user.clone(),
                    account: s.account.clone(),
                },
                s,
            )
        })
    }
}

/// Paths anyone on any site may post to: the public form and the chat.
pub fn is_public_path(path: &str) -> bool {
    path.starts_with("/f/") || path.starts_with("/chat/") || path.starts_with("/api/v1/public/")
}

pub fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let public = is_public_path(&path);
    let headers = request.headers();
    let bearer = bearer_token(headers);
    let cookie = cookie_value(headers, SESSION_COOKIE);

    if writes && !public && bearer.is_none() && is_cross_site(headers) {
        return reject(&path, "Cross-site form posts are not accepted.");
    }

    let (token, kind) = match (bearer, cookie) {
        (Some(t), _) => (Some(t), Kind::Api),
        (None, Some(c)) => (Some(c), Kind::Web),
        (None, None) => (None, Kind::Api),
    };
    let session = match token {
        Some(token) => match accounts::authenticate(&state.db, &token).await {
            Ok(found) => found.filter(|s| s.kind == kind),
            Err(err) => return respond_error(&path, err),
        },
        None => None,
    };

    let mut request = request;
    if let Some(session) = session
        .as_ref()
        .filter(|s| writes && !public && s.kind == Kind::Web)
    {
        match csrf_verified(session, request).await {
            Ok(checked) => request = checked,
            Err(response) => return response,
        }
    }
    request.extensions_mut().insert(Credential(session));
    next.run(request).await
}

/// A cookie-authenticated write must echo the session's CSRF token, in the `X-CSRF-Token`
/// header (scripts) or the `csrf_token` field of a form.
async fn csrf_verified(session: &Session, request: Request) -> Result<Request, Response> {
    let path = request.uri().path().to_owned();
    let expected = session.csrf_token.as_deref().unwrap_or_default();
    let in_header = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(given) = in_header {
        return if !expected.is_empty() && constant_time_eq(&given, expected) {
            Ok(request)
        } else {
            Err(reject(
                &path,
                "The form has expired. Reload the page and try again.",
            ))
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(reject(
            &path,
            "The form has expired. Reload the page and try again.",
        ));
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
        Ok(b) => b,
        Err(_) => return Err(respond_error(&path, Error::PayloadTooLarge)),
    };
    let given = form_urlencoded_field(&bytes, CSRF_FIELD);
    if given.is_some_and(|g| !expected.is_empty() && constant_time_eq(&g, expected)) {
        Ok(Request::from_parts(parts, Body::from(bytes)))
    } else {
        Err(reject(
            &path,
            "The form has expired. Reload the page and try again.",
        ))
    }
}

fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A browser tells us when a request comes from another site (`Sec-Fetch-Site`), and older
/// ones send an `Origin` that differs from our host.
fn is_cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "cross-site";
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
            !origin_host.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

fn reject(path: &str, message: &str) -> Response {
    respond_error(path, Error::forbidden(message))
}

fn respond_error(path: &str, err: Error) -> Response {
    if is_api_path(path) {
        err.into_response()
    } else {
        crate::http::web::error_page(err)
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// An API caller: answers 401 when there is no valid credential.
pub struct ApiUser {
    pub actor: Actor,
    pub session: Session,
}

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Credential>()
            .and_then(Credential::actor)
            .map(|(actor, session)| ApiUser { actor, session })
            .ok_or_else(|| Error::Unauthorized("Missing or invalid credentials.".into()))
    }
}

/// A signed-in browser: redirects to the sign-in page when there is none.
pub struct WebUser {
    pub actor: Actor,
    pub session: Session,
}

impl WebUser {
    /// The signed-in browser a request's credential stands for, if any.
    pub fn from_credential(credential: &Credential) -> Option<Self> {
        credential
            .actor()
            .map(|(actor, session)| WebUser { actor, session })
    }

    pub fn csrf_token(&self) -> &str {
        self.session.csrf_token.as_deref().unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Credential>()
            .and_then(Credential::actor)
            .map(|(actor, session)| WebUser { actor, session })
            .ok_or_else(|| Redirect::to("/signin").into_response())
    }
}

/// The signed-in browser, if any (pages that anyone may open).
pub struct MaybeWebUser(pub Option<WebUser>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeWebUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeWebUser(
            WebUser::from_request_parts(parts, state).await.ok(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_site_detection() {
        let mut h = HeaderMap::new();
        assert!(!is_cross_site(&h));
        h.insert(header::HOST, "app.test:8080".parse().unwrap());
        h.insert(header::ORIGIN, "http://app.test:8080".parse().unwrap());
        assert!(!is_cross_site(&h));
        h.insert(header::ORIGIN, "https://evil.test".parse().unwrap());
        assert!(is_cross_site(&h));
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(!is_cross_site(&h));
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(is_cross_site(&h));
    }

    #[test]
    fn credentials_are_parsed() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        h.insert(header::COOKIE, "a=1; lr_session=xyz; b=2".parse().unwrap());
        assert_eq!(bearer_token(&h).as_deref(), Some("abc"));
        assert_eq!(cookie_value(&h, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(
            form_urlencoded_field(b"x=1&csrf_token=t%2B1", "csrf_token").as_deref(),
            Some("t+1")
        );
        assert!(constant_time_eq("abc", "abc") && !constant_time_eq("abc", "abd"));
    }
}
