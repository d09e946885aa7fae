//! `/api/service-account/v1/service-account`: service accounts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::keys::KeyView;
use super::{IdempotencyHeader, PageQuery, PageRequest, PageView, PathId};
use crate::domain::{Email, Role, UnixTime};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ApiQuery, JsonBody, nullable, parse_name, required_name, text_filter};
use crate::service::accounts::{AccountPatch, AccountWithKeys, Listing, NewAccount};
use crate::service::idempotency::ReplayGuard;

pub const PATH: &str = "/api/service-account/v1/service-account";
const LISTING: &str = "sa";
/// The deleted accounts' listing, whose cursors are not the live one's.
const DELETED_LISTING: &str = "sa-deleted";

/// A service account, with its keys' metadata and never a secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountView {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub enable_basic_auth: bool,
    pub role: Role,
    pub email: Option<String>,
    pub email_confirmed: bool,
    pub disabled: bool,
    /// Unix seconds.
    pub created: UnixTime,
    /// When any of its keys last authenticated (Unix seconds), if ever.
    pub last_used: Option<UnixTime>,
    /// Only on deleted accounts: when the account was deleted (Unix
    /// seconds). It is purged 30 days after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<UnixTime>,
    /// A JSON object, as it was set.
    #[schema(value_type = Option<Object>)]
    pub meta: Option<crate::domain::Meta>,
    pub keys: Vec<KeyView>,
}

