//! Authentication extractors. `Caller` is the principal pinned to one
//! organization; `Who` is the identity before pinning (for listings that
//! span organizations). Handlers never read credentials themselves.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ipnet::IpNet;
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;
use crate::domain::{Id, Secret, Token};
use crate::service::Principal;
use crate::service::auth::{AuthFailure, Authenticated, Credential};
use crate::service::decision::{KeyDecision, KeyRequest, Refusal};
use crate::service::meter::RateStatus;
use crate::service::principal::Identity;

pub const SESSION_COOKIE: &str = "keyward_session";
pub const CSRF_COOKIE: &str = "keyward_csrf";
/// Under https the cookies carry the `__Host-` prefix: a browser then accepts
/// them only from this very host, over https, for the whole site, so a page
/// on a sibling subdomain cannot plant a session of its choosing.
pub const SECURE_SESSION_COOKIE: &str = "__Host-keyward_session";
pub const SECURE_CSRF_COOKIE: &str = "__Host-keyward_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller of a request, pinned to an organization by `orgId`.
pub struct Caller(pub Principal);

/// A caller proven by an API key or an access token only, never by the web
/// app's cookie: what a gateway asks about is a machine's credential, and a
/// browser's session riding along to a service on the same host must not
/// pass for one. The key must hold every `scope` the query names (`403`
/// naming the first it lacks).
pub struct KeyCaller {
    pub principal: Principal,
    pub key: Authenticated,
    /// The key's rate-limit count after this use; `None` when it has none.
    pub rate: Option<RateStatus>,
}

/// Where the request's key leaves its rate-limit count, for the
/// `RateLimit-*` headers of whatever answer the request gets.
#[derive(Clone, Default)]
pub struct RateSlot(Arc<Mutex<Option<RateStatus>>>);

impl RateSlot {
    pub fn get(&self) -> Option<RateStatus> {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, status: RateStatus) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(status);
    }
}

/// The caller's identity, not yet pinned to an organization.
pub struct Who(pub Identity);

/// The client's address, as the audit trail and throttling see it: the
/// peer's, or when the peer is a trusted proxy, the one it forwards.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_addr(parts, &state.trusted_proxies)))
    }
}

/// The organization a request pins with `orgId`, if any (an empty value
/// pins none).
pub struct RequestedOrg(pub Option<Id>);

impl<S: Send + Sync> FromRequestParts<S> for RequestedOrg {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        AuthQuery::read(parts).map(|q| RequestedOrg(q.org))
    }
}

/// What the key check reads from a query string, in one pass over it (it is
/// on the path of every gateway's request): the organization pinned and the
/// scopes asked for, still unparsed.
#[derive(Default)]
struct AuthQuery<'a> {
    org: Option<Id>,
    scopes: Vec<Cow<'a, str>>,
}

impl<'a> AuthQuery<'a> {
    fn read(parts: &'a Parts) -> Result<Self, ApiError> {
        let Some(query) = parts.uri.query() else { return Ok(Self::default()) };
        let mut org = None;
        let mut scopes = Vec::new();
        let mut pinned_twice = false;
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*name {
                "orgId" => pinned_twice |= org.replace(value).is_some(),
                "scope" => scopes.push(value),
                _ => {}
            }
        }
        if pinned_twice {
            return Err(ApiError::bad_request("orgId", "must be given at most once"));
        }
        // An id of the wrong shape names no organization anyone belongs to.
        let org = org.filter(|raw| !raw.is_empty()).map(|raw| Id::parse(&raw).unwrap_or_else(Id::generate));
        Ok(Self { org, scopes })
    }

    /// The `scope` parameters, each checked to be a scope a key could hold.
    fn required_scopes(&self) -> Result<&[Cow<'a, str>], ApiError> {
        crate::domain::scope::check_list(&self.scopes).map_err(|(i, detail)| match i {
            Some(i) if self.scopes.len() > 1 => ApiError::bad_request(format!("scope[{i}]"), detail),
            _ => ApiError::bad_request("scope", detail),
        })?;
        Ok(&self.scopes)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Who(identity) = Who::from_request_parts(parts, state).await?;
        pin(identity, parts, state).await.map(Caller)
    }
}

