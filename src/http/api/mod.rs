//! The REST API, one module per resource.

pub mod accounts;
pub mod audit;
pub mod email;
pub mod identity;
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
use serde::Serialize;
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

/// `orgId`, accepted by every call (documentation only: the `Caller`
/// extractor reads it).
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

/// Where a page starts and how long it is, from `limit` and `cursor`.
pub struct PageRequest {
    pub limit: usize,
    pub position: Option<Id>,
}

impl PageRequest {
    pub fn parse(listing: &str, limit: Option<&str>, cursor: Option<&str>) -> Result<Self, ApiError> {
        Ok(Self { limit: parse_limit(limit)?, position: cursor::decode(listing, cursor)? })
    }
}

/// The ids in a request's path, in order. An id of the wrong shape exists
/// nowhere, so it is a `404` like any unknown one.
pub struct PathIds(pub Vec<Id>);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = RawPathParams::from_request_parts(parts, state).await.map_err(|_| ApiError::not_found("resource"))?;
        raw.iter()
            .map(|(name, value)| {
                Id::parse(value).ok_or_else(|| ApiError::not_found(if name == "key-id" { "key" } else { "resource" }))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(PathIds)
    }
}

impl PathIds {
    pub fn one(self) -> Result<Id, ApiError> {
        self.0.into_iter().next().ok_or_else(|| ApiError::not_found("resource"))
    }

    pub fn two(self) -> Result<(Id, Id), ApiError> {
        let mut ids = self.0.into_iter();
        match (ids.next(), ids.next()) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => Err(ApiError::not_found("resource")),
        }
    }
}
