//! Throttling of failed attempts: a client address (or key id, or login
//! email) whose credentials keep failing is answered `429` for its further
//! failures until its window passes. Counts live in this node's memory: they
//! protect, and nothing correct depends on them.
//!
//! Memory is bounded whatever clients send: a subject is a parsed address,
//! id or a digest of an email, never the attacker's raw string, and the
//! table holds at most a fixed number of subjects. When it is full the cache
//! keeps the subjects that fail most often (TinyLFU admission), so a flood of
//! one-off subjects cannot wash out the counter of the client that is
//! actually hammering.

use std::net::IpAddr;
use std::time::Duration;

use moka::ops::compute::Op;
use moka::sync::Cache;
use sha2::{Digest, Sha256};

use crate::domain::{Id, UnixTime};

/// Subjects tracked at most, per table.
pub const MAX_SUBJECTS: u64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed in one window; the next ones are throttled.
    pub max_failures: u32,
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self { max_failures: 20, window: Duration::from_secs(60) }
    }
}

/// What failures are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A client address: an IPv4 address, or an IPv6 client's /64, which is
    /// what one subscriber is usually given.
    Addr(IpAddr),
    /// A key id named by Basic credentials; only well-formed ids are counted.
    Key(Id),
    /// A login email, by the digest of its folded form.
    Email([u8; 32]),
}

impl Subject {
    pub fn addr(ip: IpAddr) -> Self {
        Subject::Addr(match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
            v4 => v4,
        })
    }

    /// A login email as typed: folded as its lookup folds it (so spacing or
    /// case cannot make a fresh count), then digested, so that however long
    /// the input its entry has one size.
    pub fn email(typed: &str) -> Self {
        Subject::Email(Sha256::digest(crate::domain::Email::fold_typed(typed).as_bytes()).into())
    }
}

/// A node-wide allowance of anonymous work per second (lookups of secrets
/// nobody proved they hold), whoever asks: per-address throttles bound one
/// client, this bounds them all, however many addresses they rotate through.
pub struct Allowance {
    per_second: u32,
    used: std::sync::Mutex<(UnixTime, u32)>,
}

impl Allowance {
    pub fn new(per_second: u32) -> Self {
        Self { per_second, used: std::sync::Mutex::new((0, 0)) }
    }

    /// Takes `n` units of this second's allowance, or answers the seconds to
    /// wait.
    pub fn take(&self, n: u32, now: UnixTime) -> Result<(), u64> {
        let mut used = self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if used.0 != now {
            *used = (now, 0);
        }
        let fits = used.1.saturating_add(n) <= self.per_second;
        if !fits {
            return Err(1);
        }
        used.1 = used.1.saturating_add(n);
        Ok(())
    }
}

pub struct Throttle {
    policy: ThrottlePolicy,
    windows: Cache<Subject, Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: UnixTime,
    failures: u32,
}