impl From<AccountWithKeys> for ServiceAccountView {
    fn from(AccountWithKeys { account: a, keys }: AccountWithKeys) -> Self {
        Self {
            id: a.id.to_string(),
            org_id: a.org_id.to_string(),
            name: a.name.into(),
            enable_basic_auth: a.enable_basic_auth,
            role: a.role,
            email: a.email.map(String::from),
            email_confirmed: a.email_confirmed,
            disabled: a.disabled,
            created: a.created,
            last_used: a.last_used,
            deleted: a.deleted,
            meta: a.meta.clone(),
            keys: keys.into_iter().map(KeyView::from).collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateServiceAccount {
    /// Name of the serviceAccount, unique in its organization ignoring case.
    #[schema(required = true, example = "John Doe")]
    name: Option<String>,
    /// Whether Basic Auth can be used with this service account.
    #[schema(example = true)]
    enable_basic_auth: Option<bool>,
    /// Default `viewer`; at most the caller's own role.
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
    /// Where to send the confirmation request.
    email: Option<String>,
    /// A JSON object of at most 4096 bytes serialized, returned as given.
    #[schema(value_type = Option<Object>)]
    meta: Option<Box<serde_json::value::RawValue>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateServiceAccount {
    name: Option<String>,
    enable_basic_auth: Option<bool>,
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
    /// A disabled account's keys are refused until it is enabled again.
    disabled: Option<bool>,
    /// A new address, to which a confirmation request is sent (and
    /// `emailConfirmed` becomes false until it is confirmed); null removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    /// A JSON object of at most 4096 bytes serialized; null removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    meta: Option<Option<Box<serde_json::value::RawValue>>>,
}

fn parse_email(raw: &str) -> Result<Email, ApiError> {
    Email::parse(raw).map_err(|err| ApiError::invalid_field("email", err.to_string()))
}

/// Numbers and flags are read as text, so that a bad one gets this API's own
/// `400`; the document says what they accept.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[serde(flatten)]
    #[param(ignore)]
    page: PageQuery,
    /// Only accounts whose name contains this, ignoring case.
    name: Option<String>,
    /// `true`: the deleted accounts not yet purged instead (admins).
    #[param(value_type = Option<bool>)]
    deleted: Option<String>,
}

fn parse_role(raw: Option<String>) -> Result<Option<Role>, ApiError> {
    raw.map(|r| r.parse().map_err(|e: crate::domain::role::RoleError| ApiError::invalid_field("role", e.to_string())))
        .transpose()
}

/// Create a new serviceAccount.
///
/// Admins. Sends an email confirmation request to the supplied email.
/// `409` when the name is taken in the organization; `422` names a bad field.
#[utoipa::path(
    operation_id = "createServiceAccount", post, path = PATH, tag = "service accounts", params(IdempotencyHeader),
    request_body = CreateServiceAccount,
    responses(
        (status = 201, description = "ServiceAccount created", body = ServiceAccountView),
        (status = 409, description = "The name is taken", body = Problem),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(p): Caller,
    JsonBody(body): JsonBody<CreateServiceAccount>,
) -> Result<(StatusCode, Extension<ReplayGuard>, Json<ServiceAccountView>), ApiError> {
    let new = NewAccount {
        name: required_name("name", body.name)?,
        enable_basic_auth: body.enable_basic_auth.unwrap_or(false),
        role: parse_role(body.role)?.unwrap_or(Role::Viewer),
        email: body.email.as_deref().map(parse_email).transpose()?,
        meta: body.meta.map(super::keys::parse_meta).transpose()?,
    };
    let created = state.service.create_account(&p, new).await?;
    Ok((StatusCode::CREATED, Extension(ReplayGuard::new(&p, Role::Admin)), Json(created.into())))
}

/// List service accounts.
///
/// Everyone in the organization. Creation order, with stable cursors. With
/// `deleted=true`, admins only: the accounts deleted in the last 30 days,
/// which `undelete` can restore.
#[utoipa::path(
    operation_id = "listServiceAccounts", get, path = PATH, tag = "service accounts", params(ListQuery, PageQuery),
    responses(
        (status = 200, description = "A page of service accounts", body = PageView<ServiceAccountView>),
        (status = 403, description = "deleted=true and the caller is not an admin", body = Problem),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<PageView<ServiceAccountView>>, ApiError> {
    let (listing, tag) = match q.deleted.as_deref() {
        None | Some("false") => (Listing::Live, LISTING),
        Some("true") => (Listing::Deleted, DELETED_LISTING),
        Some(_) => return Err(ApiError::bad_request("deleted", "deleted must be true or false")),
    };
    let page = PageRequest::parse(tag, &q.page)?;
    let name = text_filter("name", q.name.as_deref(), crate::domain::name::MAX_LEN)?;
    let accounts = state.service.list_accounts(&p, page.position, page.limit, name.as_deref(), listing).await?;
    Ok(Json(PageView::of(tag, accounts, ServiceAccountView::from)))
}

/// Get a serviceAccount.
///
/// Everyone in the organization. `404` for an unknown id or one of another
/// organization.
#[utoipa::path(
    operation_id = "getServiceAccount", get, path = "/api/service-account/v1/service-account/{id}", tag = "service accounts",
    params(PathId),
    responses((status = 200, description = "The service account", body = ServiceAccountView)),
)]
pub async fn get(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathId(id): PathId,
) -> Result<Json<ServiceAccountView>, ApiError> {
    Ok(Json(state.service.get_account(&p, &id).await?.into()))
}

/// Change a serviceAccount.
///
/// Admins. Any of `name`, `enableBasicAuth`, `role` (at most the caller's
/// own), `disabled` and `email` (a new address is sent a confirmation
/// request; null removes it); fields left out keep their value.
#[utoipa::path(
    operation_id = "updateServiceAccount", patch, path = "/api/service-account/v1/service-account/{id}", tag = "service accounts",
    params(PathId),
    request_body = UpdateServiceAccount,
    responses(
        (status = 200, description = "The changed service account", body = ServiceAccountView),
        (status = 409, description = "The name is taken", body = Problem),
    ),
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathId(id): PathId,
    JsonBody(body): JsonBody<UpdateServiceAccount>,
) -> Result<Json<ServiceAccountView>, ApiError> {
    let patch = AccountPatch {
        name: body.name.as_deref().map(|n| parse_name("name", n)).transpose()?,
        enable_basic_auth: body.enable_basic_auth,
        role: parse_role(body.role)?,
        disabled: body.disabled,
        email: body.email.map(|e| e.as_deref().map(parse_email).transpose()).transpose()?,
        meta: body.meta.map(|m| m.map(super::keys::parse_meta).transpose()).transpose()?,
    };
    Ok(Json(state.service.update_account(&p, &id, patch).await?.into()))
}

/// Delete a serviceAccount.
///
/// Admins. Its keys stop working with the very next request. The account is
/// kept, deleted, for 30 days (its name stays taken): `undelete` restores it.
#[utoipa::path(
    operation_id = "deleteServiceAccount", delete, path = "/api/service-account/v1/service-account/{id}", tag = "service accounts",
    params(PathId),
    responses((status = 204, description = "ServiceAccount deleted")),
)]
pub async fn delete(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    state.service.delete_account(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Restore a deleted serviceAccount.
///
/// Admins, for accounts whose role does not exceed their own. Brings back an
/// account deleted in the last 30 days with its keys as they were: they work
/// again at once, except those that expired meanwhile. `404` when no deleted
/// account has this id (a live one, one purged, or one of another
/// organization).
#[utoipa::path(
    operation_id = "undeleteServiceAccount", post, path = "/api/service-account/v1/service-account/{id}/undelete", tag = "service accounts",
    params(PathId),
    responses(
        (status = 200, description = "The restored service account", body = ServiceAccountView),
        (status = 404, description = "No such deleted service account", body = Problem),
    ),
)]
pub async fn undelete(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathId(id): PathId,
) -> Result<Json<ServiceAccountView>, ApiError> {
    Ok(Json(state.service.undelete_account(&p, &id).await?.into()))
}
