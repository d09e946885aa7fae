//! What makes a key narrower than its account: a lesser role, scopes,
//! address ranges, a rate limit, and the free-form `meta` a gateway reads.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{Cidr, Role, Scope};

/// A list field's error: the index of the element at fault (`None`: the
/// list as a whole), and why.
pub type ListError = (Option<usize>, String);

/// The most uses a rate limit may allow per period: the exact count keeps
/// one timestamp per use in the window, so this also bounds its memory.
pub const MAX_RATE_LIMIT: u32 = 1_000_000;
/// The longest period, a day: longer windows are quotas, not rate limits.
pub const MAX_RATE_PERIOD: u32 = 86_400;
/// The largest `meta`, serialized.
pub const MAX_META_BYTES: usize = 4096;

/// At most `limit` successful uses in any sliding window of `period` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    pub limit: u32,
    pub period: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitError {
    #[error("must be a whole number from 1 to 1000000")]
    Limit,
    #[error("must be a whole number of seconds from 1 to 86400")]
    Period,
}

impl RateLimitError {
    /// The member of `rateLimit` at fault.
    pub fn member(&self) -> &'static str {
        match self {
            RateLimitError::Limit => "limit",
            RateLimitError::Period => "period",
        }
    }
}

impl RateLimit {
    pub fn parse(limit: i64, period: i64) -> Result<Self, RateLimitError> {
        let limit =
            u32::try_from(limit).ok().filter(|l| (1..=MAX_RATE_LIMIT).contains(l)).ok_or(RateLimitError::Limit)?;
        let period =
            u32::try_from(period).ok().filter(|p| (1..=MAX_RATE_PERIOD).contains(p)).ok_or(RateLimitError::Period)?;
        Ok(Self { limit, period })
    }
}

