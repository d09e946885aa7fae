//! Rate limits of narrowed keys: at most `limit` successful uses in any
//! sliding window of `period` seconds, counted exactly.
//!
//! The count is a log of the uses still inside the window (one timestamp
//! each, so at most `limit` per key): a use is let through when fewer than
//! `limit` remain after the expired ones are dropped. Unlike a fixed window
//! or a two-bucket estimate, no burst at a window's edge can pass `limit`.
//!
//! Without Redis each node keeps its own logs (nodes behind one balancer then
//! allow up to `limit` each). With `--redis` the log is a sorted set in
//! Redis, checked and appended by one Lua script on Redis's own clock, so
//! every node shares one exact count in one round trip per use.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::domain::{Id, RateLimit};
use crate::metrics::Metrics;

/// Timestamps kept at most in this node's logs, over all keys. Past it the
/// least used logs are dropped (and those keys start counting afresh).
const LOCAL_CAPACITY: u64 = 16_000_000;
/// At most one log line per this many seconds about Redis failing.
const ERROR_LOG_EVERY: u64 = 10;

/// What a use of a rate-limited key found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStatus {
    pub allowed: bool,
    pub limit: u32,
    /// Uses left in the window after this one.
    pub remaining: u32,
    /// Seconds until the oldest use in the window leaves it (and a use
    /// frees up); at least 1 when refused.
    pub reset: u64,
}

/// Whether a call counts a use or only looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A use: counted when there is room.
    Count,
    /// A refused request (a missing scope) that still reports the count.
    Peek,
}

/// What to do with a use when Redis cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Let it through (keyward stays up when Redis does not).
    #[default]
    Open,
    /// Refuse it, as if over the limit.
    Closed,
}

impl std::str::FromStr for OnError {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(OnError::Open),
            "closed" => Ok(OnError::Closed),
            _ => Err("must be open or closed".into()),
        }
    }
}

pub struct Meter {
    local: LocalLogs,
    redis: Option<RedisLogs>,
    on_error: OnError,
    last_error_log: AtomicU64,
}

impl Meter {
    pub fn local() -> Self {
        Self { local: LocalLogs::new(), redis: None, on_error: OnError::Open, last_error_log: AtomicU64::new(0) }
    }

    /// Counts in Redis at `url`; the connection is made on first use and
    /// remade after failures.
    /// `timeout` bounds each use's wait for Redis (`--redis-timeout`).
    pub fn with_redis(url: &str, on_error: OnError, timeout: Duration) -> Result<Self, redis::RedisError> {
        Ok(Self { redis: Some(RedisLogs::new(url, timeout)?), on_error, ..Self::local() })
    }

