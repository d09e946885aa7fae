//! What storage holds, row by row. Plain data: rules live in the service layer.

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use std::sync::Arc;

use crate::domain::audit::{Action, Outcome, TargetKind};
use crate::domain::entity::{
    ApiKey, AuditEvent, KeyWithAccount, Member, Membership, Org, PendingInvitation, ServiceAccount, User,
};
use crate::domain::{
    ActorKind, Cidr, CreatedBy, Email, Id, Meta, Name, Narrowing, RateLimit, Role, Scope, UnixTime, cidr, scope,
};

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

/// A word of the domain's vocabulary stored by its name (`parse` reads the
/// name back); a name it does not know is a decode error naming the column.
pub(super) fn word<T>(row: &AnyRow, column: &str, parse: fn(&str) -> Option<T>) -> Result<T, sqlx::Error> {
    let raw: String = row.try_get(column)?;
    parse(&raw).ok_or_else(|| decode_error(column, format!("unknown {column} {raw:?}")))
}

/// `word` for a column that may be null.
fn optional_word<T>(row: &AnyRow, column: &str, parse: fn(&str) -> Option<T>) -> Result<Option<T>, sqlx::Error> {
    match row.try_get::<Option<String>, _>(column)? {
        Some(raw) => parse(&raw).map(Some).ok_or_else(|| decode_error(column, format!("unknown {column} {raw:?}"))),
        None => Ok(None),
    }
}

fn optional_id(row: &AnyRow, column: &str) -> Result<Option<Id>, sqlx::Error> {
    Ok(row.try_get::<Option<String>, _>(column)?.map(Id::from_stored))
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

impl FromRow<'_, AnyRow> for Org {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self { id: id(row, "id")?, name: Name::from_stored(row.try_get("name")?), created: row.try_get("created")? })
    }
}

impl FromRow<'_, AnyRow> for User {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: id(row, "id")?,
            email: Email::from_stored(row.try_get("email")?),
            password_hash: row.try_get("password_hash")?,
            created: row.try_get("created")?,
        })
    }
}

impl FromRow<'_, AnyRow> for Membership {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            member_id: id(row, "member_id")?,
            org_id: id(row, "org_id")?,
            org_name: Name::from_stored(row.try_get("org_name")?),
            role: role(row, "role")?,
        })
    }
}

impl FromRow<'_, AnyRow> for PendingInvitation {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            member_id: id(row, "member_id")?,
            org_id: id(row, "org_id")?,
            org_name: Name::from_stored(row.try_get("org_name")?),
            role: role(row, "role")?,
            invited: row.try_get("created")?,
        })
    }
}

impl FromRow<'_, AnyRow> for KeyWithAccount {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self { key: ApiKey::from_row(row)?, account_name: Name::from_stored(row.try_get("account_name")?) })
    }
}

impl FromRow<'_, AnyRow> for AuditEvent {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: id(row, "id")?,
            org_id: optional_id(row, "org_id")?,
            at: row.try_get("at")?,
            actor_kind: word(row, "actor_kind", ActorKind::parse)?,
            actor_id: optional_id(row, "actor_id")?,
            key_id: optional_id(row, "key_id")?,
            action: word(row, "action", Action::parse)?,
            target_kind: optional_word(row, "target_kind", TargetKind::parse)?,
            target_id: optional_id(row, "target_id")?,
            client_ip: row.try_get("client_ip")?,
            outcome: word(row, "outcome", Outcome::parse)?,
            detail: row.try_get("detail")?,
        })
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

impl FromRow<'_, AnyRow> for Member {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: id(row, "id")?,
            user_id: id(row, "user_id")?,
            email: Email::from_stored(row.try_get("email")?),
            org_id: id(row, "org_id")?,
            role: role(row, "role")?,
            created: row.try_get("created")?,
            accepted: row.try_get("accepted")?,
        })
    }
}

impl FromRow<'_, AnyRow> for ServiceAccount {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: id(row, "id")?,
            org_id: id(row, "org_id")?,
            name: Name::from_stored(row.try_get("name")?),
            role: role(row, "role")?,
            enable_basic_auth: flag(row, "enable_basic_auth")?,
            email: row.try_get::<Option<String>, _>("email")?.map(Email::from_stored),
            email_confirmed: flag(row, "email_confirmed")?,
            disabled: flag(row, "disabled")?,
            created: row.try_get("created")?,
            last_used: row.try_get("last_used")?,
            deleted: row.try_get("deleted")?,
            meta: account_meta(row, "meta")?,
        })
    }
}

impl FromRow<'_, AnyRow> for ApiKey {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: id(row, "id")?,
            account_id: id(row, "account_id")?,
            name: row.try_get::<Option<String>, _>("name")?.map(Name::from_stored),
            created: row.try_get("created")?,
            created_by: word(row, "created_by", CreatedBy::parse)?,
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
