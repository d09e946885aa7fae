//! The audit trail's vocabulary: what was done (`Action`), to what kind of
//! thing (`TargetKind`) and how it ended (`Outcome`). Who did it is
//! `domain::actor`. Each word has one stored name, written and read here
//! only, so a typo does not compile and a row the trail cannot name is found
//! when it is read.

use std::fmt;

/// What was done: the trail's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    OrgCreate,
    OrgUpdate,
    AccountCreate,
    AccountUpdate,
    AccountDelete,
    AccountUndelete,
    AccountPurge,
    AccountEmailConfirmed,
    KeyCreate,
    KeyUpdate,
    KeyDisable,
    KeyEnable,
    KeyDelete,
    KeyRotate,
    /// A key reported as leaked (and disabled, unless only reported).
    KeyLeaked,
    UserAdd,
    UserUpdate,
    UserRemove,
    /// A person took up their pending membership.
    UserAccept,
    /// A person declined their pending membership, which is then gone.
    UserDecline,
    MailFailed,
    WebhookCreate,
    WebhookUpdate,
    WebhookDelete,
    WebhookRotateSecret,
    /// keyward disabled an endpoint whose every attempt failed for days.
    WebhookDisabled,
}

impl Action {
    pub const ALL: [Action; 26] = [
        Action::OrgCreate,
        Action::OrgUpdate,
        Action::AccountCreate,
        Action::AccountUpdate,
        Action::AccountDelete,
        Action::AccountUndelete,
        Action::AccountPurge,
        Action::AccountEmailConfirmed,
        Action::KeyCreate,
        Action::KeyUpdate,
        Action::KeyDisable,
        Action::KeyEnable,
        Action::KeyDelete,
        Action::KeyRotate,
        Action::KeyLeaked,
        Action::UserAdd,
        Action::UserUpdate,
        Action::UserRemove,
        Action::UserAccept,
        Action::UserDecline,
        Action::MailFailed,
        Action::WebhookCreate,
        Action::WebhookUpdate,
        Action::WebhookDelete,
        Action::WebhookRotateSecret,
        Action::WebhookDisabled,
    ];

    /// The name stored and shown in the trail. Service accounts keep the
    /// `serviceAccount.` prefix their first actions were recorded under, so
    /// that one filter finds an account's whole history.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::OrgCreate => "org.create",
            Action::OrgUpdate => "org.update",
            Action::AccountCreate => "serviceAccount.create",
            Action::AccountUpdate => "serviceAccount.update",
            Action::AccountDelete => "serviceAccount.delete",
            Action::AccountUndelete => "serviceAccount.undelete",
            Action::AccountPurge => "serviceAccount.purge",
            Action::AccountEmailConfirmed => "serviceAccount.emailConfirmed",
            Action::KeyCreate => "key.create",
            Action::KeyUpdate => "key.update",
            Action::KeyDisable => "key.disable",
            Action::KeyEnable => "key.enable",
            Action::KeyDelete => "key.delete",
            Action::KeyRotate => "key.rotate",
            Action::KeyLeaked => "key.leaked",
            Action::UserAdd => "user.add",
            Action::UserUpdate => "user.update",
            Action::UserRemove => "user.remove",
            Action::UserAccept => "user.accept",
            Action::UserDecline => "user.decline",
            Action::MailFailed => "mail.failed",
            Action::WebhookCreate => "webhook.create",
            Action::WebhookUpdate => "webhook.update",
            Action::WebhookDelete => "webhook.delete",
            Action::WebhookRotateSecret => "webhook.rotateSecret",
            Action::WebhookDisabled => "webhook.disabled",
        }
    }

    /// The action stored as `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How what was recorded ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Outcome::Success, Outcome::Failure].into_iter().find(|o| o.as_str() == s)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of thing a change was done to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    Org,
    ServiceAccount,
    Key,
    User,
    Webhook,
}

impl TargetKind {
    pub const ALL: [TargetKind; 5] =
        [TargetKind::Org, TargetKind::ServiceAccount, TargetKind::Key, TargetKind::User, TargetKind::Webhook];

    /// The name stored in the trail, and the stem of the target's id field
    /// in a webhook event (`keyId`).
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Org => "org",
            TargetKind::ServiceAccount => "serviceAccount",
            TargetKind::Key => "key",
            TargetKind::User => "user",
            TargetKind::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_word_reads_back_as_itself_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
            assert!(names.insert(a.as_str()), "{a} twice");
        }
        for o in [Outcome::Success, Outcome::Failure] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        for k in TargetKind::ALL {
            assert_eq!(TargetKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Action::parse("key.exploded"), None);
        assert_eq!(Outcome::parse("Success"), None);
    }
}
