//! A key is a ceiling: what a key may give a key it creates or changes is
//! nothing wider than itself. The role is held by the caller's role (a key
//! acts with its effective role); this holds the rest of its narrowing and
//! its expiry.
//!
//! A key without scopes (or ranges, or a rate limit, or an expiry) is not
//! narrowed by them and bounds nothing there. A key that has them gives only
//! keys that have them too, within its own: a scoped key cannot mint an
//! unscoped key, which would in turn bound nothing.

use super::{Cidr, Narrowing, RateLimit, Scope, UnixTime};

/// The bounds a calling key sets on the keys it makes or changes. The
/// default bounds nothing: a person, the operator, an unnarrowed key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ceiling {
    scopes: Option<Vec<Scope>>,
    cidrs: Option<Vec<Cidr>>,
    rate_limit: Option<RateLimit>,
    expires: Option<UnixTime>,
}

/// Why a key would be wider than its maker: the field at fault and a
/// sentence for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeds {
    pub field: &'static str,
    pub detail: String,
}

impl Exceeds {
    fn new(field: &'static str, detail: impl Into<String>) -> Self {
        Self { field, detail: detail.into() }
    }
}

impl Ceiling {
    /// The ceiling of a key with this narrowing and expiry.
    pub fn of_key(narrowing: &Narrowing, expires: Option<UnixTime>) -> Self {
        let some_list = |list: &[Scope]| (!list.is_empty()).then(|| list.to_vec());
        Self {
            scopes: some_list(&narrowing.scopes),
            cidrs: (!narrowing.allowed_cidrs.is_empty()).then(|| narrowing.allowed_cidrs.clone()),
            rate_limit: narrowing.rate_limit,
            expires,
        }
    }

    /// Whether this ceiling bounds anything.
    pub fn is_unbounded(&self) -> bool {
        *self == Self::default()
    }

    /// The latest expiry a key made under this ceiling may have.
    pub fn expires(&self) -> Option<UnixTime> {
        self.expires
    }

    /// Whether a key narrowed by `n` and ending at `expires` stays within
    /// this ceiling; the first field that does not, otherwise.
    pub fn check(&self, n: &Narrowing, expires: Option<UnixTime>) -> Result<(), Exceeds> {
        if let Some(mine) = &self.scopes {
            let listed = mine.iter().map(Scope::as_str).collect::<Vec<_>>().join(", ");
            if n.scopes.is_empty() {
                return Err(Exceeds::new("scopes", format!("must be some of the calling key's scopes ({listed})")));
            }
            if let Some(extra) = n.scopes.iter().find(|s| !mine.contains(s)) {
                return Err(Exceeds::new(
                    "scopes",
                    format!("{} is not one of the calling key's scopes ({listed})", extra.as_str()),
                ));
            }
        }
        if let Some(mine) = &self.cidrs {
            let listed = mine.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            if n.allowed_cidrs.is_empty() {
                return Err(Exceeds::new(
                    "allowedCidrs",
                    format!("must lie within the calling key's ranges ({listed})"),
                ));
            }
            if let Some(outside) = n.allowed_cidrs.iter().find(|c| !mine.iter().any(|m| m.covers(c))) {
                return Err(Exceeds::new(
                    "allowedCidrs",
                    format!("{outside} is not within the calling key's ranges ({listed})"),
                ));
            }
        }
        if let Some(mine) = self.rate_limit {
            let within = n.rate_limit.is_some_and(|r| r.within(mine));
            if !within {
                return Err(Exceeds::new(
                    "rateLimit",
                    format!(
                        "must be no looser than the calling key's ({} per {} s): a limit at most {} over a period of at least {} s",
                        mine.limit, mine.period, mine.limit, mine.period
                    ),
                ));
            }
        }
        if let Some(mine) = self.expires {
            if expires.is_none_or(|at| at > mine) {
                return Err(Exceeds::new(
                    "expires",
                    format!("must be no later than the calling key's expiry ({mine})"),
                ));
            }
        }
        Ok(())
    }
}

