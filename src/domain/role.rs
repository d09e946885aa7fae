//! Roles and their order: a caller never grants or obtains more than it has.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Weakest first, so that `Ord` is the order of power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads service accounts and their keys' metadata.
    Viewer,
    /// A viewer that also creates, rotates, disables and deletes keys.
    Editor,
    /// Everything in its organization: accounts, keys, users and the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Editor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of viewer, editor, admin")]
pub struct RoleError;

impl FromStr for Role {
    type Err = RoleError;

    /// Case is ignored ("Admin" is how people write it); output is lowercase.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s)).ok_or(RoleError)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_power() {
        assert!(Role::Viewer < Role::Editor && Role::Editor < Role::Admin);
    }

    #[test]
    fn parses_any_case_and_nothing_else() {
        assert_eq!("Admin".parse(), Ok(Role::Admin));
        assert_eq!("viewer".parse(), Ok(Role::Viewer));
        assert_eq!("owner".parse::<Role>(), Err(RoleError));
        assert_eq!("".parse::<Role>(), Err(RoleError));
    }
}