impl FromRequestParts<AppState> for KeyCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            state.service.metrics().auth_outcome(AuthFailure::Missing.reason());
            return Err(ApiError::unauthorized());
        };
        let query = AuthQuery::read(parts)?;
        let scopes = query.required_scopes()?;
        let (key, rate) = authenticate_key(parts, state, value.clone(), scopes).await?;
        let principal = pin_to(Identity::ServiceAccount(key.clone()), query.org, parts, state)?;
        Ok(KeyCaller { principal, key, rate })
    }
}

async fn pin(identity: Identity, parts: &mut Parts, state: &AppState) -> Result<Principal, ApiError> {
    let RequestedOrg(org) = RequestedOrg::from_request_parts(parts, state).await?;
    pin_to(identity, org, parts, state)
}

fn pin_to(identity: Identity, org: Option<Id>, parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let client = client_addr(parts, &state.trusted_proxies).map(|ip| ip.to_string());
    Ok(identity.pin(org, client)?)
}

/// An identity a middleware already proved for this request (set only by
/// the server itself, never from anything a client sends).
#[derive(Clone)]
pub struct Proven(pub Identity);

impl FromRequestParts<AppState> for Who {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(Proven(identity)) = parts.extensions.get::<Proven>() {
            return Ok(Who(identity.clone()));
        }
        let service = &state.service;
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            return authenticate_header(parts, state, value.clone()).await.map(Who);
        }
        if let Some(token) = single_cookie(&parts.headers, state.session_cookie()) {
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

/// The identity an `Authorization` header proves.
async fn authenticate_header(parts: &Parts, state: &AppState, value: HeaderValue) -> Result<Identity, ApiError> {
    authenticate_key(parts, state, value, &[]).await.map(|(key, _)| Identity::ServiceAccount(key))
}

/// A key (or its access token), decided by the service's one key decision;
/// this only gathers the request's facts and renders the answer (`401`,
/// `403` naming a missing scope, `429`).
async fn authenticate_key(
    parts: &Parts,
    state: &AppState,
    value: HeaderValue,
    scopes: &[Cow<'_, str>],
) -> Result<(Authenticated, Option<RateStatus>), ApiError> {
    let request = KeyRequest {
        credential: value.to_str().map_err(|_| AuthFailure::Malformed).and_then(parse_authorization),
        client: client_addr(parts, &state.trusted_proxies),
        scopes,
        issuer: &state.public_url,
    };
    let decision = state.service.decide_key(request).await?;
    let slot = parts.extensions.get::<RateSlot>();
    let show = |status: Option<RateStatus>| {
        if let (Some(status), Some(slot)) = (status, slot) {
            slot.set(status);
        }
    };
    match decision {
        KeyDecision::Allowed { who, rate } => {
            show(rate);
            Ok((who, rate))
        }
        KeyDecision::Refused(Refusal::Unproven { throttled: Some(wait), .. }) => Err(ApiError::too_many_requests(wait)),
        KeyDecision::Refused(Refusal::Unproven { throttled: None, .. }) => Err(ApiError::unauthorized()),
        KeyDecision::Refused(Refusal::MissingScope { scope, rate }) => {
            show(rate);
            Err(ApiError::missing_scope(&scope))
        }
        KeyDecision::Refused(Refusal::RateLimited(status)) => {
            show(Some(status));
            Err(ApiError::rate_limited(status.reset))
        }
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

/// The cookie `name` when the request carries exactly one. Two of one name
/// mean someone else planted one (a sibling subdomain can, for a cookie
/// without the `__Host-` prefix); neither is believed.
pub fn single_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut found = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// The client's address: the peer's, unless the peer is a trusted proxy;
/// then the right-most address in `X-Forwarded-For` that is not itself a
/// trusted proxy (what a client writes to the left of that is unproven).
pub fn client_addr(parts: &Parts, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip().to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded = parts.headers.get_all(X_FORWARDED_FOR).iter().rev().flat_map(|v| {
        // A header that is not text stops the walk like a bad entry would.
        v.to_str().map_or_else(|_| vec![""], |s| s.rsplit(',').collect())
    });
    let mut client = peer;
    for entry in forwarded {
        let Some(ip) = parse_forwarded(entry.trim()) else { break };
        client = ip;
        if !is_trusted(&client) {
            break;
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    entry.parse::<IpAddr>().or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip())).ok().map(|ip| ip.to_canonical())
}

const X_FORWARDED_FOR: &str = "x-forwarded-for";

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

    fn parts_of(uri: &str) -> Parts {
        axum::http::Request::builder().uri(uri).body(()).expect("request").into_parts().0
    }

    #[test]
    fn the_query_is_read_in_one_pass_for_scopes_and_the_organization() {
        let org = Id::generate();
        let parts = parts_of(&format!("/v?scope=read&other=1&orgId={org}&scope=billing%3Aexport&scope=read"));
        let query = AuthQuery::read(&parts).expect("read");
        assert_eq!(query.org, Some(org));
        assert_eq!(query.required_scopes().expect("scopes"), ["read", "billing:export", "read"]);

        let none = parts_of("/v?orgId=");
        assert_eq!(AuthQuery::read(&none).expect("read").org, None);
        // A malformed id pins an organization nobody belongs to, never none.
        let junk = parts_of("/v?orgId=zzz");
        assert!(AuthQuery::read(&junk).expect("read").org.is_some());
        assert!(AuthQuery::read(&parts_of("/v?orgId=a&orgId=b")).is_err());
        let bad = parts_of("/v?scope=read&scope=Not%20One");
        assert!(AuthQuery::read(&bad).expect("read").required_scopes().is_err());
    }

    #[test]
    fn junk_is_malformed() {
        for bad in ["", "Bearer", "Bearer nope", "Basic !!!", "Basic YWJj", "kw_short", "Token abc"] {
            assert_eq!(parse_authorization(bad).err(), Some(AuthFailure::Malformed), "{bad}");
        }
    }

    #[test]
    fn cookies_are_found_by_name_and_a_duplicate_is_believed_never() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; keyward_session=xyz; b=2".parse().expect("header"));
        assert_eq!(single_cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(single_cookie(&headers, "c"), None);
        headers.insert(header::COOKIE, "keyward_session=planted; keyward_session=xyz".parse().expect("header"));
        assert_eq!(single_cookie(&headers, SESSION_COOKIE), None);
        headers.insert(header::COOKIE, "keyward_session=planted".parse().expect("header"));
        headers.append(header::COOKIE, "keyward_session=xyz".parse().expect("header"));
        assert_eq!(single_cookie(&headers, SESSION_COOKIE), None, "across two Cookie headers too");
    }

    fn parts(peer: &str, forwarded: &[&str]) -> Parts {
        let mut builder = axum::http::Request::builder();
        for f in forwarded {
            builder = builder.header(X_FORWARDED_FOR, *f);
        }
        let (mut parts, ()) = builder.body(()).expect("request").into_parts();
        parts.extensions.insert(ConnectInfo(peer.parse::<SocketAddr>().expect("peer")));
        parts
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("ip"))
    }

    #[test]
    fn the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net"), "::1/128".parse().expect("net")];
        assert_eq!(client_addr(&parts("203.0.113.5:1", &["1.1.1.1"]), &trusted), ip("203.0.113.5"), "untrusted peer");
        assert_eq!(client_addr(&parts("203.0.113.5:1", &["1.1.1.1"]), &[]), ip("203.0.113.5"), "nobody trusted");
        assert_eq!(client_addr(&parts("10.1.1.1:1", &["198.51.100.7"]), &trusted), ip("198.51.100.7"));
        assert_eq!(
            client_addr(&parts("10.1.1.1:1", &["6.6.6.6, 198.51.100.7, 10.2.2.2"]), &trusted),
            ip("198.51.100.7"),
            "right-most untrusted; what the client wrote to its left is ignored"
        );
        assert_eq!(
            client_addr(&parts("10.1.1.1:1", &["6.6.6.6", "198.51.100.7"]), &trusted),
            ip("198.51.100.7"),
            "the last header is the nearest hop"
        );
        assert_eq!(client_addr(&parts("10.1.1.1:1", &["junk, 10.3.3.3"]), &trusted), ip("10.3.3.3"));
        assert_eq!(client_addr(&parts("10.1.1.1:1", &[]), &trusted), ip("10.1.1.1"), "no header: the proxy");
        assert_eq!(client_addr(&parts("[::1]:1", &["[2001:db8::1]:443"]), &trusted), ip("2001:db8::1"));
        assert_eq!(client_addr(&parts("[::ffff:10.0.0.1]:1", &["192.0.2.1"]), &trusted), ip("192.0.2.1"));
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
