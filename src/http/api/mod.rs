//! The JSON API under `/api/v1` (overview in docs/api.md). Handlers translate between
//! JSON and the use cases in `service`; they hold no rules of their own.

mod accounts;
mod audit;
mod availability;
mod chat;
mod leads;
mod notifications;
mod rotations;
mod routing;
mod team;
mod transcript;
pub mod website;

use axum::http::HeaderMap;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use crate::domain::Role;
use crate::store::accounts::Account;
use crate::store::users::User;

#[derive(OpenApi)]
#[openapi(
    info(title = "Leadroute API", version = "1", description = "Lead assignment and auto-routing for sales teams: accounts and team, leads, routing, the website form and chat assistant, notifications and the audit log. Errors always have the body {\"error\": {\"code\", \"message\", \"fields\"}}."),
    modifiers(&BearerAuth),
    components(schemas(crate::http::error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every API route, with its OpenAPI description gathered from the handlers.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(accounts::router())
        .merge(team::router())
        .merge(availability::router())
        .merge(audit::router())
        .merge(leads::router())
        .merge(routing::router())
        .merge(rotations::router())
        .merge(notifications::router())
        .merge(website::router())
        .merge(chat::router())
        .merge(transcript::router())
}

/// The OpenAPI document, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = router().into_openapi();
    CommonResponses.modify(&mut doc);
    doc
}

/// The statuses every operation can answer, added to each one here so that no handler's
/// annotation can forget them: 400 (an address or query with a NUL character or that cannot
/// be read, a body that is not a JSON object), 401 where a token is needed, and 413 where
/// there is a body.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let mut add = |status: &str, description: &str| {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                };
                add("400", "The request cannot be read (code `bad_request`)");
                if operation.security.is_some() {
                    add("401", "No or bad credentials (code `unauthorized`)");
                }
                if operation.request_body.is_some() {
                    add(
                        "413",
                        "The body is over the size limit (code `payload_too_large`)",
                    );
                }
            }
        }
    }
}

/// A member as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserJson {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub active: bool,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            name: u.name,
            email: u.email,
            role: u.role,
            active: u.active,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountJson {
    pub id: String,
    pub name: String,
}

impl From<Account> for AccountJson {
    fn from(a: Account) -> Self {
        Self {
            id: a.id,
            name: a.name,
        }
    }
}

/// A reference to a member: who did something, who owns something.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserRef {
    pub id: String,
    pub name: String,
}

/// The base URL the caller reached us on, for links we hand out.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|host| host_allowed(&state.config, host))
        .map_or_else(|| listen_host(&state.config), str::to_owned);
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// The host links fall back to: the listen address, or this machine's loopback address
/// when listening on every interface (`0.0.0.0` is no address to hand out).
fn listen_host(config: &crate::config::Config) -> String {
    let listen = config.listen;
    if listen.ip().is_unspecified() {
        format!("127.0.0.1:{}", listen.port())
    } else {
        listen.to_string()
    }
}

/// May links be built from this Host? Only the listen address (and, on loopback or every
/// interface, its `localhost` and `127.0.0.1` names) or one the operator allowed: otherwise
/// anyone could get invitation and reset links pointing at their own site by sending a
/// Host header.
fn host_allowed(config: &crate::config::Config, host: &str) -> bool {
    let listen = config.listen;
    let local = listen.ip().is_loopback() || listen.ip().is_unspecified();
    let loopback = local.then(|| {
        let port = listen.port();
        [
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
        ]
    });
    std::iter::once(listen.to_string())
        .chain(loopback.into_iter().flatten())
        .chain(config.allowed_hosts.iter().map(|h| h.trim().to_owned()))
        .any(|allowed| !allowed.is_empty() && allowed.eq_ignore_ascii_case(host))
}
