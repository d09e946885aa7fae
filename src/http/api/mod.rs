//! The REST API, one module per resource.

pub mod accounts;
pub mod audit;
pub mod email;
pub mod identity;
pub mod invitations;
pub mod keys;
pub mod leaks;
pub mod oauth;
pub mod orgs;
pub mod platform;
pub mod session;
pub mod setup;
pub mod users;
pub mod webhooks;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::{cursor, parse_limit};
use crate::domain::Id;
use crate::service::Page;

/// `Idempotency-Key`, accepted by every call that creates
/// (`crate::http::idempotency`; documentation only).
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IdempotencyHeader {
    /// Any 1 to 255 visible ASCII characters chosen by the client. A retry
    /// with the same key, body and credential within 24 hours gets the first
    /// answer again (with `Idempotent-Replayed: true`) and creates nothing;
    /// the same key with another request is `422`; while the first is still
    /// running, `409`.
    #[param(rename = "Idempotency-Key", max_length = 255, pattern = "^[!-~]{1,255}$")]
    idempotency_key: Option<String>,
}

/// `orgId`, accepted by every call a key may make (documentation only: the
/// `Caller` extractors read it; `openapi::complete` adds it to those calls).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct OrgQuery {
    /// Pin to organization (Organization.id). A key may only pin its own; a
    /// user of several organizations must pin one.
    #[param(rename = "orgId")]
    org_id: Option<String>,
}

/// A page of a listing.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageView<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> PageView<T> {
    /// The answer for one page of `listing`, its items mapped to views.
    pub fn of<U>(listing: &str, page: Page<U, Id>, view: impl FnMut(U) -> T) -> Self {
        let next_cursor = page.next.as_ref().map(|position| cursor::encode(listing, position));
        Self { items: page.items.into_iter().map(view).collect(), next_cursor }
    }
}

/// `limit` and `cursor`, taken by every listing. Read as text, so that a bad
/// one gets this API's own `400`; the document says what they accept.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `nextCursor` from the previous page.
    cursor: Option<String>,
}

/// Where a page starts and how long it is, from `limit` and `cursor`.
pub struct PageRequest {
    pub limit: usize,
    pub position: Option<Id>,
}

impl PageRequest {
    pub fn parse(listing: &str, q: &PageQuery) -> Result<Self, ApiError> {
        Ok(Self { limit: parse_limit(q.limit.as_deref())?, position: cursor::decode(listing, q.cursor.as_deref())? })
    }
}

/// The ids in a request's path, in order. An id of the wrong shape exists
/// nowhere, so it is a `404` like any unknown one.
async fn path_ids(parts: &mut Parts) -> Result<impl Iterator<Item = Id>, ApiError> {
    let raw = RawPathParams::from_request_parts(parts, &()).await.map_err(|_| ApiError::not_found("resource"))?;
    let ids = raw
        .iter()
        .map(|(name, value)| {
            Id::parse(value).ok_or_else(|| ApiError::not_found(if name == "key-id" { "key" } else { "resource" }))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids.into_iter())
}

/// The `{id}` of a resource's path.
#[derive(IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct PathId(
    /// The id of the resource the path names (the `id` of its view).
    #[param(value_type = String)]
    pub Id,
);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_ids(parts).await?.next().map(PathId).ok_or_else(|| ApiError::not_found("resource"))
    }
}

/// The `{id}` and `{key-id}` of a key's path: its service account, then the key.
#[derive(IntoParams)]
#[into_params(names("id", "key-id"), parameter_in = Path)]
pub struct KeyPath(
    /// The service account's id.
    #[param(value_type = String)]
    pub Id,
    /// The key's id.
    #[param(value_type = String)]
    pub Id,
);

impl<S: Send + Sync> FromRequestParts<S> for KeyPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut ids = path_ids(parts).await?;
        match (ids.next(), ids.next()) {
            (Some(account), Some(key)) => Ok(KeyPath(account, key)),
            _ => Err(ApiError::not_found("resource")),
        }
    }
}
