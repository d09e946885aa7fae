//! Authentication extractors. `Caller` is the principal pinned to one
//! organization; `Who` is the identity before pinning (for listings that
//! span organizations). Handlers never read credentials themselves.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;
use crate::domain::{Id, Secret, Token};
use crate::service::Principal;
use crate::service::auth::{AuthError, AuthFailure, Credential};
use crate::service::principal::Identity;

pub const SESSION_COOKIE: &str = "keyward_session";
pub const CSRF_COOKIE: &str = "keyward_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller of a request, pinned to an organization by `orgId`.
pub struct Caller(pub Principal);

/// The caller's identity, not yet pinned to an organization.
pub struct Who(pub Identity);

/// The client's address, as the audit trail and throttling see it.
pub struct ClientIp(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts)))
    }
}

#[derive(Deserialize)]
struct OrgPin {
    #[serde(rename = "orgId")]
    org_id: Option<String>,
}

/// The organization a request pins with `orgId`, if any (an empty value
/// pins none).
pub struct RequestedOrg(pub Option<Id>);

impl<S: Send + Sync> FromRequestParts<S> for RequestedOrg {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = Query::<OrgPin>::try_from_uri(&parts.uri)
            .map_err(|_| ApiError::bad_request("orgId", "the query string could not be read"))?
            .0
            .org_id
            .filter(|s| !s.is_empty());
        // An id of the wrong shape names no organization anyone belongs to.
        Ok(RequestedOrg(raw.map(|raw| Id::parse(&raw).unwrap_or_else(Id::generate))))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Who(identity) = Who::from_request_parts(parts, state).await?;
        let RequestedOrg(pin) = RequestedOrg::from_request_parts(parts, state).await?;
        Ok(Caller(identity.pin(pin, client_ip(parts))?))
    }
}

impl FromRequestParts<AppState> for Who {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let service = &state.service;
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let credential = value.to_str().map_err(|_| AuthFailure::Malformed).and_then(parse_authorization);
            let credential = match credential {
                Ok(c) => c,
                Err(failure) => {
                    service.metrics().auth_outcome(failure.reason());
                    return Err(refusal(state, parts, None));
                }
            };
            let outcome = match &credential {
                Credential::AccessToken(token) => service.verify_access_token(token, &state.public_url).await,
                other => service.authenticate(other).await,
            };
            return match outcome {
                Ok(who) => Ok(Who(Identity::ServiceAccount(who))),
                Err(AuthError::Refused(_)) => {
                    let key_id = match &credential {
                        Credential::Basic { key_id, .. } => Some(key_id.as_str()),
                        Credential::Key(_) | Credential::AccessToken(_) => None,
                    };
                    Err(refusal(state, parts, key_id))
                }
                Err(AuthError::Service(e)) => Err(e.into()),
            };
        }
        if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
            let token = Token::from_client(token);
            if !is_safe(&parts.method) && !csrf_ok(&parts.headers, &token) {
                return Err(ApiError::forbidden("the CSRF token is missing or wrong"));
            }
            if let Some(identity) = service.session_identity(&token).await? {
                return Ok(Who(identity));
            }
            service.metrics().auth_outcome("session_expired");
            return Err(ApiError::unauthorized());
        }
        service.metrics().auth_outcome(AuthFailure::Missing.reason());
        Err(ApiError::unauthorized())
    }
}

/// A refused credential: `401`, or `429` once its client (or the key id it
/// named) has failed too often.
fn refusal(state: &AppState, parts: &Parts, key_id: Option<&str>) -> ApiError {
    match state.service.note_failure(client_ip(parts).as_deref(), key_id) {
        Some(wait) => ApiError::too_many_requests(wait),
        None => ApiError::unauthorized(),
    }
}

/// `Authorization: <key>`, `Bearer <key>` or `Basic base64(keyId:key)`.
pub fn parse_authorization(value: &str) -> Result<Credential, AuthFailure> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest.trim()).map_err(|_| AuthFailure::Malformed)?;
        let decoded = String::from_utf8(decoded).map_err(|_| AuthFailure::Malformed)?;
        let (key_id, secret) = decoded.split_once(':').ok_or(AuthFailure::Malformed)?;
        let secret = Secret::parse(secret).map_err(|_| AuthFailure::Malformed)?;
        Ok(Credential::Basic { key_id: key_id.to_owned(), secret })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        let token = rest.trim();
        if token.starts_with(crate::domain::key::PREFIX) {
            Secret::parse(token).map(Credential::Key).map_err(|_| AuthFailure::Malformed)
        } else if token.split('.').count() == 3 {
            Ok(Credential::AccessToken(token.to_owned()))
        } else {
            Err(AuthFailure::Malformed)
        }
    } else {
        Secret::parse(value).map(Credential::Key).map_err(|_| AuthFailure::Malformed)
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Double submit: the header must carry the token derived from the session,
/// which a page of another origin can neither read nor compute.
fn csrf_ok(headers: &HeaderMap, session: &Token) -> bool {
    let expected = session.derived("csrf");
    headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|given| given.as_bytes().ct_eq(expected.as_bytes()).into())
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The peer's address, as the audit trail records it.
pub fn client_ip(parts: &Parts) -> Option<String> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn three_ways_to_present_a_key() {
        let secret = Secret::from_entropy([5; 44]);
        let raw = secret.expose();
        assert!(matches!(parse_authorization(raw), Ok(Credential::Key(_))));
        assert!(matches!(parse_authorization(&format!("Bearer {raw}")), Ok(Credential::Key(_))));
        assert!(matches!(parse_authorization(&format!("bearer  {raw}")), Ok(Credential::Key(_))));
        let basic = STANDARD.encode(format!("abc:{raw}"));
        match parse_authorization(&format!("Basic {basic}")) {
            Ok(Credential::Basic { key_id, .. }) => assert_eq!(key_id, "abc"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn junk_is_malformed() {
        for bad in ["", "Bearer", "Bearer nope", "Basic !!!", "Basic YWJj", "kw_short", "Token abc"] {
            assert_eq!(parse_authorization(bad).err(), Some(AuthFailure::Malformed), "{bad}");
        }
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; keyward_session=xyz; b=2".parse().expect("header"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    proptest! {
        #[test]
        fn authorization_parsing_never_panics(s in ".*") {
            let _ = parse_authorization(&s);
            let _ = parse_authorization(&format!("Basic {s}"));
            let _ = parse_authorization(&format!("Basic {}", STANDARD.encode(&s)));
        }
    }
}
