//! Passwords: the rules, and argon2id under one global limit.
//!
//! argon2id is slow and memory-hard on purpose (19 MiB a hash with the
//! crate's recommended parameters), so an anonymous client that can make
//! the server hash at will could exhaust it. At most about one hash per core
//! runs at a time; a short queue waits behind them, and past that, or past a
//! short wait, the caller gets `503` with `Retry-After` instead of joining an
//! unbounded line.
//!
//! Each turn hashes in a working memory kept for it and reused, rather than
//! 19 MiB allocated afresh on whichever blocking thread runs it: the
//! allocator keeps freed blocks of that size per thread, so fresh ones grew
//! the process by tens of MiB with every new thread that hashed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use super::{Service, ServiceError};

pub const MIN_PASSWORD_LEN: usize = 12;
pub const MAX_PASSWORD_LEN: usize = 1024;

/// The longest a hash waits for its turn before the caller is told to retry.
const MAX_WAIT: Duration = Duration::from_secs(2);
/// What a refused caller is told to wait, in seconds.
const RETRY_AFTER: u64 = 1;

/// A hash of an unknown user's "password", so that unknown and known emails
/// cost the same.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3yv7Vvv3n9uUYhzwCaS4Uq5Q+1z7+s8bJbE5YbRkzCk";

pub fn check_password_rules(password: &str) -> Result<(), ServiceError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        Err(ServiceError::invalid("password", format!("must be at least {MIN_PASSWORD_LEN} characters")))
    } else if len > MAX_PASSWORD_LEN {
        Err(ServiceError::invalid("password", format!("must be at most {MAX_PASSWORD_LEN} characters")))
    } else {
        Ok(())
    }
}

/// The global limit on password hashing.
pub struct PasswordWork {
    running: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// One argon2 working memory per turn, made on first use and reused.
    memories: std::sync::Mutex<Vec<Vec<Block>>>,
}

impl Default for PasswordWork {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(cores, 4 * cores)
    }
}

impl PasswordWork {
    pub fn new(at_once: usize, max_waiting: usize) -> Self {
        Self {
            running: Semaphore::new(at_once.max(1)),
            waiting: AtomicUsize::new(0),
            max_waiting,
            memories: std::sync::Mutex::default(),
        }
    }

    /// Runs `work` on a blocking thread once a turn is free, with the turn's
    /// working memory.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let permit = match self.running.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(ServiceError::Busy(RETRY_AFTER));
                }
                let turn = tokio::time::timeout(MAX_WAIT, self.running.acquire()).await;
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                match turn {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(ServiceError::Busy(RETRY_AFTER)),
                }
            }
        };
        let mut memory = self.memories.lock().ok().and_then(|mut m| m.pop()).unwrap_or_default();
        let outcome = tokio::task::spawn_blocking(move || {
            let out = work(&mut memory);
            (out, memory)
        })
        .await;
        let outcome = match outcome {
            Ok((out, memory)) => {
                if let Ok(mut memories) = self.memories.lock() {
                    memories.push(memory);
                }
                Ok(out)
            }
            Err(e) => Err(ServiceError::Internal(e.into())),
        };
        drop(permit);
        outcome
    }
}

/// Hashes into `out` with `params`, in `memory` (grown to fit once).
fn argon2id_into(
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> Result<(), argon2::Error> {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password_into_with_memory(
        password,
        salt,
        out,
        &mut memory[..blocks],
    )
}

/// A new PHC string (`$argon2id$v=19$m=…`) for `password`.
fn hash_phc(password: &[u8], salt: &SaltString, memory: &mut Vec<Block>) -> anyhow::Result<String> {
    let params = Params::default();
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2id_into(params.clone(), password, salt_raw, &mut out, memory).map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored`.
fn verify_phc(password: &[u8], stored: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else { return false };
    let (Ok(params), Some(salt), Some(expected)) = (Params::try_from(&parsed), parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let mut out = vec![0u8; expected.len()];
    argon2id_into(params, password, salt, &mut out, memory).is_ok() && bool::from(out.ct_eq(expected.as_bytes()))
}

impl Service {
    /// argon2id with the crate's recommended parameters.
    pub(super) async fn hash_password(&self, password: String) -> Result<String, ServiceError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt)?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::Internal(anyhow::anyhow!("salt: {e}")))?;
        self.inner
            .passwords
            .run(move |memory| hash_phc(password.as_bytes(), &salt, memory).map_err(ServiceError::Internal))
            .await?
    }

    /// Verifies against `stored`, or against a fixed dummy hash when the
    /// user is unknown, so that both cases take the same time.
    pub(super) async fn verify_password(&self, password: String, stored: Option<String>) -> Result<bool, ServiceError> {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let matches = self.inner.passwords.run(move |memory| verify_phc(password.as_bytes(), &stored, memory)).await?;
        Ok(matches && known)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn past_the_running_and_waiting_limits_callers_are_told_to_retry() {
        let work = Arc::new(PasswordWork::new(1, 1));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Arc::new(std::sync::Mutex::new(hold));
        let first = {
            let (work, hold) = (work.clone(), hold.clone());
            tokio::spawn(
                async move { work.run(move |_| hold.lock().map(|rx| rx.recv().is_ok()).unwrap_or(false)).await },
            )
        };
        while work.running.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let second = {
            let work = work.clone();
            tokio::spawn(async move { work.run(|_| true).await })
        };
        while work.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(work.run(|_| true).await, Err(ServiceError::Busy(_))), "the queue is full");
        release.send(()).expect("release");
        assert!(first.await.expect("join").expect("ran"));
        assert!(second.await.expect("join").expect("waited its turn"));
    }

    #[test]
    fn hashes_are_standard_phc_strings_that_the_argon2_crate_verifies_and_vice_versa() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let mut memory = Vec::new();
        let salt = SaltString::encode_b64(&[7u8; 16]).expect("salt");
        let ours = hash_phc(b"correct horse battery", &salt, &mut memory).expect("hash");
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).expect("phc");
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
        assert!(verify_phc(b"correct horse battery", &ours, &mut memory));
        assert!(!verify_phc(b"wrong horse battery", &ours, &mut memory));
        let theirs = Argon2::default().hash_password(b"pw from before", &salt).expect("hash").to_string();
        assert_eq!(theirs, hash_phc(b"pw from before", &salt, &mut memory).expect("hash"));
        assert!(verify_phc(b"pw from before", &theirs, &mut memory));
        assert!(!verify_phc(b"x", DUMMY_HASH, &mut memory));
        assert!(!verify_phc(b"x", "not a hash", &mut memory));
    }

    #[test]
    fn rules() {
        assert!(check_password_rules(&"x".repeat(MIN_PASSWORD_LEN)).is_ok());
        assert!(check_password_rules(&"x".repeat(MIN_PASSWORD_LEN - 1)).is_err());
        assert!(check_password_rules(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
    }
}
