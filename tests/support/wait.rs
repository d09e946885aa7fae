//! The one way a test waits for something to happen: look, and look again
//! until it holds, failing the test with what it waited for (and what it
//! saw last) once its time is up.
//!
//! A wait looks for a signal — a row, a log line, a metric, a delivered
//! message, an answer — never for time to pass. It looks again soon at
//! first and less often as the wait goes on (so a slow one does not hammer
//! what it polls), and once more at its deadline, so that what happens in
//! time is always seen. The in-process suite (`tests/api/`) and the
//! child-process tests (`tests/*.rs`) both wait through here; code that
//! runs off the async runtime (a child's log, a file, a thread) takes the
//! `_blocking` forms.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// The first pause between two looks; each pause doubles up to `LONGEST`.
const FIRST: Duration = Duration::from_millis(2);
const LONGEST: Duration = Duration::from_millis(50);

/// Waits until `look` answers `Ok`, and answers its value. `Err` says what
/// it sees instead, for the failure's message, which names `what` it waited
/// for past `within`.
pub async fn wait_for<T, S: Display>(within: Duration, what: &str, mut look: impl AsyncFnMut() -> Result<T, S>) -> T {
    let mut patience = Patience::new(within);
    loop {
        match look().await {
            Ok(done) => return done,
            Err(seen) => tokio::time::sleep(patience.pause(what, &seen)).await,
        }
    }
}

/// Waits until `check` holds; fails the test naming `what` past `within`.
pub async fn wait_until(within: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    wait_for(within, what, async || if check().await { Ok(()) } else { Err("") }).await;
}

/// `wait_for`, on the calling thread: for sync tests and helpers.
pub fn wait_for_blocking<T, S: Display>(within: Duration, what: &str, mut look: impl FnMut() -> Result<T, S>) -> T {
    let mut patience = Patience::new(within);
    loop {
        match look() {
            Ok(done) => return done,
            Err(seen) => std::thread::sleep(patience.pause(what, &seen)),
        }
    }
}

/// `wait_until`, on the calling thread.
pub fn wait_until_blocking(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    wait_for_blocking(within, what, || if check() { Ok(()) } else { Err("") });
}

/// When a wait started, how long it may take, and its next pause.
struct Patience {
    within: Duration,
    deadline: Instant,
    next: Duration,
}

impl Patience {
    fn new(within: Duration) -> Self {
        Self { within, deadline: Instant::now() + within, next: FIRST }
    }

    /// How long to pause before the next look; fails the test, with what
    /// the last look saw, once the deadline has passed.
    fn pause(&mut self, what: &str, seen: &dyn Display) -> Duration {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let seen = seen.to_string();
            let seen = if seen.is_empty() { String::new() } else { format!("; the last look saw:\n{seen}") };
            panic!("waited {:?} in vain for: {what}{seen}", self.within);
        }
        let pause = self.next.min(left);
        self.next = (self.next * 2).min(LONGEST);
        pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_answers_once_its_condition_holds() {
        let mut looks = 0;
        let got = wait_for_blocking(Duration::from_secs(5), "three looks", || {
            looks += 1;
            if looks == 3 { Ok(looks) } else { Err(format!("{looks} looks")) }
        });
        assert_eq!(got, 3);
    }

    #[test]
    fn a_wait_in_vain_names_what_it_waited_for_and_what_it_saw() {
        let failed = std::panic::catch_unwind(|| {
            wait_for_blocking(Duration::from_millis(30), "the moon", || Err::<(), _>("only clouds"))
        });
        let message = failed.expect_err("a wait in vain fails").downcast::<String>().expect("a message");
        assert!(message.contains("for: the moon") && message.contains("only clouds"), "{message}");
    }
}
