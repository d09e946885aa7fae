//! The product's vocabulary: ids, names, emails, roles and the API key format.
//! Pure values and rules; nothing here touches the network or storage.

pub mod clock;
pub mod email;
pub mod id;
pub mod key;
pub mod leak_report;
pub mod name;
pub mod role;
pub mod seal;
pub mod token;

pub use clock::{Clock, SystemClock, UnixTime};
pub use email::Email;
pub use id::Id;
pub use key::{AssertionKey, KeyFormatError, Secret, SecretHash};
pub use name::Name;
pub use role::Role;
pub use seal::SealingKey;
pub use token::{LinkPurpose, Token};
