//! Service accounts' email addresses: queuing the confirmation request in
//! the transaction of the change, and honouring the link it carries.
//!
//! The link's token is not made here: it is minted when the message is sent
//! (`Service::prepare_mail`), so that no secret is ever written to the
//! outbox.

use serde_json::json;

use super::audit::{self, Action, Target};
use super::mail::{ConfirmPayload, Mail};
use super::{Principal, Service, ServiceError};
use crate::domain::entity::ServiceAccount;
use crate::domain::{Token, UnixTime};
use crate::store::mail;
use crate::store::{Conn, StoreError, accounts};

/// What opening a confirmation link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// The account's address is confirmed now.
    Confirmed {
        account_name: String,
        email: String,
    },
    /// The link worked once already (or another link of the account did).
    Used,
    Expired,
    /// The link is for an address the account no longer has.
    Superseded,
    /// keyward never issued this link.
    Unknown,
}

/// Queues the confirmation request for `account`'s address, on `conn`, which
/// should be the transaction that set the address.
pub(crate) async fn queue_confirmation(
    conn: &mut Conn,
    account: &ServiceAccount,
    now: UnixTime,
) -> Result<bool, StoreError> {
    let Some(email) = &account.email else { return Ok(false) };
    let request = Mail::ConfirmEmail(ConfirmPayload {
        account_id: account.id.clone(),
        email: email.to_string(),
        account_name: account.name.to_string(),
    });
    super::mail::queue(conn, &account.org_id, email, &request, now).await?;
    Ok(true)
}

impl Service {
    /// Anyone holding the link: a live token confirms the address it was
    /// sent to, if the account still has that address, and retires every
    /// other link of the account. Anything else changes nothing.
    pub async fn confirm_email(&self, token: &Token, client_ip: Option<String>) -> Result<Confirmation, ServiceError> {
        let now = self.now();
        let hash = token.hash_hex();
        let mut tx = self.store().begin().await?;
        let Some(link) = mail::find_confirmation(tx.conn(), &hash).await? else {
            return Ok(Confirmation::Unknown);
        };
        if link.used.is_some() {
            return Ok(Confirmation::Used);
        }
        if link.expires <= now {
            return Ok(Confirmation::Expired);
        }
        let Some(org) = mail::account_org(tx.conn(), &link.account_id).await? else {
            return Ok(Confirmation::Unknown);
        };
        let Some(before) = accounts::get(tx.conn(), &org, &link.account_id).await? else {
            return Ok(Confirmation::Unknown);
        };
        if before.email.as_deref() != Some(link.email.as_str()) {
            return Ok(Confirmation::Superseded);
        }
        // Of two requests racing with one token, exactly one gets here.
        if !mail::use_confirmation(tx.conn(), &hash, now).await? {
            return Ok(Confirmation::Used);
        }
        mail::retire_confirmations(tx.conn(), &before.id, now).await?;
        let after = ServiceAccount { email_confirmed: true, ..before.clone() };
        accounts::update(tx.conn(), &after).await?;
        audit::record(
            tx.conn(),
            &Principal::email_link(org, client_ip),
            now,
            Action::AccountEmailConfirmed,
            Target::ServiceAccount(&before.id),
            Some(&json!({"email": link.email})),
        )
        .await?;
        tx.commit().await?;
        Ok(Confirmation::Confirmed { account_name: after.name.into(), email: link.email })
    }
}
