//! `/api/user/v1/user`: the organization's people and their roles (admins).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{OrgQuery, PageRequest, PageView, PathIds};
use crate::domain::{Email, Role, UnixTime};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ApiQuery, Body, JsonBody};
use crate::store::MemberRecord;

const LISTING: &str = "user";

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub org_id: String,
    pub role: Role,
    /// When the user joined the organization (Unix seconds).
    pub created: UnixTime,
    /// False until the user has chosen a password.
    pub active: bool,
}

impl From<MemberRecord> for UserView {
    fn from(m: MemberRecord) -> Self {
        Self {
            id: m.id.to_string(),
            email: m.email,
            org_id: m.org_id.to_string(),
            role: m.role,
            created: m.created,
            active: m.has_password,
        }
    }
}

/// A new member, and for a new person the one-time link to set a password.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitedUserView {
    #[serde(flatten)]
    pub user: UserView,
    /// Single use, valid 7 days; shown only here. Null when the person
    /// already had an account.
    pub password_setup_link: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteUser {
    #[schema(required = true, example = "ada@example.com")]
    email: Option<String>,
    /// Default `viewer`; at most the caller's own role.
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
}

impl Body for InviteUser {
    const FIELDS: &'static [&'static str] = &["email", "role"];
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateUser {
    #[schema(required = true, value_type = Role)]
    role: Option<String>,
}

impl Body for UpdateUser {
    const FIELDS: &'static [&'static str] = &["role"];
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Pin to organization (Organization.id).
    #[serde(rename = "orgId")]
    #[param(rename = "orgId")]
    #[allow(dead_code)]
    org_id: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<String>,
    /// `nextCursor` from the previous page.
    cursor: Option<String>,
}

fn role_field(raw: &str) -> Result<Role, ApiError> {
    raw.parse().map_err(|e: crate::domain::role::RoleError| ApiError::invalid_field("role", e.to_string()))
}

/// List the organization's users.
///
/// Admins.
#[utoipa::path(
    operation_id = "listUsers", get, path = "/api/user/v1/user", tag = "users", params(UserQuery),
    responses(
        (status = 200, description = "A page of users", body = PageView<UserView>),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> Result<Json<PageView<UserView>>, ApiError> {
    let page = PageRequest::parse(LISTING, q.limit.as_deref(), q.cursor.as_deref())?;
    let users = state.service.list_users(&p, page.position, page.limit).await?;
    Ok(Json(PageView::of(LISTING, users, UserView::from)))
}

/// Add a user to the organization.
///
/// Admins, with a role no higher than their own. A new person gets a
/// one-time link to set a password. `409` when already a member.
#[utoipa::path(
    operation_id = "createUser", post, path = "/api/user/v1/user", tag = "users", params(OrgQuery),
    request_body = InviteUser,
    responses(
        (status = 201, description = "The member", body = InvitedUserView),
        (status = 409, description = "Already a member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is wrong", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(p): Caller,
    JsonBody(body): JsonBody<InviteUser>,
) -> Result<(StatusCode, Json<InvitedUserView>), ApiError> {
    let email = body.email.ok_or_else(|| ApiError::invalid_field("email", "is required"))?;
    let email = Email::parse(&email).map_err(|e| ApiError::invalid_field("email", e.to_string()))?;
    let role = body.role.as_deref().map(role_field).transpose()?.unwrap_or(Role::Viewer);
    let new = state.service.invite_user(&p, email, role).await?;
    let link = new.password_token.map(|t| format!("{}/set-password?token={}", state.public_url, t.expose()));
    Ok((StatusCode::CREATED, Json(InvitedUserView { user: new.member.into(), password_setup_link: link })))
}

/// Change a user's role.
///
/// Admins, up to their own role. The last admin cannot be demoted.
#[utoipa::path(
    operation_id = "updateUser", patch, path = "/api/user/v1/user/{id}", tag = "users",
    params(("id" = String, Path, description = "User id"), OrgQuery),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "The member", body = UserView),
        (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    JsonBody(body): JsonBody<UpdateUser>,
) -> Result<Json<UserView>, ApiError> {
    let id = ids.one()?;
    let role = role_field(&body.role.ok_or_else(|| ApiError::invalid_field("role", "is required"))?)?;
    Ok(Json(state.service.set_user_role(&p, &id, role).await?.into()))
}

/// Remove a user from the organization.
///
/// Admins. Ends the user's sessions. The last admin cannot be removed.
#[utoipa::path(
    operation_id = "deleteUser", delete, path = "/api/user/v1/user/{id}", tag = "users",
    params(("id" = String, Path, description = "User id"), OrgQuery),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn delete(State(state): State<AppState>, Caller(p): Caller, ids: PathIds) -> Result<StatusCode, ApiError> {
    let id = ids.one()?;
    state.service.remove_user(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
