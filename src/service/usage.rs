//! `lastUsed`, kept without a write per request: uses are noted in memory and
//! written in batches, at most once per key per interval.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::{Service, ServiceError};
use crate::domain::{Id, UnixTime};
use crate::store::{accounts, keys};

pub struct UsageRecorder {
    interval: i64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// When each key's use was last queued for writing.
    last_noted: HashMap<Id, UnixTime>,
    /// key → (account, time), waiting for the next flush.
    pending: HashMap<Id, (Id, UnixTime)>,
}

impl UsageRecorder {
    pub fn new(interval: Duration) -> Self {
        Self { interval: interval.as_secs() as i64, state: Mutex::default() }
    }

    pub fn record(&self, key: &Id, account: &Id, now: UnixTime) {
        let Ok(mut state) = self.state.lock() else { return };
        let due = state.last_noted.get(key).is_none_or(|&at| now - at >= self.interval);
        if due {
            state.last_noted.insert(key.clone(), now);
            state.pending.insert(key.clone(), (account.clone(), now));
        }
    }

    fn take(&self) -> HashMap<Id, (Id, UnixTime)> {
        self.state.lock().map(|mut s| std::mem::take(&mut s.pending)).unwrap_or_default()
    }

    /// Puts back uses a failed flush could not write, unless newer ones came.
    fn restore(&self, batch: HashMap<Id, (Id, UnixTime)>) {
        if let Ok(mut state) = self.state.lock() {
            for (key, use_) in batch {
                state.pending.entry(key).or_insert(use_);
            }
        }
    }
}

impl Service {
    /// Writes the noted uses in one transaction; a batch that could not be
    /// written is kept for the next flush.
    pub async fn flush_usage(&self) -> Result<(), ServiceError> {
        let batch = self.inner.usage.take();
        if batch.is_empty() {
            return Ok(());
        }
        let written = async {
            let mut tx = self.store().begin().await?;
            for (key, (account, at)) in &batch {
                keys::record_use(tx.conn(), key, *at).await?;
                accounts::record_use(tx.conn(), account, *at).await?;
            }
            tx.commit().await
        }
        .await;
        if written.is_err() {
            self.inner.usage.restore(batch);
        }
        Ok(written?)
    }
}

pub async fn flush_forever(service: Service) {
    let mut tick = tokio::time::interval(service.limits().usage_flush);
    loop {
        tick.tick().await;
        if let Err(err) = service.flush_usage().await {
            tracing::warn!(error = %err, "could not record key use; will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_key_is_noted_once_per_interval() {
        let recorder = UsageRecorder::new(Duration::from_secs(60));
        let (key, account) = (Id::generate(), Id::generate());
        for t in 0..1000 {
            recorder.record(&key, &account, 1_000 + t / 100);
        }
        assert_eq!(recorder.take().get(&key).map(|u| u.1), Some(1_000));
        recorder.record(&key, &account, 1_059);
        assert!(recorder.take().is_empty());
        recorder.record(&key, &account, 1_060);
        assert_eq!(recorder.take().get(&key).map(|u| u.1), Some(1_060));
    }
}
