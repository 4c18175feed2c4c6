//! The hosted website form and its intake: HTML form posts (303 to a thank-you page) and
//! JSON posts from a site's own script (201 `{"id"}`, with CORS).

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::validate::FieldErrors;
use crate::error::Error;
use crate::http::extract::parse_json;
use crate::http::web::error_page;
use crate::service::website::{self, Caller, Outcome, Submission};

/// The hidden field a person never fills in.
pub const HONEYPOT: &str = "website";

#[derive(Template, WebTemplate, Default)]
#[template(path = "public_form.html")]
pub struct FormPage {
    account_name: String,
    form_key: String,
    name: String,
    email: String,
    phone: String,
    company: String,
    message: String,
    /// Ask for country and company size (the Website page's setting).
    ask_country_size: bool,
    country: String,
    company_size: String,
    /// A thank-you page the embedding site asked for (only an allowed one), kept when the
    /// form comes back with errors.
    redirect: Option<String>,
    errors: FieldErrors,
    form_error: Option<String>,
}

pub async fn page(State(state): State<AppState>, Path(form_key): Path<String>) -> Response {
    match website::public_form(&state.db, &form_key).await {
        Ok(form) => FormPage {
            account_name: form.account_name,
            ask_country_size: form.ask_country_size,
            form_key,
            ..Default::default()
        }
        .into_response(),
        Err(err) => error_page(err),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "public_thanks.html")]
pub struct ThanksPage {
    account_name: String,
}

pub async fn thanks(State(state): State<AppState>, Path(form_key): Path<String>) -> Response {
    match website::public_form(&state.db, &form_key).await {
        Ok(form) => ThanksPage {
            account_name: form.account_name,
        }
        .into_response(),
        Err(err) => error_page(err),
    }
}

/// CORS preflight: any site's script may post JSON here.
pub async fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    allow_any_origin(h);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, idempotency-key"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

fn allow_any_origin(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

#[derive(Debug, Default, Deserialize)]
struct JsonSubmission {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    message: Option<String>,
    website: Option<String>,
    country: Option<String>,
    /// A number or its text.
    company_size: Option<serde_json::Value>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    Form,
}

pub async fn submit(
    State(state): State<AppState>,
    Path(form_key): Path<String>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let kind = match essence.as_str() {
        "application/json" => Kind::Json,
        "application/x-www-form-urlencoded" => Kind::Form,
        _ => {
            let err = Error::bad_request(
                "Send the form as application/x-www-form-urlencoded or application/json.",
            );
            return json_error(err);
        }
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return respond_error(kind, Error::PayloadTooLarge, None, &state, &form_key).await;
        }
        Err(_) => {
            return respond_error(
                kind,
                Error::bad_request("The body could not be read."),
                None,
                &state,
                &form_key,
            )
            .await;
        }
    };
    let (submission, redirect) = match parse(kind, &body) {
        Ok(parsed) => parsed,
        Err(err) => return respond_error(kind, err, None, &state, &form_key).await,
    };
    let redirect_for_retry = redirect.clone();
    let address = crate::http::client_address(&extensions);
    let idempotency_key = match idempotency_key(&headers) {
        Ok(key) => key,
        Err(err) => {
            let typed = Some((submission, redirect_for_retry));
            return respond_error(kind, err, typed, &state, &form_key).await;
        }
    };
    let caller = Caller {
        address: &address,
        idempotency_key,
        rate_limit: state.config.public_rate_limit,
    };
    match state
        .intake
        .submit(&form_key, submission.clone(), caller)
        .await
    {
        Ok(outcome) => match kind {
            Kind::Json => {
                let (status, id) = match outcome {
                    Outcome::Created(id) => (StatusCode::CREATED, id),
                    Outcome::Repeated(id) => (StatusCode::CREATED, id),
                    // Looks like success to a bot; nothing was stored.
                    Outcome::Ignored => (StatusCode::CREATED, crate::service::secrets::new_id()),
                };
                let mut response = (status, Json(serde_json::json!({"id": id}))).into_response();
                allow_any_origin(response.headers_mut());
                response
            }
            Kind::Form => {
                let allowed = match &redirect {
                    Some(_) => match website::public_form(&state.db, &form_key).await {
                        Ok(form) => form.allowed_redirects,
                        Err(_) => Vec::new(),
                    },
                    None => Vec::new(),
                };
                match redirect.filter(|r| website::redirect_allowed(r, &allowed)) {
                    Some(to) => Redirect::to(&to).into_response(),
                    None => Redirect::to(&format!("/f/{form_key}/thanks")).into_response(),
                }
            }
        },
        Err(err) => {
            respond_error(
                kind,
                err,
                Some((submission, redirect_for_retry)),
                &state,
                &form_key,
            )
            .await
        }
    }
}

/// The `Idempotency-Key` header, trimmed; one a client cannot have meant as sent (too
/// long, or not plain text) is refused rather than ignored.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, Error> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let refuse = |why: String| Err(Error::field(website::IDEMPOTENCY_KEY, why));
    let Ok(key) = value.to_str().map(str::trim) else {
        return refuse("must be printable ASCII".into());
    };
    if key.len() > website::IDEMPOTENCY_KEY_MAX {
        return refuse(format!(
            "must be at most {} characters",
            website::IDEMPOTENCY_KEY_MAX
        ));
    }
    Ok((!key.is_empty()).then_some(key))
}

