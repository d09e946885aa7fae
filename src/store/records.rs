//! What storage holds, row by row. Plain data: rules live in the service layer.

use std::fmt;

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use std::sync::Arc;

use crate::domain::{Cidr, Id, Meta, Narrowing, RateLimit, Role, Scope, UnixTime, cidr, scope};

/// Flags are stored as 0/1 integers (see the migrations); this reads one.
fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

fn id(row: &AnyRow, column: &str) -> Result<Id, sqlx::Error> {
    Ok(Id::from_stored(row.try_get(column)?))
}

fn role(row: &AnyRow, column: &str) -> Result<Role, sqlx::Error> {
    let raw: String = row.try_get(column)?;
    raw.parse().map_err(|e| sqlx::Error::ColumnDecode { index: column.into(), source: Box::new(e) })
}

fn decode_error(column: &str, detail: String) -> sqlx::Error {
    sqlx::Error::ColumnDecode { index: column.into(), source: detail.into() }
}

fn json_list<T>(
    row: &AnyRow,
    column: &str,
    parse: fn(&[String]) -> Result<Vec<T>, crate::domain::narrow::ListError>,
) -> Result<Vec<T>, sqlx::Error> {
    let Some(text) = row.try_get::<Option<String>, _>(column)? else { return Ok(Vec::new()) };
    let raw: Vec<String> = serde_json::from_str(&text).map_err(|e| decode_error(column, e.to_string()))?;
    parse(&raw).map_err(|(_, detail)| decode_error(column, detail))
}

/// A key's narrowing, parsed once here so that the key check, which runs on
/// every request from a cached record, never parses a scope or a range.
fn narrowing(row: &AnyRow, role_column: &str) -> Result<Narrowing, sqlx::Error> {
    let role = match row.try_get::<Option<String>, _>(role_column)? {
        Some(raw) => Some(raw.parse::<Role>().map_err(|e| decode_error(role_column, e.to_string()))?),
        None => None,
    };
    let rate_limit = match (row.try_get::<Option<i64>, _>("rate_limit")?, row.try_get::<Option<i64>, _>("rate_period")?)
    {
        (Some(limit), Some(period)) => {
            Some(RateLimit::parse(limit, period).map_err(|e| decode_error("rate_limit", e.to_string()))?)
        }
        _ => None,
    };
    let meta = match row.try_get::<Option<String>, _>("meta")? {
        Some(text) => Some(Meta::from_stored(&text).ok_or_else(|| decode_error("meta", "not a JSON object".into()))?),
        None => None,
    };
    Ok(Narrowing {
        role,
        scopes: json_list::<Scope>(row, "scopes", scope::parse_list)?,
        allowed_cidrs: json_list::<Cidr>(row, "allowed_cidrs", cidr::parse_list)?,
        rate_limit,
        meta,
    })
}

fn account_meta(row: &AnyRow, column: &str) -> Result<Option<Meta>, sqlx::Error> {
    match row.try_get::<Option<String>, _>(column)? {
        Some(text) => {
            Ok(Some(Meta::from_stored(&text).ok_or_else(|| decode_error(column, "not a JSON object".into()))?))
        }
        None => Ok(None),
    }
}

impl From<String> for Id {
    fn from(s: String) -> Self {
        Id::from_stored(s)
    }
}

