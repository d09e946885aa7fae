//! The product's vocabulary: ids, names, emails, roles, the API key format
//! and what narrows a key (scopes, address ranges, rate limits), who acts
//! and the audit trail's words, webhooks' events and addresses.
//! Pure values and rules; nothing here touches the network or storage.

pub mod actor;
pub mod audit;
pub mod ceiling;
pub mod cidr;
pub mod clock;
pub mod email;
pub mod entity;
pub mod id;
pub mod key;
pub mod leak_report;
pub mod name;
pub mod narrow;
pub mod role;
pub mod scope;
pub mod seal;
pub mod token;
pub mod webhook;

pub use actor::{Actor, ActorKind, CreatedBy};
pub use ceiling::Ceiling;
pub use cidr::Cidr;
pub use clock::{Clock, SystemClock, UnixTime};
pub use email::Email;
pub use id::Id;
pub use key::{AssertionKey, KeyFormatError, Secret, SecretHash};
pub use name::Name;
pub use narrow::{Meta, Narrowing, RateLimit};
pub use role::Role;
pub use scope::Scope;
pub use seal::SealingKey;
pub use token::{LinkPurpose, Token};
