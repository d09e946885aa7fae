//! Storage: one implementation over sqlx's `Any` driver, serving the embedded
//! SQLite default and PostgreSQL with the same queries (numbered `$n`
//! parameters and standard SQL that both engines speak). Each engine has its
//! own migrations, kept in step.
//!
//! Functions in the submodules take a connection, so that the service layer
//! decides what runs in one transaction.

pub mod accounts;
pub mod audit;
pub mod credential_changes;
pub mod idempotency;
pub mod invitations;
pub mod keys;
pub mod leak_reports;
pub mod mail;
pub mod orgs;
pub mod records;
pub mod sessions;
pub mod tokens;
pub mod users;
pub mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, ConnectOptions, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use records::*;

// The domain's entities, for the modules below; the store reads and writes
// them and re-exports none.
use crate::domain::entity::{
    ActionFilter, ApiKey, AuditEvent, AuditFilter, KeyWithAccount, Member, Membership, Org, OrgPolicy,
    PendingInvitation, ServiceAccount, User,
};

pub type Conn = sqlx::AnyConnection;

/// A statement with its arguments bound so far.
pub type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// What a queue's claim adds to its inner `SELECT` so that two workers
    /// never wait on, nor both take, one row: PostgreSQL's row locks, skipped
    /// when held. SQLite has one writer at a time and no row locks.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Engine::Postgres => " FOR UPDATE SKIP LOCKED",
            Engine::Sqlite => "",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the payload names the API field.
    #[error("{0} is already taken")]
    Conflict(&'static str),
    /// Storage could not be reached or did not answer in time.
    #[error("storage is unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://…")]
    BadUrl(String),
    #[error("storage error")]
    Other(#[source] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(conflict_field(db.constraint().unwrap_or(db.message())))
            }
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_) => StoreError::Unavailable(err),
            sqlx::Error::Database(db) if is_busy(db.message()) => StoreError::Unavailable(err),
            _ => StoreError::Other(err),
        }
    }
}

/// PostgreSQL names the broken constraint; SQLite names its columns in the
/// message. Either way the answer is the field a client should change.
fn conflict_field(constraint_or_message: &str) -> &'static str {
    let s = constraint_or_message;
    if s.contains("service_accounts_name_key") || s.contains("service_accounts.name_folded") {
        "name"
    } else if s.contains("users_email_key") || s.contains("users.email_folded") {
        "email"
    } else if s.contains("memberships") {
        "userId"
    } else {
        "id"
    }
}

fn is_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

/// The handle every layer above shares. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
    /// SQLite allows one writer at a time; queuing writers here, rather than
    /// letting them race for the file lock, keeps a busy node from answering
    /// "database is locked".
    write_lock: Option<Arc<Mutex<()>>>,
    /// Kept for connections outside the pool (PostgreSQL's LISTEN).
    url: Arc<str>,
}

/// A write transaction; on SQLite it also holds the node's write turn.
pub struct WriteTx {
    pub tx: Transaction<'static, Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.tx
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// What every command starts with: the database at `url` opened (a
    /// SQLite file created readable by its owner only) and migrated.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        crate::files::prepare_sqlite_file(url)?;
        let store =
            Self::connect(url).await.with_context(|| format!("opening the database {}", crate::redact::url(url)))?;
        store.migrate().await.context("applying migrations")?;
        Ok(store)
    }

    /// Opens (and for SQLite creates) the database at `url`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else {
            return Err(StoreError::BadUrl(crate::redact::url(url)));
        };
        let url = match engine {
            Engine::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|_| StoreError::BadUrl(crate::redact::url(&url)))?
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(match engine {
                Engine::Sqlite => 8,
                Engine::Postgres => 16,
            })
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(3))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        // WAL lets readers run beside the writer; NORMAL sync is
                        // durable across process crashes, which is what WAL needs.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let write_lock = (engine == Engine::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Self { pool, engine, write_lock, url: url.into() })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// A PostgreSQL listener on `channel`, for engines that have one.
    pub async fn listen(&self, channel: &str) -> Result<Option<sqlx::postgres::PgListener>, StoreError> {
        if self.engine != Engine::Postgres {
            return Ok(None);
        }
        let mut listener = sqlx::postgres::PgListener::connect(&self.url).await?;
        listener.listen(channel).await?;
        Ok(Some(listener))
    }

    /// Applies the embedded migrations that have not run yet. PostgreSQL's
    /// migrator holds an advisory lock, so nodes starting together apply each
    /// migration exactly once.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.engine {
            Engine::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.pool).await?,
            Engine::Postgres => sqlx::migrate!("migrations/postgres").run(&self.pool).await?,
        }
        Ok(())
    }

    /// A connection for reads outside a transaction.
    pub async fn read(&self) -> Result<PoolConnection<Any>, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    pub async fn begin(&self) -> Result<WriteTx, StoreError> {
        let turn = match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        // `Pool::begin` is not cancel-safe on PostgreSQL (sqlx 0.8 and 0.9,
        // transact-rs/sqlx#4393): a caller dropped while BEGIN is in flight,
        // as a handler is when its client disconnects, leaves the pooled
        // connection inside a transaction that nothing ends, and the next
        // borrower's statements run in it. On a task of its own BEGIN always
        // completes; a transaction nobody takes is then dropped and rolled
        // back like any other.
        let pool = self.pool.clone();
        let tx = tokio::spawn(async move { pool.begin().await }).await.map_err(|_| sqlx::Error::WorkerCrashed)??;
        Ok(WriteTx { tx, _turn: turn })
    }

    /// Rewrites storage so that values overwritten by updates leave no copy
    /// behind in freed pages, old row versions or the write-ahead log; run
    /// after replacing something a database copy must not reveal. It takes
    /// the tables for a moment: a one-off, not routine work.
    pub async fn scrub(&self, tables: &[&str]) -> Result<(), StoreError> {
        let _turn = match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let mut conn = self.pool.acquire().await?;
        match self.engine {
            Engine::Sqlite => {
                conn.execute("VACUUM").await?;
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
            }
            Engine::Postgres => {
                conn.execute(format!("VACUUM FULL {}", tables.join(", ")).as_str()).await?;
            }
        }
        Ok(())
    }

    /// Readiness: can storage answer a trivial query now?
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_name_the_field_on_both_engines() {
        assert_eq!(conflict_field("service_accounts_name_key"), "name");
        assert_eq!(
            conflict_field("UNIQUE constraint failed: service_accounts.org_id, service_accounts.name_folded"),
            "name"
        );
        assert_eq!(conflict_field("users_email_key"), "email");
    }
}
