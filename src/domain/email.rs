//! An email address, checked for shape only: delivery is what proves it.
//! Anything accepted here is also an address the mailer can send to, so a
//! message is never queued for an address that can only fail.

use std::fmt;

/// Shown and serialized as the text itself.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be an email address such as name@example.com")]
pub struct EmailError;

impl Email {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let s = raw.trim();
        let (local, domain) = s.rsplit_once('@').ok_or(EmailError)?;
        let local_ok = !local.is_empty() && local.len() <= 64 && !local.contains('@');
        let domain_ok = domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        let chars_ok =
            s.len() <= 254 && !s.chars().any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c));
        let normalized = format!("{local}@{}", domain.to_lowercase());
        if local_ok && domain_ok && chars_ok && normalized.parse::<lettre::Address>().is_ok() {
            Ok(Self(normalized))
        } else {
            Err(EmailError)
        }
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Addresses are unique ignoring case.
    pub fn folded(&self) -> String {
        Self::fold_typed(&self.0)
    }

    /// An address as someone typed it (at login), folded as `folded` folds a
    /// parsed one: what looks it up and what throttles it are the same key
    /// however it is spaced or cased, including addresses stored before
    /// `parse` grew stricter.
    pub fn fold_typed(raw: &str) -> String {
        raw.trim().to_lowercase()
    }
}

impl std::ops::Deref for Email {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<Email> for String {
    fn from(v: Email) -> Self {
        v.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_addresses() {
        assert_eq!(Email::parse("Ops@Example.COM").map(|e| e.0), Ok("Ops@example.com".into()));
        assert!(Email::parse("a.b+tag@sub.example.org").is_ok());
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@exa mple.com",
            "a@-x.com",
            "a@@example.com",
            "<a@example.com>",
            "a..b@example.com",
            ".a@example.com",
            "a.@example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = Email::parse(&s);
        }

        #[test]
        fn whatever_parses_the_mailer_can_address(local in "[a-zA-Z0-9._%+!#-]{1,20}", domain in "[a-z0-9-]{1,10}\\.[a-z]{2,5}") {
            if let Ok(email) = Email::parse(&format!("{local}@{domain}")) {
                prop_assert!(email.as_str().parse::<lettre::message::Mailbox>().is_ok(), "{}", email.as_str());
            }
        }
    }
}
