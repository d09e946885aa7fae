from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.page_view_audit_event_view import PageViewAuditEventView
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    actor_id: str | Unset = UNSET,
    action: str | Unset = UNSET,
    target_id: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["actorId"] = actor_id

    params["action"] = action

    params["targetId"] = target_id

    params["limit"] = limit

    params["cursor"] = cursor

    params["orgId"] = org_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/audit/v1/event",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PageViewAuditEventView | Problem | None:
    if response.status_code == 200:
        response_200 = PageViewAuditEventView.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[PageViewAuditEventView | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    actor_id: str | Unset = UNSET,
    action: str | Unset = UNSET,
    target_id: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> Response[PageViewAuditEventView | Problem]:
    """List audit events.

     Admins. Newest first, paged like service accounts; `actorId`, `action`
    (exact, or `key.*` for a family) and `targetId` narrow it, together.

    Args:
        actor_id (str | Unset):
        action (str | Unset):
        target_id (str | Unset):
        limit (int | Unset):
        cursor (str | Unset):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageViewAuditEventView | Problem]
    """

    kwargs = _get_kwargs(
        actor_id=actor_id,
        action=action,
        target_id=target_id,
        limit=limit,
        cursor=cursor,
        org_id=org_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    actor_id: str | Unset = UNSET,
    action: str | Unset = UNSET,
    target_id: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> PageViewAuditEventView | Problem | None:
    """List audit events.

     Admins. Newest first, paged like service accounts; `actorId`, `action`
    (exact, or `key.*` for a family) and `targetId` narrow it, together.

    Args:
        actor_id (str | Unset):
        action (str | Unset):
        target_id (str | Unset):
        limit (int | Unset):
        cursor (str | Unset):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageViewAuditEventView | Problem
    """

    return sync_detailed(
        client=client,
        actor_id=actor_id,
        action=action,
        target_id=target_id,
        limit=limit,
        cursor=cursor,
        org_id=org_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    actor_id: str | Unset = UNSET,
    action: str | Unset = UNSET,
    target_id: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> Response[PageViewAuditEventView | Problem]:
    """List audit events.

     Admins. Newest first, paged like service accounts; `actorId`, `action`
    (exact, or `key.*` for a family) and `targetId` narrow it, together.

    Args:
        actor_id (str | Unset):
        action (str | Unset):
        target_id (str | Unset):
        limit (int | Unset):
        cursor (str | Unset):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageViewAuditEventView | Problem]
    """

    kwargs = _get_kwargs(
        actor_id=actor_id,
        action=action,
        target_id=target_id,
        limit=limit,
        cursor=cursor,
        org_id=org_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    actor_id: str | Unset = UNSET,
    action: str | Unset = UNSET,
    target_id: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> PageViewAuditEventView | Problem | None:
    """List audit events.

     Admins. Newest first, paged like service accounts; `actorId`, `action`
    (exact, or `key.*` for a family) and `targetId` narrow it, together.

    Args:
        actor_id (str | Unset):
        action (str | Unset):
        target_id (str | Unset):
        limit (int | Unset):
        cursor (str | Unset):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageViewAuditEventView | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            actor_id=actor_id,
            action=action,
            target_id=target_id,
            limit=limit,
            cursor=cursor,
            org_id=org_id,
        )
    ).parsed