/// A JSON object of at most 4 KiB, kept as the text it was given in: it is
/// stored and returned as that same text, so that numbers keep their digits
/// (`123456789012345678901234567890` is not turned into a float).
#[derive(Debug, Clone)]
pub struct Meta(Box<RawValue>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetaError {
    #[error("must be a JSON object")]
    NotObject,
    #[error("must be at most 4096 bytes as JSON")]
    TooLarge,
}

impl Meta {
    /// From the text a client sent (already known to be well-formed JSON).
    pub fn parse(raw: &RawValue) -> Result<Self, MetaError> {
        Self::parse_text(raw.get())
    }

    /// From JSON text: an object of at most 4 KiB.
    pub fn parse_text(text: &str) -> Result<Self, MetaError> {
        let text = text.trim();
        if text.len() > MAX_META_BYTES {
            return Err(MetaError::TooLarge);
        }
        // The text is kept, but it must be an object and well-formed.
        if !text.starts_with('{') || serde_json::from_str::<Map<String, Value>>(text).is_err() {
            return Err(MetaError::NotObject);
        }
        RawValue::from_string(text.to_owned()).map(Self).map_err(|_| MetaError::NotObject)
    }

    /// Read back from storage, which only ever holds what `parse` accepted.
    pub fn from_stored(text: &str) -> Option<Self> {
        text.starts_with('{').then(|| RawValue::from_string(text.to_owned()).ok().map(Self)).flatten()
    }

    /// The text as it was given.
    pub fn as_text(&self) -> &str {
        self.0.get()
    }

    pub fn to_json_text(&self) -> String {
        self.as_text().to_owned()
    }

    /// As a JSON value, for the audit trail's details (whose numbers are
    /// JSON numbers there).
    pub fn as_value(&self) -> Value {
        serde_json::from_str(self.as_text()).unwrap_or(Value::Null)
    }
}

impl PartialEq for Meta {
    fn eq(&self, other: &Self) -> bool {
        self.as_text() == other.as_text()
    }
}

impl Eq for Meta {}

impl serde::Serialize for Meta {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// A key's narrowing. The default narrows nothing: the key acts as its
/// account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Narrowing {
    /// `None`: the account's role. Never above the account's when set, and
    /// when the account is demoted later the lesser still applies.
    pub role: Option<Role>,
    /// Empty: none.
    pub scopes: Vec<Scope>,
    /// Empty: any address.
    pub allowed_cidrs: Vec<Cidr>,
    pub rate_limit: Option<RateLimit>,
    pub meta: Option<Meta>,
}

impl Narrowing {
    /// The role a key acts with: the lesser of its own and its account's.
    pub fn effective_role(&self, account: Role) -> Role {
        self.role.map_or(account, |own| own.min(account))
    }

    /// Whether the key may be used from `client`. A key limited to ranges
    /// is refused when the client's address is unknown.
    pub fn admits(&self, client: Option<std::net::IpAddr>) -> bool {
        self.allowed_cidrs.is_empty() || client.is_some_and(|ip| self.allowed_cidrs.iter().any(|c| c.contains(ip)))
    }

    /// The scope of `required` the key lacks first, if any.
    pub fn missing_scope<'a, S: AsRef<str>>(&self, required: &'a [S]) -> Option<&'a str> {
        required.iter().map(AsRef::as_ref).find(|s| !self.scopes.iter().any(|held| held.as_str() == *s))
    }

    /// Space-separated, as OAuth's `scope` and `X-Keyward-Scopes` carry them.
    pub fn scope_string(&self) -> String {
        self.scopes.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_have_ranges() {
        assert_eq!(RateLimit::parse(1, 1), Ok(RateLimit { limit: 1, period: 1 }));
        assert_eq!(RateLimit::parse(1_000_000, 86_400).map(|r| r.limit), Ok(1_000_000));
        assert_eq!(RateLimit::parse(0, 1), Err(RateLimitError::Limit));
        assert_eq!(RateLimit::parse(1_000_001, 1), Err(RateLimitError::Limit));
        assert_eq!(RateLimit::parse(1, 0), Err(RateLimitError::Period));
        assert_eq!(RateLimit::parse(1, 86_401), Err(RateLimitError::Period));
        assert_eq!(RateLimit::parse(-1, 1), Err(RateLimitError::Limit));
    }

    #[test]
    fn meta_is_an_object_of_at_most_4_kib() {
        assert!(Meta::parse_text(r#"{"team": "billing", "n": [1, 2]}"#).is_ok());
        assert_eq!(Meta::parse_text("[1]"), Err(MetaError::NotObject));
        assert_eq!(Meta::parse_text(r#""x""#), Err(MetaError::NotObject));
        assert_eq!(Meta::parse_text("{"), Err(MetaError::NotObject));
        let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(4096));
        assert_eq!(Meta::parse_text(&big), Err(MetaError::TooLarge));
        let exact = format!(r#"{{"x":"{}"}}"#, "a".repeat(4096 - 8));
        assert!(Meta::parse_text(&exact).is_ok(), "{{\"x\":\"…\"}} is 8 bytes of framing");
    }

    #[test]
    fn meta_keeps_its_text_and_numbers_their_digits() {
        let given = r#"{"n": 123456789012345678901234567890, "f": 1.10, "s": "\u00e9"}"#;
        let meta = Meta::parse_text(given).expect("meta");
        assert_eq!(meta.as_text(), given);
        assert_eq!(serde_json::to_string(&meta).expect("json"), given);
        assert_eq!(Meta::from_stored(&meta.to_json_text()), Some(meta));
    }

    #[test]
    fn the_lesser_role_applies() {
        let n = Narrowing { role: Some(Role::Editor), ..Default::default() };
        assert_eq!(n.effective_role(Role::Admin), Role::Editor);
        assert_eq!(n.effective_role(Role::Viewer), Role::Viewer, "a demoted account drags the key down");
        assert_eq!(Narrowing::default().effective_role(Role::Admin), Role::Admin);
    }

    #[test]
    fn cidrs_admit_their_ranges_only() {
        let n = Narrowing { allowed_cidrs: vec![Cidr::parse("10.0.0.0/8").expect("net")], ..Default::default() };
        assert!(n.admits(Some("10.2.3.4".parse().expect("ip"))));
        assert!(!n.admits(Some("11.2.3.4".parse().expect("ip"))));
        assert!(!n.admits(None));
        assert!(Narrowing::default().admits(None));
    }
}
