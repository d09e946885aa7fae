//! `/api/user/v1/user`: the organization's people and their roles (admins).

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{IdempotencyHeader, PageQuery, PageRequest, PageView, PathId};
use crate::domain::entity::Member;
use crate::domain::{Email, Role, UnixTime};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ApiQuery, JsonBody};
use crate::service::idempotency::ReplayGuard;

const LISTING: &str = "user";

/// A person as this organization sees them: their membership here, and
/// nothing about their account or their standing in other organizations.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    /// The person's id in this organization (their membership's); another
    /// organization knows the same person by another id.
    pub id: String,
    /// As this organization typed it.
    pub email: String,
    pub org_id: String,
    pub role: Role,
    /// When the user joined the organization (Unix seconds).
    pub created: UnixTime,
    /// False while the membership is pending: until the person accepts it,
    /// by choosing a password through the invitation this organization sent
    /// or, when they had an account, by accepting the invitation. A new
    /// address and one that has an account elsewhere both start pending, and
    /// a pending member can do nothing here.
    pub active: bool,
}

impl From<Member> for UserView {
    fn from(m: Member) -> Self {
        Self {
            id: m.id.to_string(),
            email: m.email.into(),
            org_id: m.org_id.to_string(),
            role: m.role,
            created: m.created,
            active: m.accepted.is_some(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteUser {
    /// Where the invitation goes.
    #[schema(required = true, example = "ada@example.com")]
    email: Option<String>,
    /// Default `viewer`; at most the caller's own role.
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[schema(required = true, value_type = Role)]
    role: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    #[serde(flatten)]
    #[param(ignore)]
    page: PageQuery,
}

fn role_field(raw: &str) -> Result<Role, ApiError> {
    raw.parse().map_err(|e: crate::domain::role::RoleError| ApiError::invalid_field("role", e.to_string()))
}

/// List the organization's users.
///
/// Admins.
#[utoipa::path(
    operation_id = "listUsers", get, path = "/api/user/v1/user", tag = "users", params(UserQuery, PageQuery),
    responses((status = 200, description = "A page of users", body = PageView<UserView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> Result<Json<PageView<UserView>>, ApiError> {
    let page = PageRequest::parse(LISTING, &q.page)?;
    let users = state.service.list_users(&p, page.position, page.limit).await?;
    Ok(Json(PageView::of(LISTING, users, UserView::from)))
}

/// Invite a user to the organization.
///
/// Admins, with a role no higher than their own. keyward emails the person
/// a one-time link (it works for seven days, once, and only while this
/// membership exists): to choose a password when they have none, to accept
/// the invitation when they have an account. Nobody joins without
/// consenting: the membership lets the person act nowhere, and appears in
/// none of their sessions, until they accept. The link goes only to the
/// invitee, never into this answer, and the answer is the same whether or
/// not the address already had an account: the new member is pending
/// (`active: false`) either way. `409` when already a member.
#[utoipa::path(
    operation_id = "createUser", post, path = "/api/user/v1/user", tag = "users", params(IdempotencyHeader),
    request_body = InviteUser,
    responses(
        (status = 201, description = "The new member, pending until the person accepts", body = UserView),
        (status = 403, description = "Admins only, up to their own role", body = Problem),
        (status = 409, description = "Already a member", body = Problem),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(p): Caller,
    JsonBody(body): JsonBody<InviteUser>,
) -> Result<(StatusCode, Extension<ReplayGuard>, Json<UserView>), ApiError> {
    let email = body.email.ok_or_else(|| ApiError::invalid_field("email", "is required"))?;
    let email = Email::parse(&email).map_err(|e| ApiError::invalid_field("email", e.to_string()))?;
    let role = body.role.as_deref().map(role_field).transpose()?.unwrap_or(Role::Viewer);
    let member = state.service.invite_user(&p, email, role).await?;
    Ok((StatusCode::CREATED, Extension(ReplayGuard::new(&p, Role::Admin)), Json(member.into())))
}

/// Change a user's role.
///
/// Admins, up to their own role. The last admin cannot be demoted.
#[utoipa::path(
    operation_id = "updateUser", patch, path = "/api/user/v1/user/{id}", tag = "users", params(PathId),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "The member", body = UserView),
        (status = 409, description = "The last admin", body = Problem),
    ),
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathId(id): PathId,
    JsonBody(body): JsonBody<UpdateUser>,
) -> Result<Json<UserView>, ApiError> {
    let role = role_field(&body.role.ok_or_else(|| ApiError::invalid_field("role", "is required"))?)?;
    Ok(Json(state.service.set_user_role(&p, &id, role).await?.into()))
}

/// Remove a user from the organization.
///
/// Admins. The links this organization's invitation sent the person stop
/// working, and an invitation not sent yet is not sent. The person's
/// sessions go on for their other organizations (here they no longer act);
/// a person left in no organization is deleted. The last admin cannot be
/// removed.
#[utoipa::path(
    operation_id = "deleteUser", delete, path = "/api/user/v1/user/{id}", tag = "users", params(PathId),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "The organization's last admin cannot be removed", body = Problem),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    state.service.remove_user(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
