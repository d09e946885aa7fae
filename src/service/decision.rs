//! The key decision: every request that presents a key or an access token is
//! decided here, by its rules in one written order, into one answer.
//!
//! 1. The credential is read (a malformed one proves nothing).
//! 2. It is proven: a key by its secret (Basic: and its id), a token by
//!    keyward's signature, and either only while the key, its account and
//!    their state allow it.
//! 3. The client's address must be within the key's ranges.
//! 4. The key must hold every scope the request asks for.
//! 5. A use must fit the key's rate limit.
//!
//! Refusals at 1–3 are failed credentials, counted against the client (and
//! the key id a Basic credential named) for throttling; 4 and 5 refuse a key
//! that is what it claims. Only a request that passes every rule is a use of
//! the key (noted for `lastUsed`), and each request is counted once, by its
//! outcome.

use std::borrow::Cow;
use std::net::IpAddr;

use super::auth::{AuthError, AuthFailure, Authenticated, Credential};
use super::meter::RateStatus;
use super::{Service, ServiceError};

/// What the request brings to the decision.
pub struct KeyRequest<'a> {
    /// The credential as read from the request, or why it could not be.
    pub credential: Result<Credential, AuthFailure>,
    /// The client's address, as trusted proxies let it be known.
    pub client: Option<IpAddr>,
    /// Scopes the request requires (already checked to be scopes).
    pub scopes: &'a [Cow<'a, str>],
    /// The issuer access tokens must name (this server's public URL).
    pub issuer: &'a str,
}

/// The one answer to a request's key.
#[derive(Debug)]
pub enum KeyDecision {
    /// Every rule passed: who is calling, and where its rate limit stands.
    Allowed {
        who: Authenticated,
        rate: Option<RateStatus>,
    },
    Refused(Refusal),
}

/// Why a key was refused, with what its answer needs.
#[derive(Debug)]
pub enum Refusal {
    /// The credential proves nothing here (`401`), or its client or key id
    /// has failed too often (`429` after this many seconds).
    Unproven { reason: AuthFailure, throttled: Option<u64> },
    /// A valid key without a scope the request requires (`403`); where its
    /// rate limit stands, though this was no use of it.
    MissingScope { scope: String, rate: Option<RateStatus> },
    /// A valid key past its rate limit (`429`).
    RateLimited(RateStatus),
}

impl Service {
    /// Decides a request's key by the rules above, in that order.
    pub async fn decide_key(&self, request: KeyRequest<'_>) -> Result<KeyDecision, ServiceError> {
        let KeyRequest { credential, client, scopes, issuer } = request;
        let credential = match credential {
            Ok(credential) => credential,
            Err(reason) => return Ok(self.unproven(reason, client, None)),
        };
        let basic_key_id = match &credential {
            Credential::Basic { key_id, .. } => Some(key_id.as_str()),
            Credential::Key(_) | Credential::AccessToken(_) => None,
        };
        let proven = match &credential {
            Credential::AccessToken(token) => self.verify_access_token(token, issuer).await,
            key => self.authenticate(key).await,
        };
        let who = match proven {
            Ok(who) => who,
            Err(AuthError::Refused(reason)) => return Ok(self.unproven(reason, client, basic_key_id)),
            Err(AuthError::Service(e)) => {
                self.metrics().auth_outcome("error");
                return Err(e);
            }
        };
        if !who.narrowing.admits(client) {
            return Ok(self.unproven(AuthFailure::OutsideAllowedCidrs, client, None));
        }
        if let Some(missing) = who.narrowing.missing_scope(scopes) {
            self.metrics().auth_outcome("missing_scope");
            let rate = self.rate_standing(&who).await;
            return Ok(KeyDecision::Refused(Refusal::MissingScope { scope: missing.to_owned(), rate }));
        }
        let rate = self.meter(&who).await;
        if let Some(status) = rate.filter(|s| !s.allowed) {
            self.metrics().auth_outcome("rate_limited");
            return Ok(KeyDecision::Refused(Refusal::RateLimited(status)));
        }
        self.metrics().auth_outcome("ok");
        self.note_use(&who.key_id, &who.account_id);
        Ok(KeyDecision::Allowed { who, rate })
    }

    /// A failed credential: counted by its reason, and against its client
    /// and the key id it named.
    fn unproven(&self, reason: AuthFailure, client: Option<IpAddr>, key_id: Option<&str>) -> KeyDecision {
        self.metrics().auth_outcome(reason.reason());
        match reason {
            AuthFailure::Expired => self.metrics().lifecycle("expired"),
            AuthFailure::KeyDisabled | AuthFailure::AccountDisabled => self.metrics().lifecycle("disabled"),
            _ => {}
        }
        let throttled = self.note_failure(client, key_id);
        KeyDecision::Refused(Refusal::Unproven { reason, throttled })
    }
}