impl Throttle {
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self::with_capacity(policy, MAX_SUBJECTS)
    }

    pub fn with_capacity(policy: ThrottlePolicy, capacity: u64) -> Self {
        // A window is judged by the caller's clock; the cache's own expiry
        // only clears out what can no longer matter.
        let windows =
            Cache::builder().max_capacity(capacity).time_to_live(policy.window + Duration::from_secs(1)).build();
        Self { policy, windows }
    }

    fn window_secs(&self) -> i64 {
        self.policy.window.as_secs().max(1) as i64
    }

    /// Seconds until `subject` may try again, when it is over its limit now.
    pub fn blocked(&self, subject: &Subject, now: UnixTime) -> Option<u64> {
        let w = self.windows.get(subject)?;
        let ends = w.start + self.window_secs();
        (now < ends && w.failures > self.policy.max_failures).then(|| (ends - now) as u64)
    }

    /// Counts one failure of `subject`; answers the seconds to wait when this
    /// failure is past the limit. Counting is atomic per subject, so racing
    /// requests cannot all slip under the limit.
    pub fn fail(&self, subject: &Subject, now: UnixTime) -> Option<u64> {
        self.fail_many(subject, 1, now)
    }

    /// Counts `n` failures at once: a bulk call that made `n` guesses.
    pub fn fail_many(&self, subject: &Subject, n: u32, now: UnixTime) -> Option<u64> {
        let span = self.window_secs();
        let counted = self.windows.entry(subject.clone()).and_compute_with(|current| {
            let w = match current.map(|e| e.into_value()) {
                Some(w) if now < w.start + span => Window { failures: w.failures.saturating_add(n), ..w },
                _ => Window { start: now, failures: n },
            };
            Op::Put(w)
        });
        let w = counted.into_entry().map(|e| e.into_value())?;
        let ends = w.start + span;
        (w.failures > self.policy.max_failures).then(|| (ends - now).max(1) as u64)
    }

    /// Takes back one failure counted ahead of work that then succeeded.
    pub fn forgive(&self, subject: &Subject) {
        self.windows.entry(subject.clone()).and_compute_with(|current| match current.map(|e| e.into_value()) {
            Some(w) if w.failures > 1 => Op::Put(Window { failures: w.failures - 1, ..w }),
            Some(_) => Op::Remove,
            None => Op::Nop,
        });
    }

    /// Subjects tracked now (after pending upkeep), for tests and metrics.
    pub fn tracked(&self) -> u64 {
        self.windows.run_pending_tasks();
        self.windows.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(ThrottlePolicy { max_failures: 3, window: Duration::from_secs(60) })
    }

    #[test]
    fn an_address_counts_once_however_it_is_spaced_or_cased() {
        let one = Subject::email("ada@example.com");
        for typed in [" ada@example.com", "ADA@Example.com\t", "\u{a0}Ada@example.COM\n"] {
            assert!(Subject::email(typed) == one, "{typed:?} is a count of its own");
        }
        assert!(Subject::email("bob@example.com") != one);
    }

    fn ip(s: &str) -> Subject {
        Subject::addr(s.parse().expect("ip"))
    }

    #[test]
    fn a_bulk_call_counts_each_guess() {
        let t = throttle();
        let a = ip("1.2.3.4");
        assert_eq!(t.fail_many(&a, 3, 1000), None);
        assert_eq!(t.blocked(&a, 1000), None);
        assert_eq!(t.fail_many(&a, 2, 1001), Some(59));
        assert_eq!(t.blocked(&a, 1001), Some(59));
    }

    #[test]
    fn the_allowance_is_shared_and_renews_each_second() {
        let a = Allowance::new(1000);
        assert_eq!(a.take(600, 5), Ok(()));
        assert_eq!(a.take(600, 5), Err(1), "the second caller finds this second spent");
        assert_eq!(a.take(400, 5), Ok(()));
        assert_eq!(a.take(1, 5), Err(1));
        assert_eq!(a.take(600, 6), Ok(()), "a new second");
        assert_eq!(a.take(5000, 7), Err(1), "never more than a second's");
    }

    #[test]
    fn throttles_past_the_limit_until_the_window_ends() {
        let t = throttle();
        let a = ip("1.2.3.4");
        for i in 0..3 {
            assert_eq!(t.fail(&a, 1000 + i), None);
        }
        assert_eq!(t.blocked(&a, 1003), None);
        assert_eq!(t.fail(&a, 1010), Some(50));
        assert_eq!(t.blocked(&a, 1030), Some(30));
        assert_eq!(t.blocked(&a, 1060), None);
        assert_eq!(t.fail(&a, 1060), None, "a new window starts clean");
    }

    #[test]
    fn subjects_are_counted_apart() {
        let t = throttle();
        for _ in 0..10 {
            t.fail(&ip("10.0.0.1"), 0);
        }
        assert!(t.blocked(&ip("10.0.0.1"), 1).is_some());
        assert_eq!(t.blocked(&ip("10.0.0.2"), 1), None);
        assert_eq!(t.fail(&ip("10.0.0.2"), 1), None);
    }

    #[test]
    fn an_ipv6_64_is_one_subject() {
        assert_eq!(ip("2001:db8:1:2:aaaa::1"), ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_ne!(ip("2001:db8:1:2::1"), ip("2001:db8:1:3::1"));
        assert_eq!(ip("::ffff:192.0.2.7"), ip("192.0.2.7"), "a mapped IPv4 address is that address");
        let t = throttle();
        for i in 0..4u16 {
            t.fail(&Subject::addr(format!("2001:db8::{i:x}").parse().expect("ip")), 0);
        }
        assert!(t.blocked(&ip("2001:db8::ffff"), 1).is_some(), "another address of the /64 is throttled too");
    }

    #[test]
    fn forgiving_takes_back_a_counted_failure() {
        let t = throttle();
        let a = ip("1.2.3.4");
        for _ in 0..3 {
            t.fail(&a, 0);
        }
        t.forgive(&a);
        assert_eq!(t.fail(&a, 0), None, "back under the limit");
        assert!(t.fail(&a, 0).is_some());
    }

    #[test]
    fn a_flood_of_new_subjects_leaves_the_table_bounded_and_the_hammering_client_counted() {
        let t = Throttle::with_capacity(ThrottlePolicy { max_failures: 20, window: Duration::from_secs(60) }, 1_000);
        let attacker = ip("198.51.100.9");
        for _ in 0..30 {
            t.fail(&attacker, 0);
        }
        for _ in 0..10_000 {
            t.fail(&Subject::Key(Id::generate()), 0);
            t.fail(&attacker, 0);
        }
        assert!(t.tracked() <= 1_000, "tracked {}", t.tracked());
        assert!(t.blocked(&attacker, 1).is_some(), "the attacker's counter survived the flood");
    }
}
