//! Scopes: free-form permissions a key carries for the services behind a gateway.

use std::fmt;

/// The most scopes one key may carry.
pub const MAX_SCOPES: usize = 50;
/// The longest a scope may be.
pub const MAX_LEN: usize = 64;

/// `^[a-z0-9][a-z0-9_.:-]{0,63}$`: lowercase, so that `read` and `Read`
/// can never be two permissions, and free of separators (space, comma) so
/// that a list of scopes reads back unambiguously.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("must be 1 to 64 characters")]
    Length,
    #[error("must start with a-z or 0-9 and hold only a-z, 0-9, _ . : -")]
    Character,
}

impl Scope {
    pub fn parse(raw: &str) -> Result<Self, ScopeError> {
        check(raw).map(|()| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `raw` is a scope, without keeping it.
pub fn check(raw: &str) -> Result<(), ScopeError> {
    if raw.is_empty() || raw.len() > MAX_LEN {
        return Err(ScopeError::Length);
    }
    let first_ok = raw.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.:-".contains(&b));
    if first_ok && rest_ok { Ok(()) } else { Err(ScopeError::Character) }
}

/// A list of scopes: at most [`MAX_SCOPES`], duplicates dropped (the first
/// occurrence keeps its place). An error names the index at fault, or `None`
/// when the list as a whole is too long.
pub fn parse_list<S: AsRef<str>>(raw: &[S]) -> Result<Vec<Scope>, super::narrow::ListError> {
    check_list(raw)?;
    let mut out: Vec<Scope> = Vec::with_capacity(raw.len().min(MAX_SCOPES));
    for s in raw {
        if !out.iter().any(|kept| kept.as_str() == s.as_ref()) {
            out.push(Scope(s.as_ref().to_owned()));
        }
    }
    Ok(out)
}

/// What `parse_list` would refuse, found without keeping anything: the key
/// check reads the scopes a request asks for before it knows the caller.
/// Stops at the first scope past the limit, so a query of thousands costs
/// no more than fifty comparisons each.
pub fn check_list<S: AsRef<str>>(raw: &[S]) -> Result<(), super::narrow::ListError> {
    let mut distinct: [&str; MAX_SCOPES] = [""; MAX_SCOPES];
    let mut count = 0;
    for (i, s) in raw.iter().enumerate() {
        let s = s.as_ref();
        check(s).map_err(|e| (Some(i), e.to_string()))?;
        if distinct[..count].contains(&s) {
            continue;
        }
        if count == MAX_SCOPES {
            return Err((None, format!("at most {MAX_SCOPES} scopes")));
        }
        distinct[count] = s;
        count += 1;
    }
    Ok(())
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_pattern_holds() {
        for ok in ["read", "0", "orders:write", "a.b_c-d:e", &"a".repeat(64)] {
            assert!(Scope::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Scope::parse(""), Err(ScopeError::Length));
        assert_eq!(Scope::parse(&"a".repeat(65)), Err(ScopeError::Length));
        for bad in ["Read", "_x", ":x", "a b", "a,b", "é", "a/b"] {
            assert_eq!(Scope::parse(bad), Err(ScopeError::Character), "{bad}");
        }
    }

    #[test]
    fn lists_drop_duplicates_and_name_the_bad_index() {
        let list = parse_list(&["b", "a", "b"]).expect("list");
        assert_eq!(list.iter().map(Scope::as_str).collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(parse_list(&["a", "B"]).map_err(|e| e.0), Err(Some(1)));
        let many: Vec<String> = (0..51).map(|i| format!("s{i}")).collect();
        assert_eq!(parse_list(&many).map_err(|e| e.0), Err(None));
        let repeated: Vec<&str> = std::iter::repeat_n("same", 60).collect();
        assert_eq!(parse_list(&repeated).map(|l| l.len()), Ok(1), "duplicates do not count toward the limit");
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_accepts_only_the_pattern(s in ".*") {
            if let Ok(scope) = Scope::parse(&s) {
                prop_assert!(scope.as_str().len() <= MAX_LEN);
                prop_assert!(!scope.as_str().contains(' '));
            }
        }
    }
}
