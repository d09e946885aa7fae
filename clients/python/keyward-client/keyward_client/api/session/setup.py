from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.session_view import SessionView
from ...models.setup import Setup
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: Setup | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/session/v1/setup",
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | SessionView | None:
    if response.status_code == 201:
        response_201 = SessionView.from_dict(response.json())

        return response_201

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | SessionView]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: Setup | Unset = UNSET,
) -> Response[Problem | SessionView]:
    """Create the first organization and admin.

     Anyone holding the one-time link that `keyward serve` logs while the
    database has no users. Creates both in one transaction, uses up the link
    and logs the admin in (the same cookies as a login). `422` names `token`
    when the link is unknown, used or expired (or users exist by now), or the
    field at fault.

    Args:
        body (Setup | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SessionView]
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
    body: Setup | Unset = UNSET,
) -> Problem | SessionView | None:
    """Create the first organization and admin.

     Anyone holding the one-time link that `keyward serve` logs while the
    database has no users. Creates both in one transaction, uses up the link
    and logs the admin in (the same cookies as a login). `422` names `token`
    when the link is unknown, used or expired (or users exist by now), or the
    field at fault.

    Args:
        body (Setup | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SessionView
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: Setup | Unset = UNSET,
) -> Response[Problem | SessionView]:
    """Create the first organization and admin.

     Anyone holding the one-time link that `keyward serve` logs while the
    database has no users. Creates both in one transaction, uses up the link
    and logs the admin in (the same cookies as a login). `422` names `token`
    when the link is unknown, used or expired (or users exist by now), or the
    field at fault.

    Args:
        body (Setup | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SessionView]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: Setup | Unset = UNSET,
) -> Problem | SessionView | None:
    """Create the first organization and admin.

     Anyone holding the one-time link that `keyward serve` logs while the
    database has no users. Creates both in one transaction, uses up the link
    and logs the admin in (the same cookies as a login). `422` names `token`
    when the link is unknown, used or expired (or users exist by now), or the
    field at fault.

    Args:
        body (Setup | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SessionView
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
