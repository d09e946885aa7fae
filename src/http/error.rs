//! The one HTTP error type: RFC 9457 problem details. Every refusal and every
//! failure leaves through here; 5xx bodies are generic and the cause goes to
//! the log only.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::service::ServiceError;
use crate::service::auth::{AuthError, AuthFailure};

/// How long a client should wait before retrying when storage is away.
const UNAVAILABLE_RETRY_AFTER: u64 = 5;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    detail: String,
    field: Option<String>,
    retry_after: Option<u64>,
}

/// An `application/problem+json` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, stable for programs to match on.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request field or parameter at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self { status, kind, detail: detail.into(), field: None, retry_after: None }
    }

    fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn bad_request(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail).with_field(field)
    }

    pub fn malformed_body(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed-body", detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "valid credentials are required")
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", format!("{what} not found"))
    }

    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "this method is not allowed here")
    }

    pub fn conflict(field: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail).with_field(field)
    }

    pub fn payload_too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "the body is larger than 64 KiB")
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "the body must be JSON, sent with Content-Type: application/json",
        )
    }

    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", detail).with_field(field)
    }

    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut err =
            Self::new(StatusCode::TOO_MANY_REQUESTS, "too-many-requests", "too many failed attempts; retry later");
        err.retry_after = Some(retry_after.max(1));
        err
    }

    /// A valid key that lacks a scope the gateway asked for.
    pub fn missing_scope(scope: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "missing-scope", format!("the key lacks the scope {scope}"))
            .with_field("scope")
    }

    /// A valid key past its own rate limit.
    pub fn rate_limited(retry_after: u64) -> Self {
        let mut err =
            Self::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", "the key's rate limit is used up; retry later");
        err.retry_after = Some(retry_after.max(1));
        err
    }

    pub fn unavailable() -> Self {
        let mut err =
            Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "storage is unavailable; retry shortly");
        err.retry_after = Some(UNAVAILABLE_RETRY_AFTER);
        err
    }

    /// A request with the same idempotency key is still running.
    pub fn in_progress(field: &str) -> Self {
        let mut err = Self::new(
            StatusCode::CONFLICT,
            "in-progress",
            "a request with this key is still being processed; retry shortly",
        )
        .with_field(field);
        err.retry_after = Some(1);
        err
    }

    pub fn busy(retry_after: u64) -> Self {
        let mut err = Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "the server is busy; retry shortly");
        err.retry_after = Some(retry_after.max(1));
        err
    }

    pub fn internal(cause: &dyn std::fmt::Debug) -> Self {
        tracing::error!(cause = ?cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "an internal error occurred")
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound(what) => ApiError::not_found(what),
            ServiceError::Forbidden(detail) => ApiError::forbidden(detail),
            ServiceError::Conflict { field, detail } => ApiError::conflict(field, detail),
            ServiceError::Invalid { field, detail } => ApiError::invalid_field(field, detail),
            ServiceError::BadRequest(detail) => ApiError::bad_request("orgId", detail),
            ServiceError::Unavailable(cause) => {
                tracing::warn!(cause = ?cause, "storage unavailable");
                ApiError::unavailable()
            }
            ServiceError::Busy(wait) => ApiError::busy(wait),
            ServiceError::Internal(cause) => ApiError::internal(&cause),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Refused(_) => ApiError::unauthorized(),
            AuthError::Service(e) => e.into(),
        }
    }
}

impl From<AuthFailure> for ApiError {
    fn from(_: AuthFailure) -> Self {
        ApiError::unauthorized()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error").to_owned();
        let body = Problem {
            kind: format!("urn:keyward:problem:{}", self.kind),
            title,
            status: self.status.as_u16(),
            detail: self.detail,
            field: self.field,
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"keyward\""));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
