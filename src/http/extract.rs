//! Strict request extractors: a JSON body that names the field at fault, and
//! query parameters parsed one by one.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::domain::{Id, name};

/// The largest body any endpoint accepts.
pub const MAX_BODY: usize = 64 * 1024;

/// A JSON object body: a type marked `#[serde(deny_unknown_fields)]`, so
/// that a field it does not know is refused by name (the OpenAPI document
/// then says `additionalProperties: false`, and a test holds every body to
/// it). An empty body counts as `{}`; a non-empty one must be
/// sent as JSON (`415`), parse (`400`), be an object, name only known fields,
/// and have the right types (`422`, naming the field).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap_or("\u{fffd}").to_owned());
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large()
            } else {
                ApiError::malformed_body("the body could not be read")
            }
        })?;
        parse_json_body(content_type.as_deref(), &bytes).map(JsonBody)
    }
}

/// The rules of [`JsonBody`] on a body already read: what every JSON
/// endpoint does with the bytes a client sends (and what the fuzzer feeds).
///
/// The body is read from its text, not through a parsed tree, so that a
/// field that keeps what it was given (`meta`) keeps its exact text:
/// numbers their digits.
pub fn parse_json_body<T: DeserializeOwned>(content_type: Option<&str>, bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        if !content_type.is_some_and(is_json_media_type) {
            return Err(ApiError::unsupported_media_type());
        }
        // Well-formed first, whatever its types: a syntax error anywhere is
        // a 400 even when a field before it has the wrong type.
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
            .map_err(|e| ApiError::malformed_body(format!("the body is not valid JSON: {e}")))?;
        bytes
    };
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::invalid_field("body", "the body must be a JSON object"));
    }
    // The path names an unknown field too (`deny_unknown_fields`).
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(bytes))
        .map_err(|e| ApiError::invalid_field(e.path().to_string(), type_error_detail(e.inner())))
}

fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// serde's message, without the line and column of a document the client
/// did not write as such.
fn type_error_detail(err: &serde_json::Error) -> String {
    let msg = err.to_string();
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    }
}

/// Query parameters; a query string that cannot be read at all (a
/// parameter given twice, bad percent-encoding) is a `400`.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|_| ApiError::bad_request("query", "the query string could not be read"))
    }
}

/// Deserializes `null` as `Some(None)` and a missing field (with
/// `#[serde(default)]`) as `None`, so that PATCH can clear a value.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}

/// A required text field: present, not blank, at most 200 characters.
pub fn required_name(field: &'static str, value: Option<String>) -> Result<crate::domain::Name, ApiError> {
    let raw = value.ok_or_else(|| ApiError::invalid_field(field, "is required"))?;
    parse_name(field, &raw)
}

pub fn parse_name(field: &'static str, raw: &str) -> Result<crate::domain::Name, ApiError> {
    name::Name::parse(raw).map_err(|e| ApiError::invalid_field(field, e.to_string()))
}

/// `limit`: 1 to 200, 50 when absent.
pub fn parse_limit(raw: Option<&str>) -> Result<usize, ApiError> {
    match raw {
        None => Ok(50),
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| ApiError::bad_request("limit", "limit must be a whole number from 1 to 200")),
    }
}

/// Cursors are opaque to clients: a tag naming the listing and a position.
/// Anything keyward did not issue for this listing is refused.
pub mod cursor {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::{ApiError, Id};

    pub fn encode(listing: &str, position: &Id) -> String {
        URL_SAFE_NO_PAD.encode(format!("{listing}:{position}"))
    }

    pub fn decode(listing: &str, raw: Option<&str>) -> Result<Option<Id>, ApiError> {
        let Some(raw) = raw else { return Ok(None) };
        URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|s| s.strip_prefix(listing).and_then(|r| r.strip_prefix(':')).and_then(Id::parse))
            .map(Some)
            .ok_or_else(|| ApiError::bad_request("cursor", "cursor is not one this listing issued"))
    }
}

/// A free-text filter from the query string: trimmed, `None` when blank.
/// Nothing stored holds a control character, and PostgreSQL refuses a NUL
/// in text outright, so one is refused here like an overlong filter.
pub fn text_filter(field: &'static str, value: Option<&str>, max: usize) -> Result<Option<String>, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max => {
            Err(ApiError::bad_request(field, format!("{field} must be at most {max} characters")))
        }
        Some(v) if v.chars().any(char::is_control) => {
            Err(ApiError::bad_request(field, format!("{field} must not hold control characters")))
        }
        Some(v) => Ok(Some(v.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn json_media_types() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("Application/JSON; charset=utf-8"));
        assert!(is_json_media_type("application/merge-patch+json"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type("application/x-www-form-urlencoded"));
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit(None).ok(), Some(50));
        assert_eq!(parse_limit(Some("200")).ok(), Some(200));
        for bad in ["0", "201", "-1", "abc", "", "1.5"] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_others() {
        let id = Id::generate();
        let c = cursor::encode("sa", &id);
        assert_eq!(cursor::decode("sa", Some(&c)).ok(), Some(Some(id.clone())));
        assert!(cursor::decode("audit", Some(&c)).is_err());
        assert!(cursor::decode("sa", Some("garbage!")).is_err());
        assert!(cursor::decode("sa", Some(&cursor::encode("sa", &id)[1..])).is_err());
    }

    proptest! {
        #[test]
        fn cursor_decode_never_panics(s in ".*") {
            let _ = cursor::decode("sa", Some(&s));
        }
    }
}
