//! Request body extraction with the contract's errors: 400 for a body that is not JSON,
//! 413 over the size limit, 422 naming the field whose value has the wrong type.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::Error;

/// A JSON request body. Fields are optional in the request types, so a missing field is
/// reported by validation with the rest; a wrong type is reported here.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::trim)
            .is_some_and(|ct| ct.eq_ignore_ascii_case("application/json") || ct.ends_with("+json"));
        if !is_json {
            return Err(Error::bad_request(
                "Expected a JSON body (Content-Type: application/json).",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge
            } else {
                Error::bad_request("The request body could not be read.")
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::bad_request(format!("The body is not valid JSON: {e}.")))?;
    if !value.is_object() {
        return Err(Error::bad_request("The body must be a JSON object."));
    }
    // NUL characters never reach the database (PostgreSQL refuses them in text): a string
    // with one becomes an object, which no field of a request takes, so a field that is read
    // fails validation naming it (422), while an unknown field is ignored as always.
    let mut with_nul = Vec::new();
    mark_nul(&mut value, String::new(), &mut with_nul);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let field = err.path().to_string();
        let why = err.inner().to_string();
        let why = why.split(" at line").next().unwrap_or(&why).to_owned();
        if with_nul.contains(&field) {
            Error::field(&field, "must not contain NUL characters")
        } else if field == "." || field.is_empty() {
            Error::bad_request(format!("The body does not match this endpoint: {why}."))
        } else {
            Error::field(&field, format!("has the wrong type ({why})"))
        }
    })
}

/// Replaces each string with a NUL character by `{}` and records its path, written as
/// `serde_path_to_error` writes paths (`a.b[0]`). Keys are never read as text: a key with a
/// NUL is an unknown field.
fn mark_nul(value: &mut serde_json::Value, path: String, found: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => {
            *value = serde_json::Value::Object(Default::default());
            found.push(path);
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                mark_nul(item, format!("{path}[{i}]"), found);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                mark_nul(item, at, found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        name: Option<String>,
        active: Option<bool>,
    }

    #[test]
    fn errors_name_the_field() {
        let ok: Body = parse_json(br#"{"name": "x", "unknown": 1}"#).unwrap();
        assert_eq!(ok.name.as_deref(), Some("x"));
        assert!(ok.active.is_none());
        match parse_json::<Body>(br#"{"name": 5}"#) {
            Err(Error::Validation(f)) => assert!(f.get("name").is_some()),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_json::<Body>(b"{nope"),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Body>(b"[1]"),
            Err(Error::BadRequest(_))
        ));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(
            parse_json::<Body>(deep.as_bytes()),
            Err(Error::BadRequest(_))
        ));
    }

    #[derive(Debug, serde::Deserialize)]
    struct WithList {
        name: Option<String>,
        rotation: Option<Vec<String>>,
    }

    /// A NUL in a field that is read is a 400; in an unknown field it is ignored.
    #[test]
    fn nul_characters() {
        for body in [
            r#"{"name": "a\u0000b"}"#,
            r#"{"rotation": ["x", "\u0000"]}"#,
        ] {
            assert!(
                matches!(
                    parse_json::<WithList>(body.as_bytes()),
                    Err(Error::Validation(_))
                ),
                "{body}"
            );
        }
        let ok: WithList = parse_json(
            br#"{"name": "x", "rotation": ["y"], "other": "\u0000", "deep": [{"k": "\u0000"}], "\u0000": 1}"#,
        )
        .unwrap();
        assert_eq!(ok.name.as_deref(), Some("x"));
        assert_eq!(ok.rotation, Some(vec!["y".to_owned()]));
        match parse_json::<WithList>(br#"{"name": 5, "rotation": ["\u0000"]}"#) {
            Err(Error::Validation(f)) => assert!(f.get("name").is_some()),
            other => panic!("{other:?}"),
        }
    }
}
