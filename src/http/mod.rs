//! HTTP: the JSON API, the HTML pages, authentication and the error body.

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
mod ops;
pub mod public;
pub mod web;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;

/// Largest JSON body the authenticated API accepts.
const API_BODY_LIMIT: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    // This app's password-hashing lanes, for every request it serves.
    let lanes = std::sync::Arc::new(crate::service::secrets::Lanes::new());
    let (api, _) = api::router().split_for_parts();
    let api = api
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(ops::openapi_json),
        )
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
        .layer(middleware::from_fn(api_error_bodies));
    Router::new()
        .merge(api)
        .merge(web::router())
        .merge(public::router())
        .merge(ops::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::middleware,
        ))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            crate::service::secrets::with_lanes(lanes.clone(), next.run(request))
        }))
        .layer(middleware::from_fn(reject_nul))
        .layer(middleware::from_fn(deny_framing))
        .layer(security_headers())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of every request's log lines (as tower-http's default, at DEBUG), with the
/// address redacted: link tokens, form keys and query values stay out of the logs.
fn request_span(request: &Request) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %crate::telemetry::redacted_uri(request.uri()),
        version = ?request.version(),
    )
}

async fn not_found(uri: axum::http::Uri) -> Response {
    if auth::is_api_path(uri.path()) {
        crate::error::Error::NotFound.into_response()
    } else {
        web::error_page(crate::error::Error::NotFound)
    }
}

/// Every API error carries the contract's JSON body, even when the framework produced it
/// (unknown route, wrong method, unreadable query string).
async fn api_error_bodies(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let failed = status.is_client_error() || status.is_server_error();
    if let Some(err) = error::for_status(status).filter(|_| failed && !is_json) {
        {
            let mut fixed = (status, axum::Json(err.body())).into_response();
            if let Some(allow) = response.headers().get(header::ALLOW) {
                fixed.headers_mut().insert(header::ALLOW, allow.clone());
            }
            return fixed;
        }
    }
    response
}

type HeaderLayer = SetResponseHeaderLayer<HeaderValue>;

fn security_headers()
-> tower::layer::util::Stack<HeaderLayer, tower::layer::util::Stack<HeaderLayer, HeaderLayer>> {
    use tower::layer::util::Stack;
    let csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
               object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
    Stack::new(
        SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        ),
        Stack::new(
            SetResponseHeaderLayer::if_not_present(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            SetResponseHeaderLayer::if_not_present(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            ),
        ),
    )
}

/// Largest form body `reject_nul` reads (the API's own limit).
const FORM_SCAN_LIMIT: usize = API_BODY_LIMIT;

/// NUL characters never reach the database (PostgreSQL refuses them in text): an address,
/// a query or a form body carrying one (always percent-encoded there) is a 400. JSON and
/// the public form's decoder check their own bodies.
async fn reject_nul(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let has_nul = |text: &str| text.to_ascii_lowercase().contains("%00");
    let refuse = |path: &str| {
        let err = crate::error::Error::bad_request("The request contains a NUL character.");
        if auth::is_api_path(path) {
            err.into_response()
        } else {
            web::error_page(err)
        }
    };
    if has_nul(request.uri().path()) || request.uri().query().is_some_and(has_nul) {
        return refuse(&path);
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes()
                .starts_with(b"application/x-www-form-urlencoded")
        });
    if !is_form || auth::is_public_path(&path) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, FORM_SCAN_LIMIT).await else {
        return crate::error::Error::PayloadTooLarge.into_response();
    };
    if bytes.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00")) || bytes.contains(&0) {
        return refuse(&path);
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// `X-Frame-Options: DENY` for older browsers, except on a page whose own policy lets any
/// site frame it (the chat page): the two headers must not contradict each other.
async fn deny_framing(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let framable = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|csp| csp.contains("frame-ancestors *"));
    if !framable {
        response
            .headers_mut()
            .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

fn to_datetime(ms: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// Epoch milliseconds as an RFC 3339 UTC time, the API's time format.
pub fn rfc3339(ms: i64) -> String {
    to_datetime(ms)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// "2026-11-28" for pages.
pub fn date_display(ms: i64) -> String {
    let d = to_datetime(ms);
    format!("{}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// "2026-11-28 09:41" (UTC) for pages.
pub fn datetime_display(ms: i64) -> String {
    let d = to_datetime(ms);
    format!("{} {:02}:{:02}", date_display(ms), d.hour(), d.minute())
}

/// The client's address, from the socket (in-process callers, such as tests, have none).
pub fn client_address(extensions: &axum::http::Extensions) -> String {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// A status with the API's error body, for handlers outside the API router.
pub fn status_error(status: StatusCode) -> Response {
    match error::for_status(status) {
        Some(err) => (status, axum::Json(err.body())).into_response(),
        None => status.into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            super::rfc3339(1_795_000_000_123),
            "2026-11-18T11:06:40.123Z"
        );
        assert_eq!(
            super::datetime_display(1_795_000_000_123),
            "2026-11-18 11:06"
        );
    }
}
