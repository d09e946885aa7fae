//! The purge worker: every node runs one, and each round removes the service
//! accounts deleted more than `accounts::RETENTION` ago and the credential
//! change feed's old entries. Rounds on several nodes may overlap; both are
//! idempotent (see `Service::purge_deleted_accounts`), so they only share
//! the work.

use super::Service;

/// Runs a purge every `Limits::purge_interval`, starting with one at once so
/// that a node that was down for a while catches up when it starts.
pub async fn purge_forever(service: Service) {
    let mut tick = tokio::time::interval(service.limits().purge_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match service.purge_deleted_accounts().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(accounts = n, "purged service accounts deleted more than 30 days ago"),
            Err(e) => tracing::warn!(error = %e, "could not purge deleted service accounts; trying again later"),
        }
        if let Err(e) = service.prune_credential_changes().await {
            tracing::warn!(error = %e, "could not prune the credential change feed; trying again later");
        }
    }
}
