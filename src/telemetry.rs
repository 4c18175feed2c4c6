//! Logging setup: human-readable lines on stderr, filtered by `RUST_LOG`. The model
//! client's own logs are off by default: they can quote what visitors wrote.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info,async_openai=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// What stands in for a secret in a logged address.
const REDACTED: &str = "[redacted]";

/// Paths whose next segment is a secret (a link token) or a form key (which lets anyone
/// post leads into the account): `["f"]` covers `/f/{form_key}` and `/f/{form_key}/thanks`.
const SECRET_AFTER: &[&[&str]] = &[
    &["invitations"],
    &["reset"],
    &["f"],
    &["chat"],
    &["api", "v1", "invitations"],
    &["api", "v1", "password-resets"],
    &["api", "v1", "public", "chat"],
];

/// A request's path and query as logs may record them: secret path segments and every
/// query value replaced (names kept, so a log still says which parameters came).
pub fn redacted_uri(uri: &axum::http::Uri) -> String {
    let mut segments: Vec<&str> = uri.path().split('/').collect();
    // segments[0] is the empty string before the leading slash.
    for prefix in SECRET_AFTER {
        let at = prefix.len() + 1;
        let matches = segments.len() > at
            && segments[1..at] == **prefix
            && !segments[at].is_empty()
            && segments[at] != "widget.js";
        if matches {
            segments[at] = REDACTED;
        }
    }
    let mut out = segments.join("/");
    if let Some(query) = uri.query() {
        let names: Vec<String> = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) => format!("{name}={REDACTED}"),
                None => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&names.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(uri: &str) -> String {
        redacted_uri(&uri.parse().unwrap())
    }

    #[test]
    fn secret_segments_and_query_values_are_redacted() {
        for (raw, logged) in [
            ("/invitations/tok123", "/invitations/[redacted]"),
            ("/reset/tok123", "/reset/[redacted]"),
            (
                "/api/v1/invitations/tok123/accept",
                "/api/v1/invitations/[redacted]/accept",
            ),
            (
                "/api/v1/password-resets/tok123",
                "/api/v1/password-resets/[redacted]",
            ),
            ("/f/key123", "/f/[redacted]"),
            ("/f/key123/thanks", "/f/[redacted]/thanks"),
            ("/chat/key123", "/chat/[redacted]"),
            (
                "/api/v1/public/chat/key123",
                "/api/v1/public/chat/[redacted]",
            ),
            (
                "/chat/widget.js?key=key123",
                "/chat/widget.js?key=[redacted]",
            ),
            (
                "/leads?q=jane%40x.io&status=open&flag",
                "/leads?q=[redacted]&status=[redacted]&flag",
            ),
            // Ids are not secrets, nor are paths that only end like a secret one.
            ("/leads/abc", "/leads/abc"),
            ("/api/v1/team/invitations", "/api/v1/team/invitations"),
            ("/settings/team/invitations", "/settings/team/invitations"),
            ("/f/", "/f/"),
            ("/", "/"),
        ] {
            assert_eq!(redact(raw), logged, "{raw}");
        }
    }
}