impl TryFrom<String> for Role {
    type Error = crate::domain::role::RoleError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrgRecord {
    #[sqlx(try_from = "String")]
    pub id: Id,
    pub name: String,
    pub created: UnixTime,
}

#[derive(Clone, sqlx::FromRow)]
pub struct UserRecord {
    #[sqlx(try_from = "String")]
    pub id: Id,
    pub email: String,
    pub password_hash: Option<String>,
    pub created: UnixTime,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A person as one organization sees them: their membership there, and
/// nothing of their account beyond it.
#[derive(Debug, Clone)]
pub struct MemberRecord {
    /// The membership's own id: the person's id within this organization.
    pub id: Id,
    /// The account behind the membership. For the service layer only: it is
    /// the same in every organization, so no organization is shown it.
    pub user_id: Id,
    /// As this organization typed it.
    pub email: String,
    pub org_id: Id,
    pub role: Role,
    pub created: UnixTime,
    /// When the person took the membership up; `None` while it is pending.
    pub accepted: Option<UnixTime>,
}

/// One organization of a user, as the user sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRecord {
    /// The user's id within that organization (`MemberRecord::id`).
    #[sqlx(try_from = "String")]
    pub member_id: Id,
    #[sqlx(try_from = "String")]
    pub org_id: Id,
    pub org_name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
}

#[derive(Debug, Clone)]
pub struct AccountRecord {
    pub id: Id,
    pub org_id: Id,
    pub name: String,
    pub role: Role,
    pub enable_basic_auth: bool,
    pub email: Option<String>,
    pub email_confirmed: bool,
    pub disabled: bool,
    pub created: UnixTime,
    pub last_used: Option<UnixTime>,
    /// When it was deleted; `None` while it lives.
    pub deleted: Option<UnixTime>,
    pub meta: Option<Meta>,
}

/// A key's metadata. The secret's hash is deliberately not part of it.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub id: Id,
    pub account_id: Id,
    pub name: Option<String>,
    pub created: UnixTime,
    pub created_by: String,
    pub expires: Option<UnixTime>,
    pub last_used: Option<UnixTime>,
    pub disabled: bool,
    pub narrowing: Narrowing,
}

/// A key with its account's name, for reports across accounts.
#[derive(Debug, Clone)]
pub struct KeyWithAccount {
    pub key: KeyRecord,
    pub account_name: String,
}

impl FromRow<'_, AnyRow> for KeyWithAccount {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self { key: KeyRecord::from_row(row)?, account_name: row.try_get("account_name")? })
    }
}

/// Everything the key check needs, read in one indexed lookup.
#[derive(Debug, Clone)]
pub struct CredentialRecord {
    pub key_id: Id,
    pub account_id: Id,
    pub secret_hash: String,
    pub expires: Option<UnixTime>,
    pub key_disabled: bool,
    pub org_id: Id,
    pub role: Role,
    pub enable_basic_auth: bool,
    pub account_disabled: bool,
    /// Shared, so that a cache hit clones a pointer, not the lists.
    pub narrowing: Arc<Narrowing>,
}

impl CredentialRecord {
    /// The role the key acts with: the lesser of its own and its account's.
    pub fn effective_role(&self) -> Role {
        self.narrowing.effective_role(self.role)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRecord {
    #[sqlx(try_from = "String")]
    pub id: Id,
    pub org_id: Option<String>,
    pub at: UnixTime,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub key_id: Option<String>,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub client_ip: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
}

impl FromRow<'_, AnyRow> for MemberRecord {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: id(row, "id")?,
            user_id: id(row, "user_id")?,
            email: row.try_get("email")?,
            org_id: id(row, "org_id")?,
            role: role(row, "role")?,
            created: row.try_get("created")?,
            accepted: row.try_get("accepted")?,
        })
    }
}

impl FromRow<'_, AnyRow> for AccountRecord {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: id(row, "id")?,
            org_id: id(row, "org_id")?,
            name: row.try_get("name")?,
            role: role(row, "role")?,
            enable_basic_auth: flag(row, "enable_basic_auth")?,
            email: row.try_get("email")?,
            email_confirmed: flag(row, "email_confirmed")?,
            disabled: flag(row, "disabled")?,
            created: row.try_get("created")?,
            last_used: row.try_get("last_used")?,
            deleted: row.try_get("deleted")?,
            meta: account_meta(row, "meta")?,
        })
    }
}

impl FromRow<'_, AnyRow> for KeyRecord {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: id(row, "id")?,
            account_id: id(row, "account_id")?,
            name: row.try_get("name")?,
            created: row.try_get("created")?,
            created_by: row.try_get("created_by")?,
            expires: row.try_get("expires")?,
            last_used: row.try_get("last_used")?,
            disabled: flag(row, "disabled")?,
            narrowing: narrowing(row, "role")?,
        })
    }
}

impl FromRow<'_, AnyRow> for CredentialRecord {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            key_id: id(row, "key_id")?,
            account_id: id(row, "account_id")?,
            secret_hash: row.try_get("secret_hash")?,
            expires: row.try_get("expires")?,
            key_disabled: flag(row, "key_disabled")?,
            org_id: id(row, "org_id")?,
            role: role(row, "role")?,
            enable_basic_auth: flag(row, "enable_basic_auth")?,
            account_disabled: flag(row, "account_disabled")?,
            narrowing: Arc::new(narrowing(row, "key_role")?),
        })
    }
}
