//! `/api/user/v1/me/invitation`: a person's own pending invitations, and
//! their answer to each. Nobody joins an organization without consenting:
//! an organization that has added a person who already has an account is
//! only an invitation until they accept it here (or through the link their
//! invitation carried, which opens the app's page that calls `accept` with
//! its token). People only, through the web app's session: a key is refused.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::PathId;
use super::orgs::OrgView;
use crate::domain::entity::PendingInvitation;
use crate::domain::{Role, Token, UnixTime};
use crate::http::AppState;
use crate::http::auth::{ClientIp, Who};
use crate::http::error::{ApiError, Problem};
use crate::http::extract::JsonBody;

/// An invitation the caller has not answered: an organization, and the role
/// it offers them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    /// The organization that invited the caller; the `{id}` of the answer's
    /// path.
    pub org_id: String,
    pub org_name: String,
    /// The role the caller would have there.
    pub role: Role,
    /// When the organization invited the caller (Unix seconds).
    pub invited: UnixTime,
}

impl From<PendingInvitation> for InvitationView {
    fn from(i: PendingInvitation) -> Self {
        Self { org_id: i.org_id.to_string(), org_name: i.org_name.into(), role: i.role, invited: i.invited }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationList {
    pub items: Vec<InvitationView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// The token of the invitation's link (`/accept-invitation?token=`),
    /// when accepting through it; it must be a live link of this very
    /// invitation, and is then used up. Without it, the invitation is
    /// accepted in the app.
    token: Option<String>,
}

/// The `{id}` of an invitation's path (documentation only: `PathId` reads it).
#[derive(IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
#[allow(dead_code)]
pub struct InvitationPath(
    /// The id of the organization that invited the caller (the invitation's
    /// `orgId`).
    String,
);

/// List my invitations.
///
/// A person, of themselves: the organizations that have added them and
/// that they have not answered yet, oldest first. None of them appears in
/// `GET /api/org/v1/org` or may be pinned until accepted. A key is refused
/// (`403`).
#[utoipa::path(
    operation_id = "listMyInvitations", get, path = "/api/user/v1/me/invitation", tag = "users",
    responses(
        (status = 200, description = "The caller's pending invitations", body = InvitationList),
        (status = 403, description = "Only a person has invitations, not a key", body = Problem),
    ),
    security(("session" = []))
)]
pub async fn list(State(state): State<AppState>, Who(who): Who) -> Result<Json<InvitationList>, ApiError> {
    let items = state.service.my_invitations(&who).await?.into_iter().map(InvitationView::from).collect();
    Ok(Json(InvitationList { items }))
}

/// Accept an invitation.
///
/// A person, of themselves: takes up their pending membership of the
/// organization `id`, which from then on is among their organizations,
/// with the role offered. With `token`, through the invitation's link: it
/// must be a live link of this invitation (unused, under seven days old)
/// and is used up; the link never lets anyone but the person logged in
/// accept. `404` when the caller has no pending invitation there; `422`
/// naming `token` for a link that is unknown, used, expired or not theirs;
/// `403` for a key.
#[utoipa::path(
    operation_id = "acceptInvitation", post, path = "/api/user/v1/me/invitation/{id}/accept", tag = "users",
    params(InvitationPath), request_body = AcceptInvitation,
    responses(
        (status = 200, description = "Accepted: the organization the caller is now in", body = OrgView),
        (status = 403, description = "Only a person answers invitations, not a key", body = Problem),
        (status = 404, description = "No pending invitation from that organization", body = Problem),
    ),
    security(("session" = []))
)]
pub async fn accept(
    State(state): State<AppState>,
    Who(who): Who,
    ClientIp(ip): ClientIp,
    PathId(org): PathId,
    JsonBody(body): JsonBody<AcceptInvitation>,
) -> Result<Json<OrgView>, ApiError> {
    let token = match body.token {
        Some(t) if t.is_empty() => return Err(ApiError::invalid_field("token", "must not be empty")),
        Some(t) => Some(Token::from_client(&t)),
        None => None,
    };
    let client = ip.map(|ip| ip.to_string());
    let joined = state.service.accept_invitation(&who, &org, token.as_ref(), client).await?;
    let policy = state.service.org_policies(std::slice::from_ref(&joined.org_id)).await?.pop().unwrap_or_default();
    Ok(Json(OrgView::new(joined.org_id.to_string(), joined.org_name.into(), joined.role, policy)))
}

/// Decline an invitation.
///
/// A person, of themselves: declines their pending membership of the
/// organization `id`, which is removed (its links stop working). A person
/// then left in no organization, pending or not, is deleted, as after an
/// admin's removal. `404` when the caller has no pending invitation there;
/// `403` for a key.
#[utoipa::path(
    operation_id = "declineInvitation", post, path = "/api/user/v1/me/invitation/{id}/decline", tag = "users",
    params(InvitationPath),
    responses(
        (status = 204, description = "Declined"),
        (status = 403, description = "Only a person answers invitations, not a key", body = Problem),
        (status = 404, description = "No pending invitation from that organization", body = Problem),
    ),
    security(("session" = []))
)]
pub async fn decline(
    State(state): State<AppState>,
    Who(who): Who,
    ClientIp(ip): ClientIp,
    PathId(org): PathId,
) -> Result<StatusCode, ApiError> {
    state.service.decline_invitation(&who, &org, ip.map(|ip| ip.to_string())).await?;
    Ok(StatusCode::NO_CONTENT)
}