    /// Connects to Redis and loads the script ahead of the first use, which
    /// would otherwise spend its short time budget on both. Retries until
    /// Redis answers.
    pub async fn warm_up(&self) {
        let Some(redis) = &self.redis else { return };
        loop {
            let mut conn = redis.manager.clone();
            match redis.script.prepare_invoke().load_async(&mut conn).await {
                Ok(_) => return,
                Err(err) => tracing::debug!(error = %err, "Redis is not answering yet"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Counts one use of `key` under `rate` (or, with `Use::Peek`, only
    /// reads where it stands); `None` when Redis failed and the rule is to
    /// let uses through uncounted.
    pub async fn acquire(&self, key: &Id, rate: RateLimit, how: Use, metrics: &Metrics) -> Option<RateStatus> {
        let status = match &self.redis {
            None => Some(self.local.acquire(key, rate, how)),
            Some(redis) => match tokio::time::timeout(redis.timeout, redis.acquire(key, rate, how)).await {
                Ok(Ok(status)) => Some(status),
                Ok(Err(err)) => self.failed(&err.to_string(), rate, metrics),
                Err(_) => self.failed("timed out", rate, metrics),
            },
        };
        if let (Some(s), Use::Count) = (status, how) {
            metrics.rate_limit(if s.allowed { "allowed" } else { "limited" });
        }
        status
    }

    fn failed(&self, why: &str, rate: RateLimit, metrics: &Metrics) -> Option<RateStatus> {
        metrics.rate_limit("redis_error");
        let now = Instant::now().duration_since(*START).as_secs() + ERROR_LOG_EVERY;
        let last = self.last_error_log.load(Ordering::Relaxed);
        if now >= last + ERROR_LOG_EVERY
            && self.last_error_log.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            tracing::warn!(error = why, on_error = ?self.on_error, "the rate-limit count in Redis failed");
        }
        match self.on_error {
            OnError::Open => None,
            OnError::Closed => Some(RateStatus { allowed: false, limit: rate.limit, remaining: 0, reset: 1 }),
        }
    }
}

static START: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

/// Milliseconds on this node's monotonic clock.
fn now_ms() -> u64 {
    Instant::now().duration_since(*START).as_millis() as u64
}

/// One key's log, and the length the cache last weighed it at.
#[derive(Default)]
struct Entry {
    log: Mutex<VecDeque<u64>>,
    weighed: std::sync::atomic::AtomicUsize,
}

type Log = Arc<Entry>;

struct LocalLogs {
    logs: Cache<Id, Log>,
}

impl LocalLogs {
    fn new() -> Self {
        let logs = Cache::builder()
            .max_capacity(LOCAL_CAPACITY)
            .weigher(|_: &Id, entry: &Log| {
                u32::try_from(entry.weighed.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(u32::MAX).max(1)
            })
            // Nothing older than the longest period can matter.
            .time_to_idle(Duration::from_secs(u64::from(crate::domain::narrow::MAX_RATE_PERIOD)))
            .build();
        Self { logs }
    }

    fn acquire(&self, key: &Id, rate: RateLimit, how: Use) -> RateStatus {
        let entry = self.logs.get_with_by_ref(key, Log::default);
        let (status, len) = {
            let mut log = entry.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            (slide(&mut log, now_ms(), rate, how), log.len())
        };
        // The log's length is what it costs the cache. Re-weighing is an
        // insert, dear on the path of every use: it is done only when the
        // length has doubled or halved since the last time.
        let weighed = entry.weighed.load(std::sync::atomic::Ordering::Relaxed);
        if len > weighed.saturating_mul(2).max(1) || len.saturating_mul(2) < weighed {
            entry.weighed.store(len, std::sync::atomic::Ordering::Relaxed);
            self.logs.insert(key.clone(), entry);
        }
        status
    }
}

/// The sliding log's rule, on one key's log at `now` (milliseconds).
fn slide(log: &mut VecDeque<u64>, now: u64, rate: RateLimit, how: Use) -> RateStatus {
    let window = u64::from(rate.period) * 1000;
    while log.front().is_some_and(|&at| at + window <= now) {
        log.pop_front();
    }
    let limit = rate.limit as usize;
    let allowed = log.len() < limit;
    if allowed && how == Use::Count {
        log.push_back(now);
    }
    let reset_ms = log.front().map_or(0, |&oldest| oldest + window - now);
    RateStatus {
        allowed,
        limit: rate.limit,
        remaining: limit.saturating_sub(log.len()) as u32,
        reset: reset_ms.div_ceil(1000).max(u64::from(!allowed)),
    }
}

/// The same rule in Redis: drop what left the window, count, add this use
/// when there is room, all on Redis's clock so that nodes' clocks do not
/// matter. ARGV[4] is 0 to only look. Returns {allowed, count, milliseconds
/// until the oldest leaves}.
const SCRIPT: &str = r"
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
  allowed = 1
  if ARGV[4] == '1' then
    redis.call('ZADD', key, now, ARGV[3])
    count = count + 1
  end
end
redis.call('PEXPIRE', key, window)
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local reset = 0
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {allowed, count, reset}
";

struct RedisLogs {
    manager: redis::aio::ConnectionManager,
    script: redis::Script,
    timeout: Duration,
}

impl RedisLogs {
    fn new(url: &str, timeout: Duration) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let manager = redis::aio::ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self { manager, script: redis::Script::new(SCRIPT), timeout })
    }

    async fn acquire(&self, key: &Id, rate: RateLimit, how: Use) -> Result<RateStatus, redis::RedisError> {
        let mut conn = self.manager.clone();
        let (allowed, count, reset_ms): (i64, i64, i64) = self
            .script
            .key(format!("keyward:rate:{key}"))
            .arg(rate.limit)
            .arg(u64::from(rate.period) * 1000)
            // Unique per use, so that two uses in one millisecond are two entries.
            .arg(Id::generate().as_str())
            .arg(u8::from(how == Use::Count))
            .invoke_async(&mut conn)
            .await?;
        let allowed = allowed == 1;
        Ok(RateStatus {
            allowed,
            limit: rate.limit,
            remaining: (i64::from(rate.limit) - count).max(0) as u32,
            reset: (reset_ms.max(0) as u64).div_ceil(1000).max(u64::from(!allowed)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(limit: u32, period: u32) -> RateLimit {
        RateLimit { limit, period }
    }

    #[test]
    fn the_window_slides_exactly() {
        let mut log = VecDeque::new();
        let r = rate(3, 10);
        for (at, remaining) in [(0, 2), (4_000, 1), (5_000, 0)] {
            let s = slide(&mut log, at, r, Use::Count);
            assert!(s.allowed);
            assert_eq!(s.remaining, remaining);
        }
        let refused = slide(&mut log, 9_999, r, Use::Count);
        assert!(!refused.allowed);
        assert_eq!(refused.reset, 1, "the first use leaves at 10 000 ms");
        let s = slide(&mut log, 10_000, r, Use::Count);
        assert!(s.allowed, "exactly one period after the first use, it has left");
        assert!(
            !slide(&mut log, 13_999, r, Use::Count).allowed,
            "uses at 4 000, 5 000 and 10 000 still fill the window"
        );
        assert!(slide(&mut log, 14_000, r, Use::Count).allowed);
    }

    #[test]
    fn a_peek_reports_without_counting() {
        let mut log = VecDeque::new();
        let r = rate(2, 10);
        assert_eq!(slide(&mut log, 0, r, Use::Peek).remaining, 2);
        assert!(log.is_empty());
        slide(&mut log, 0, r, Use::Count);
        slide(&mut log, 1, r, Use::Count);
        let full = slide(&mut log, 2, r, Use::Peek);
        assert_eq!((full.allowed, full.remaining, full.reset), (false, 0, 10));
    }

    #[test]
    fn a_burst_at_the_edge_gets_no_more_than_the_limit() {
        let mut log = VecDeque::new();
        let r = rate(5, 1);
        let passed = (0..1_000).filter(|i| slide(&mut log, 990 + i / 100, r, Use::Count).allowed).count();
        assert_eq!(passed, 5);
    }

    #[test]
    fn exact_under_threads() {
        let logs = Arc::new(LocalLogs::new());
        let key = Id::generate();
        let passed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (logs, key, passed) = (logs.clone(), key.clone(), passed.clone());
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        if logs.acquire(&key, rate(37, 3600), Use::Count).allowed {
                            passed.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(passed.load(Ordering::SeqCst), 37);
    }
}
