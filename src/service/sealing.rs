//! The secret key: what seals the database's signing material, checked
//! against the database on start, and the rewrite of rows stored before
//! sealing existed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{Service, ServiceError};
use crate::domain::{AssertionKey, Id, SealingKey, SecretHash};
use crate::store::{keys, tokens};

/// The context of the value that tells whether a key is the database's.
const KEY_CHECK: &str = "secret-key-check";
/// Legacy keys rewritten per transaction.
const BATCH: i64 = 500;

/// The context an API key's assertion key is sealed for: its own id.
pub(crate) fn assertion_context(key: &Id) -> String {
    format!("api-key:{key}")
}

pub(crate) fn signing_context(kid: &str) -> String {
    format!("signing-key:{kid}")
}

impl Service {
    pub(crate) fn sealing_key(&self) -> &SealingKey {
        &self.inner.sealing
    }

    /// Run once by every process that opens the database: refuses a secret
    /// key other than the one the database was first opened with, then seals
    /// what an older keyward stored in the clear. Safe to run on several
    /// nodes at once.
    pub async fn adopt_secret_key(&self) -> Result<(), ServiceError> {
        let key = self.sealing_key();
        let candidate = key.seal(KEY_CHECK, b"keyward")?;
        let mut tx = self.store().begin().await?;
        let stored = tokens::secret_key_check(tx.conn(), &candidate, self.now()).await?;
        tx.commit().await?;
        if key.open(KEY_CHECK, &stored).is_none() {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "this database was sealed with another secret key: give every node and command the same \
                 --secret-key-file or KEYWARD_SECRET_KEY"
            )));
        }
        let mut sealed = 0usize;
        loop {
            let mut tx = self.store().begin().await?;
            let batch = keys::unsealed(tx.conn(), BATCH).await?;
            if batch.is_empty() {
                break;
            }
            for (id, legacy_hex) in &batch {
                // The legacy column held SHA-256(secret): the assertion key.
                let Some(legacy) = SecretHash::from_hex(legacy_hex) else {
                    return Err(ServiceError::Internal(anyhow::anyhow!("key {id} has a damaged stored hash")));
                };
                let assertion_key = AssertionKey::from_bytes(legacy.into_bytes());
                let sealed_key = key.seal(&assertion_context(id), assertion_key.as_bytes())?;
                keys::seal_legacy(tx.conn(), id, &assertion_key.lookup_hash(), &sealed_key).await?;
            }
            tx.commit().await?;
            sealed += batch.len();
        }
        if sealed > 0 {
            // Lookup hashes changed: nothing cached under the old ones may stay.
            let mut tx = self.store().begin().await?;
            let everything = crate::store::credential_changes::CredentialChange::Everything;
            crate::store::credential_changes::record(tx.conn(), &everything, self.now()).await?;
            tx.commit().await?;
            self.credentials_changed();
            tracing::info!(keys = sealed, "sealed the assertion keys of keys stored by an earlier version");
        }
        let seed_sealed = self.seal_legacy_signing_key().await?;
        if sealed > 0 || seed_sealed {
            // The values just replaced must not survive in freed pages.
            self.store().scrub(&["api_keys", "signing_key"]).await?;
        }
        Ok(())
    }

    /// Seals a signing seed stored in the clear; true when there was one.
    async fn seal_legacy_signing_key(&self) -> Result<bool, ServiceError> {
        let mut conn = self.store().read().await?;
        let Some((kid, seed)) = tokens::current_signing_key(&mut conn).await? else { return Ok(false) };
        drop(conn);
        if SealingKey::is_sealed(&seed) {
            return Ok(false);
        }
        let bytes = STANDARD
            .decode(&seed)
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("the stored signing key is damaged")))?;
        let sealed = self.sealing_key().seal(&signing_context(&kid), &bytes)?;
        let mut tx = self.store().begin().await?;
        tokens::seal_signing_key(tx.conn(), &kid, &seed, &sealed).await?;
        tx.commit().await?;
        tracing::info!("sealed the token signing key stored by an earlier version");
        Ok(true)
    }
}