impl RateLimit {
    /// Whether this limit allows no more than `other` in any window: at
    /// most as many uses, over a period at least as long.
    pub fn within(self, other: RateLimit) -> bool {
        self.limit <= other.limit && self.period >= other.period
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scopes(list: &[&str]) -> Vec<Scope> {
        list.iter().map(|s| Scope::parse(s).expect("scope")).collect()
    }

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|s| Cidr::parse(s).expect("cidr")).collect()
    }

    fn narrowed(s: &[&str], c: &[&str], rate: Option<(u32, u32)>) -> Narrowing {
        Narrowing {
            scopes: scopes(s),
            allowed_cidrs: cidrs(c),
            rate_limit: rate.map(|(limit, period)| RateLimit { limit, period }),
            ..Default::default()
        }
    }

    #[test]
    fn an_unnarrowed_key_bounds_nothing() {
        let c = Ceiling::of_key(&Narrowing::default(), None);
        assert!(c.is_unbounded());
        assert_eq!(c.check(&narrowed(&["admin:all"], &[], None), None), Ok(()));
    }

    #[test]
    fn the_attack_of_the_report_is_refused() {
        let me = Ceiling::of_key(&narrowed(&["read"], &["127.0.0.1/32"], Some((10, 60))), Some(1_000));
        let wide = narrowed(&["read", "write", "billing:admin"], &[], None);
        assert_eq!(me.check(&wide, None).map_err(|e| e.field), Err("scopes"));
        let no_scopes = narrowed(&[], &["127.0.0.1/32"], Some((10, 60)));
        assert_eq!(me.check(&no_scopes, Some(1_000)).map_err(|e| e.field), Err("scopes"));
        let no_ranges = narrowed(&["read"], &[], Some((10, 60)));
        assert_eq!(me.check(&no_ranges, Some(1_000)).map_err(|e| e.field), Err("allowedCidrs"));
        let no_limit = narrowed(&["read"], &["127.0.0.1/32"], None);
        assert_eq!(me.check(&no_limit, Some(1_000)).map_err(|e| e.field), Err("rateLimit"));
        let same = narrowed(&["read"], &["127.0.0.1/32"], Some((10, 60)));
        assert_eq!(me.check(&same, None).map_err(|e| e.field), Err("expires"));
        assert_eq!(me.check(&same, Some(1_001)).map_err(|e| e.field), Err("expires"));
        assert_eq!(me.check(&same, Some(1_000)), Ok(()));
    }

    #[test]
    fn ranges_must_lie_inside_and_limits_be_no_looser() {
        let me = Ceiling::of_key(&narrowed(&[], &["10.0.0.0/8", "2001:db8::/32"], Some((10, 60))), None);
        assert_eq!(me.check(&narrowed(&[], &["10.1.0.0/16", "2001:db8:1::/48"], Some((5, 60))), None), Ok(()));
        assert_eq!(me.check(&narrowed(&[], &["10.0.0.0/8"], Some((10, 3600))), None), Ok(()));
        assert!(me.check(&narrowed(&[], &["0.0.0.0/0"], Some((10, 60))), None).is_err());
        assert!(me.check(&narrowed(&[], &["11.0.0.1"], Some((10, 60))), None).is_err());
        assert!(me.check(&narrowed(&[], &["10.0.0.1"], Some((11, 60))), None).is_err());
        assert!(me.check(&narrowed(&[], &["10.0.0.1"], Some((1, 1))), None).is_err(), "60 a minute is looser");
    }

    fn arb_narrowing() -> impl Strategy<Value = (Narrowing, Option<UnixTime>)> {
        let pool = ["a", "b", "c", "d"];
        let nets = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "192.168.0.0/16", "0.0.0.0/0", "::/0"];
        (
            proptest::sample::subsequence(pool.to_vec(), 0..=pool.len()),
            proptest::sample::subsequence(nets.to_vec(), 0..=3),
            proptest::option::of((1u32..20, 1u32..120)),
            proptest::option::of(0i64..100),
        )
            .prop_map(|(s, c, rate, expires)| (narrowed(&s, &c, rate), expires))
    }

    /// Whether `a` is no wider than `b` by every measure a key is used by:
    /// the requests it can make and the keys it can in turn make.
    fn no_wider(a: &(Narrowing, Option<UnixTime>), b: &(Narrowing, Option<UnixTime>)) -> bool {
        Ceiling::of_key(&b.0, b.1).check(&a.0, a.1).is_ok()
    }

    proptest! {
        /// Whatever a key makes is within it, and whatever that makes is
        /// within the first: no chain of keys widens.
        #[test]
        fn no_chain_of_keys_widens(root in arb_narrowing(), child in arb_narrowing(), grandchild in arb_narrowing()) {
            let root_ceiling = Ceiling::of_key(&root.0, root.1);
            if root_ceiling.check(&child.0, child.1).is_ok() && no_wider(&grandchild, &child) {
                prop_assert!(root_ceiling.check(&grandchild.0, grandchild.1).is_ok());
            }
        }

        /// An accepted key admits no address, scope or rate its maker does not.
        #[test]
        fn an_accepted_key_is_no_wider_in_use(maker in arb_narrowing(), made in arb_narrowing(), last in 0u8..=255) {
            if Ceiling::of_key(&maker.0, maker.1).check(&made.0, made.1).is_err() {
                return Ok(());
            }
            let ip = std::net::IpAddr::from([10, 1, 2, last]);
            if !maker.0.allowed_cidrs.is_empty() {
                prop_assert!(!made.0.admits(Some(ip)) || maker.0.admits(Some(ip)));
            }
            if !maker.0.scopes.is_empty() {
                for s in &made.0.scopes {
                    prop_assert!(maker.0.scopes.contains(s));
                }
            }
            if let (Some(mine), Some(theirs)) = (maker.0.rate_limit, made.0.rate_limit) {
                prop_assert!(theirs.limit <= mine.limit && theirs.period >= mine.period);
            }
            if let Some(mine) = maker.1 {
                prop_assert!(made.1.is_some_and(|at| at <= mine));
            }
        }

        /// Whatever only narrows a key (fewer scopes, smaller ranges, a
        /// tighter limit, an earlier end) is accepted: the ceiling refuses
        /// nothing a careful caller would ask for.
        #[test]
        fn narrowing_is_always_allowed(
            maker in arb_narrowing(),
            keep_scopes in proptest::collection::vec(any::<bool>(), 4),
            limit_cut in 0u32..20,
            period_add in 0u32..100,
            earlier in 0i64..50,
        ) {
            let (n, expires) = &maker;
            let mut scopes: Vec<Scope> =
                n.scopes.iter().zip(&keep_scopes).filter(|(_, keep)| **keep).map(|(s, _)| s.clone()).collect();
            if scopes.is_empty() {
                scopes = n.scopes.iter().take(1).cloned().collect();
            }
            let allowed_cidrs = n.allowed_cidrs.iter().take(1).cloned().collect();
            let rate_limit = n.rate_limit.map(|r| RateLimit {
                limit: r.limit.saturating_sub(limit_cut).max(1),
                period: r.period + period_add,
            });
            let made = Narrowing { scopes, allowed_cidrs, rate_limit, ..Default::default() };
            let made_expires = expires.map(|at| at - earlier);
            prop_assert_eq!(Ceiling::of_key(n, *expires).check(&made, made_expires), Ok(()));
        }

        /// A key is always within its own ceiling, so rotating it (the
        /// successor keeps its narrowing) is allowed.
        #[test]
        fn a_key_is_within_itself(key in arb_narrowing()) {
            prop_assert!(no_wider(&key, &key));
        }
    }
}
