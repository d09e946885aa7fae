//! Throttling of failed attempts: a client address (or key id, or login
//! email) whose credentials keep failing is answered `429` for its further
//! failures until its window passes. Counts live in this node's memory: they
//! protect, and nothing correct depends on them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::domain::UnixTime;

/// Past this many tracked subjects, expired windows are swept out; if that
/// is not enough the oldest tracking starts over rather than grow without end.
const MAX_SUBJECTS: usize = 100_000;

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

pub struct Throttle {
    policy: ThrottlePolicy,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: UnixTime,
    failures: u32,
}

impl Throttle {
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self { policy, windows: Mutex::default() }
    }

    fn window_secs(&self) -> i64 {
        self.policy.window.as_secs().max(1) as i64
    }

    /// Seconds until `subject` may try again, when it is over its limit now.
    pub fn blocked(&self, subject: &str, now: UnixTime) -> Option<u64> {
        let windows = self.windows.lock().ok()?;
        let w = windows.get(subject)?;
        let ends = w.start + self.window_secs();
        (now < ends && w.failures > self.policy.max_failures).then(|| (ends - now) as u64)
    }

    /// Counts one failure of `subject`; answers the seconds to wait when this
    /// failure is past the limit.
    pub fn fail(&self, subject: &str, now: UnixTime) -> Option<u64> {
        let mut windows = self.windows.lock().ok()?;
        let span = self.window_secs();
        if windows.len() >= MAX_SUBJECTS && !windows.contains_key(subject) {
            windows.retain(|_, w| now < w.start + span);
            if windows.len() >= MAX_SUBJECTS {
                windows.clear();
            }
        }
        let w = windows.entry(subject.to_owned()).or_insert(Window { start: now, failures: 0 });
        if now >= w.start + span {
            *w = Window { start: now, failures: 0 };
        }
        w.failures = w.failures.saturating_add(1);
        let ends = w.start + span;
        (w.failures > self.policy.max_failures).then(|| (ends - now).max(1) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(ThrottlePolicy { max_failures: 3, window: Duration::from_secs(60) })
    }

    #[test]
    fn throttles_past_the_limit_until_the_window_ends() {
        let t = throttle();
        for i in 0..3 {
            assert_eq!(t.fail("1.2.3.4", 1000 + i), None);
        }
        assert_eq!(t.blocked("1.2.3.4", 1003), None);
        assert_eq!(t.fail("1.2.3.4", 1010), Some(50));
        assert_eq!(t.blocked("1.2.3.4", 1030), Some(30));
        assert_eq!(t.blocked("1.2.3.4", 1060), None);
        assert_eq!(t.fail("1.2.3.4", 1060), None, "a new window starts clean");
    }

    #[test]
    fn subjects_are_counted_apart() {
        let t = throttle();
        for _ in 0..10 {
            t.fail("a", 0);
        }
        assert!(t.blocked("a", 1).is_some());
        assert_eq!(t.blocked("b", 1), None);
        assert_eq!(t.fail("b", 1), None);
    }
}
