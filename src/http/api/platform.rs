//! Health, readiness, metrics and the OpenAPI document.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::error::{ApiError, Problem};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(operation_id = "healthz", get, path = "/healthz", tag = "platform", responses((status = 200, body = Health)), security(()))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: storage answers.
#[utoipa::path(
    operation_id = "readyz", get, path = "/readyz", tag = "platform",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "Storage unreachable", body = Problem),
    ),
    security(())
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.service.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready: storage does not answer");
        ApiError::unavailable()
    })?;
    Ok(Json(Health { status: "ok" }))
}

/// Prometheus metrics.
#[utoipa::path(operation_id = "metrics", get, path = "/metrics", tag = "platform", responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")), security(()))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    state.service.observe_throttles();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.service.metrics().render())
        .into_response()
}

/// The OpenAPI document served as JSON, built once at start-up; every
/// answer shares its bytes rather than copying them.
#[derive(Clone)]
pub struct OpenApiJson(pub axum::body::Bytes);

/// This API's OpenAPI 3.1 document, generated from the handlers.
#[utoipa::path(operation_id = "openapi", get, path = "/api/openapi.json", tag = "platform", responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")), security(()))]
pub async fn openapi(Extension(doc): Extension<OpenApiJson>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], doc.0).into_response()
}
