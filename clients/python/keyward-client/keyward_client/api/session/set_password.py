from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.set_password import SetPassword
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: SetPassword | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/session/v1/password",
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | Problem | None:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Any | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: SetPassword | Unset = UNSET,
) -> Response[Any | Problem]:
    """Set a password from an invitation's link.

     Whoever holds the link the invitee was emailed. It chooses the first
    password of the person it was sent to, once, within seven days, while
    the membership whose invitation sent it exists, and never replaces a
    password already chosen. Choosing it accepts that membership (the
    person's other invitations wait for them in the app). `422` names
    `token` when the link is unknown, used, expired or voided, or
    `password` when it is too short.

    Args:
        body (SetPassword | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: SetPassword | Unset = UNSET,
) -> Any | Problem | None:
    """Set a password from an invitation's link.

     Whoever holds the link the invitee was emailed. It chooses the first
    password of the person it was sent to, once, within seven days, while
    the membership whose invitation sent it exists, and never replaces a
    password already chosen. Choosing it accepts that membership (the
    person's other invitations wait for them in the app). `422` names
    `token` when the link is unknown, used, expired or voided, or
    `password` when it is too short.

    Args:
        body (SetPassword | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: SetPassword | Unset = UNSET,
) -> Response[Any | Problem]:
    """Set a password from an invitation's link.

     Whoever holds the link the invitee was emailed. It chooses the first
    password of the person it was sent to, once, within seven days, while
    the membership whose invitation sent it exists, and never replaces a
    password already chosen. Choosing it accepts that membership (the
    person's other invitations wait for them in the app). `422` names
    `token` when the link is unknown, used, expired or voided, or
    `password` when it is too short.

    Args:
        body (SetPassword | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: SetPassword | Unset = UNSET,
) -> Any | Problem | None:
    """Set a password from an invitation's link.

     Whoever holds the link the invitee was emailed. It chooses the first
    password of the person it was sent to, once, within seven days, while
    the membership whose invitation sent it exists, and never replaces a
    password already chosen. Choosing it accepts that membership (the
    person's other invitations wait for them in the app). `422` names
    `token` when the link is unknown, used, expired or voided, or
    `password` when it is too short.

    Args:
        body (SetPassword | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
