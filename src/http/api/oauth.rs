//! `POST /api/auth/v1/oauth/token` (RFC 7523 JWT bearer grant, or client
//! credentials), `GET /.well-known/jwks.json` and the server's metadata,
//! `GET /.well-known/oauth-authorization-server` (RFC 8414). Errors here follow RFC 6749
//! (`{"error", "error_description"}`), as OAuth clients expect.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::auth::{ClientIp, parse_authorization};
use crate::http::error::ApiError;
use crate::http::rate_headers;
use crate::service::auth::Credential;
use crate::service::tokens::{AccessToken, JWT_BEARER, OAuthError};

pub const TOKEN_PATH: &str = "/api/auth/v1/oauth/token";

/// The form a client posts (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` or `client_credentials`.
    grant_type: Option<String>,
    /// For the JWT bearer grant: a JWT signed (HS256) with the key's secret,
    /// header `kid` = keyId, `iss` = `sub` = the service account id, `aud` =
    /// this endpoint's URL, `exp` at most one hour ahead, and a `jti`.
    assertion: Option<String>,
    /// Accepted and ignored: a token carries its account's role.
    #[allow(dead_code)]
    scope: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT signed by keyward (EdDSA); verify it with /.well-known/jwks.json.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires (at most 3600, and never past its key's expiry).
    pub expires_in: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant` or `unsupported_grant_type`.
    pub error: String,
    pub error_description: String,
}

fn oauth_error(err: OAuthError, wait: Option<u64>) -> Response {
    if let Some(wait) = wait {
        return ApiError::too_many_requests(wait).into_response();
    }
    let code = err.code().to_owned();
    let (status, description) = match err {
        OAuthError::Service(e) => return ApiError::from(e).into_response(),
        OAuthError::RateLimited(rate) => {
            let mut response = ApiError::rate_limited(rate.reset).into_response();
            rate_headers(response.headers_mut(), Some(rate));
            return response;
        }
        OAuthError::InvalidRequest(d) | OAuthError::InvalidGrant(d) => (StatusCode::BAD_REQUEST, d),
        OAuthError::InvalidClient => (StatusCode::UNAUTHORIZED, "the client's credentials were refused".to_owned()),
        OAuthError::UnsupportedGrantType => {
            (StatusCode::BAD_REQUEST, format!("grant_type must be {JWT_BEARER} or client_credentials"))
        }
    };
    let mut response = (status, Json(OAuthErrorBody { error: code, error_description: description })).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"keyward\""));
    }
    response
}

/// Exchange a signed assertion or client credentials for an access token.
///
/// Anyone holding a key. A replayed assertion (same `jti`) is refused.
/// Refused requests count toward the client's throttling.
#[utoipa::path(
    operation_id = "issueToken", post, path = TOKEN_PATH, tag = "identity",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access token", body = TokenResponse),
        (status = 400, description = "RFC 6749 error: invalid_request, invalid_grant, unsupported_grant_type", body = OAuthErrorBody),
        (status = 401, description = "RFC 6749 invalid_client", body = OAuthErrorBody),
        (status = 429, description = "Too many failed attempts from this client, or the key is past its rate limit (issuing a token is a use of it)"),
    ),
    security((), ("basic" = []))
)]
pub async fn token(State(state): State<AppState>, ClientIp(ip): ClientIp, headers: HeaderMap, body: Bytes) -> Response {
    let service = &state.service;
    let endpoint = format!("{}{TOKEN_PATH}", state.public_url);
    let outcome = async {
        let form_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
        if !form_type {
            return Err((
                OAuthError::InvalidRequest("send the request as application/x-www-form-urlencoded".into()),
                None,
            ));
        }
        let form: TokenRequest = serde_urlencoded::from_bytes(&body)
            .map_err(|e| (OAuthError::InvalidRequest(format!("the form could not be read: {e}")), None))?;
        match form.grant_type.as_deref() {
            Some(JWT_BEARER) => {
                let assertion = form
                    .assertion
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| (OAuthError::InvalidRequest("assertion is required".into()), None))?;
                service
                    .exchange_assertion(&assertion, &endpoint, &state.public_url, ip)
                    .await
                    .map(|(token, _)| token)
                    .map_err(|e| (e, None))
            }
            Some("client_credentials") => {
                let credential = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .map(parse_authorization)
                    .and_then(Result::ok)
                    .filter(|c| matches!(c, Credential::Basic { .. }))
                    .ok_or((OAuthError::InvalidClient, None))?;
                let key_id = match &credential {
                    Credential::Basic { key_id, .. } => Some(key_id.clone()),
                    _ => None,
                };
                service.exchange_client_credentials(&credential, &state.public_url, ip).await.map_err(|e| (e, key_id))
            }
            Some(_) => Err((OAuthError::UnsupportedGrantType, None)),
            None => Err((OAuthError::InvalidRequest("grant_type is required".into()), None)),
        }
    }
    .await;
    match outcome {
        Ok(AccessToken { token, expires_in, rate }) => {
            let mut response =
                Json(TokenResponse { access_token: token, token_type: "Bearer", expires_in }).into_response();
            response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            rate_headers(response.headers_mut(), rate);
            response
        }
        Err((err, key_id)) => {
            let counts = matches!(err, OAuthError::InvalidGrant(_) | OAuthError::InvalidClient);
            let wait = counts.then(|| service.note_failure(ip, key_id.as_deref())).flatten();
            oauth_error(err, wait)
        }
    }
}

/// The public keys that verify keyward's access tokens (JWK set).
#[utoipa::path(
    operation_id = "jwks", get, path = "/.well-known/jwks.json", tag = "identity",
    responses((status = 200, description = "A JWK set with keyward's Ed25519 public key", content_type = "application/json")),
    security(())
)]
pub async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = state.service.jwks().await?;
    let mut response = Json(keys).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    Ok(response)
}

/// The authorization server's metadata (RFC 8414).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerMetadata {
    /// The `iss` of every access token keyward issues.
    pub issuer: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub grant_types_supported: Vec<&'static str>,
    /// How `client_credentials` clients authenticate: HTTP Basic
    /// `keyId:secret`. The JWT bearer grant needs none: its assertion is
    /// the proof.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// keyward has no authorization endpoint, so no response types.
    pub response_types_supported: Vec<&'static str>,
    /// How access tokens are signed.
    pub token_signing_alg_values_supported: Vec<&'static str>,
    /// The OpenAPI document of the whole API.
    pub service_documentation: String,
}

/// The authorization server's metadata (RFC 8414): where the token endpoint
/// and the published keys are, and which grants it takes.
#[utoipa::path(
    operation_id = "authorizationServerMetadata", get, path = "/.well-known/oauth-authorization-server", tag = "identity",
    responses((status = 200, description = "RFC 8414 metadata", body = ServerMetadata)),
    security(())
)]
pub async fn metadata(State(state): State<AppState>) -> Response {
    let base = &state.public_url;
    let body = ServerMetadata {
        issuer: base.to_string(),
        token_endpoint: format!("{base}{TOKEN_PATH}"),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        grant_types_supported: vec![JWT_BEARER, "client_credentials"],
        token_endpoint_auth_methods_supported: vec!["client_secret_basic"],
        response_types_supported: Vec::new(),
        token_signing_alg_values_supported: vec!["EdDSA"],
        service_documentation: format!("{base}/api/openapi.json"),
    };
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}