fn parse(kind: Kind, body: &[u8]) -> Result<(Submission, Option<String>), Error> {
    match kind {
        Kind::Json => {
            let j: JsonSubmission = parse_json(body)?;
            Ok((
                Submission {
                    name: j.name,
                    email: j.email,
                    phone: j.phone,
                    company: j.company,
                    message: j.message,
                    honeypot: j.website,
                    country: j.country,
                    company_size: j.company_size.map(|v| match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    }),
                },
                None,
            ))
        }
        Kind::Form => {
            let pairs = decode_form(body)
                .ok_or_else(|| Error::bad_request("The form body is not valid UTF-8 form data."))?;
            let get = |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            Ok((
                Submission {
                    name: get("name"),
                    email: get("email"),
                    phone: get("phone"),
                    company: get("company"),
                    message: get("message"),
                    honeypot: get(HONEYPOT),
                    country: get("country"),
                    company_size: get("company_size"),
                },
                get("redirect"),
            ))
        }
    }
}

fn json_error(err: Error) -> Response {
    let mut response = err.into_response();
    allow_any_origin(response.headers_mut());
    response
}

/// JSON callers get the error body; a person posting the form sees it again with the
/// reasons next to the fields and what they typed kept.
async fn respond_error(
    kind: Kind,
    err: Error,
    typed: Option<(Submission, Option<String>)>,
    state: &AppState,
    form_key: &str,
) -> Response {
    if kind == Kind::Json {
        return json_error(err);
    }
    let status = err.status();
    let (Error::Validation(errors), Some((typed, redirect))) = (&err, typed) else {
        let mut response = error_page(err);
        *response.status_mut() = status;
        return response;
    };
    let (account_name, allowed, ask_country_size) =
        match website::public_form(&state.db, form_key).await {
            Ok(form) => (
                form.account_name,
                form.allowed_redirects,
                form.ask_country_size,
            ),
            Err(err) => return error_page(err),
        };
    let page = FormPage {
        account_name,
        form_key: form_key.to_owned(),
        name: typed.name.unwrap_or_default(),
        email: typed.email.unwrap_or_default(),
        phone: typed.phone.unwrap_or_default(),
        company: typed.company.unwrap_or_default(),
        message: typed.message.unwrap_or_default(),
        // Shown when asked for, or when the visitor's own page sent them and one was refused.
        ask_country_size: ask_country_size
            || errors.get("country").is_some()
            || errors.get("company_size").is_some(),
        country: typed.country.unwrap_or_default(),
        company_size: typed.company_size.unwrap_or_default(),
        redirect: redirect.filter(|r| website::redirect_allowed(r, &allowed)),
        errors: errors.clone(),
        // The header has no field on the page: say it above the form.
        form_error: errors
            .get(website::IDEMPOTENCY_KEY)
            .map(|why| format!("{} {why}.", website::IDEMPOTENCY_KEY)),
    };
    (status, page).into_response()
}

/// Decodes `application/x-www-form-urlencoded` strictly: text that is not valid UTF-8 (raw or
/// percent-encoded) is refused instead of being silently replaced.
fn decode_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    fn decode(part: &[u8]) -> Option<String> {
        let mut out = Vec::with_capacity(part.len());
        let mut i = 0;
        while i < part.len() {
            match part[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = part.get(i + 1..i + 3)?;
                    out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out)
            .ok()
            .filter(|text| !text.contains('\0'))
    }
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut kv = pair.splitn(2, |b| *b == b'=');
            let key = decode(kv.next().unwrap_or_default())?;
            let value = decode(kv.next().unwrap_or_default())?;
            Some((key, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::decode_form;

    #[test]
    fn form_bodies_decode_strictly() {
        let pairs = decode_form(b"name=Jane+Roe&email=j%40x.io&empty=&flag").unwrap();
        assert_eq!(pairs[0], ("name".into(), "Jane Roe".into()));
        assert_eq!(pairs[1], ("email".into(), "j@x.io".into()));
        assert_eq!(pairs[2], ("empty".into(), String::new()));
        assert_eq!(pairs[3], ("flag".into(), String::new()));
        assert_eq!(decode_form(b"name=%C3%A9").unwrap()[0].1, "\u{e9}");
        assert!(
            decode_form(b"name=%FF%FE").is_none(),
            "invalid UTF-8, percent-encoded"
        );
        assert!(decode_form(b"name=\xff").is_none(), "invalid UTF-8, raw");
        assert!(decode_form(b"name=%G1").is_none() && decode_form(b"name=%4").is_none());
    }

    proptest::proptest! {
        /// Arbitrary bytes never panic the form decoder, and whatever it returns is text.
        #[test]
        fn any_bytes_decode_or_are_refused(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            if let Some(pairs) = decode_form(&body) {
                proptest::prop_assert!(pairs.len() <= body.len() + 1);
            }
        }
    }
}
