from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.invite_user import InviteUser
from ...models.problem import Problem
from ...models.user_view import UserView
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: InviteUser | Unset = UNSET,
    org_id: str | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    params: dict[str, Any] = {}

    params["orgId"] = org_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/user/v1/user",
        "params": params,
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | UserView | None:
    if response.status_code == 201:
        response_201 = UserView.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | UserView]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: InviteUser | Unset = UNSET,
    org_id: str | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[Problem | UserView]:
    """Invite a user to the organization.

     Admins, with a role no higher than their own. keyward emails the person
    a one-time link (it works for seven days, once, and only while this
    membership exists): to choose a password when they have none, to accept
    the invitation when they have an account. Nobody joins without
    consenting: the membership lets the person act nowhere, and appears in
    none of their sessions, until they accept. The link goes only to the
    invitee, never into this answer, and the answer is the same whether or
    not the address already had an account: the new member is pending
    (`active: false`) either way. `409` when already a member.

    Args:
        org_id (str | Unset):
        idempotency_key (None | str | Unset):
        body (InviteUser | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | UserView]
    """

    kwargs = _get_kwargs(
        body=body,
        org_id=org_id,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: InviteUser | Unset = UNSET,
    org_id: str | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> Problem | UserView | None:
    """Invite a user to the organization.

     Admins, with a role no higher than their own. keyward emails the person
    a one-time link (it works for seven days, once, and only while this
    membership exists): to choose a password when they have none, to accept
    the invitation when they have an account. Nobody joins without
    consenting: the membership lets the person act nowhere, and appears in
    none of their sessions, until they accept. The link goes only to the
    invitee, never into this answer, and the answer is the same whether or
    not the address already had an account: the new member is pending
    (`active: false`) either way. `409` when already a member.

    Args:
        org_id (str | Unset):
        idempotency_key (None | str | Unset):
        body (InviteUser | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | UserView
    """

    return sync_detailed(
        client=client,
        body=body,
        org_id=org_id,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: InviteUser | Unset = UNSET,
    org_id: str | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[Problem | UserView]:
    """Invite a user to the organization.

     Admins, with a role no higher than their own. keyward emails the person
    a one-time link (it works for seven days, once, and only while this
    membership exists): to choose a password when they have none, to accept
    the invitation when they have an account. Nobody joins without
    consenting: the membership lets the person act nowhere, and appears in
    none of their sessions, until they accept. The link goes only to the
    invitee, never into this answer, and the answer is the same whether or
    not the address already had an account: the new member is pending
    (`active: false`) either way. `409` when already a member.

    Args:
        org_id (str | Unset):
        idempotency_key (None | str | Unset):
        body (InviteUser | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | UserView]
    """

    kwargs = _get_kwargs(
        body=body,
        org_id=org_id,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: InviteUser | Unset = UNSET,
    org_id: str | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> Problem | UserView | None:
    """Invite a user to the organization.

     Admins, with a role no higher than their own. keyward emails the person
    a one-time link (it works for seven days, once, and only while this
    membership exists): to choose a password when they have none, to accept
    the invitation when they have an account. Nobody joins without
    consenting: the membership lets the person act nowhere, and appears in
    none of their sessions, until they accept. The link goes only to the
    invitee, never into this answer, and the answer is the same whether or
    not the address already had an account: the new member is pending
    (`active: false`) either way. `409` when already a member.

    Args:
        org_id (str | Unset):
        idempotency_key (None | str | Unset):
        body (InviteUser | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | UserView
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            org_id=org_id,
            idempotency_key=idempotency_key,
        )
    ).parsed
