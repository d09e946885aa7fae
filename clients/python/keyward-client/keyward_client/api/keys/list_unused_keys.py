from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.page_view_unused_key_view import PageViewUnusedKeyView
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    days: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["days"] = days

    params["limit"] = limit

    params["cursor"] = cursor

    params["orgId"] = org_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/service-account/v1/key/unused",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PageViewUnusedKeyView | Problem | None:
    if response.status_code == 200:
        response_200 = PageViewUnusedKeyView.from_dict(response.json())

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
) -> Response[PageViewUnusedKeyView | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    days: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> Response[PageViewUnusedKeyView | Problem]:
    """Report keys unused for N days.

     Everyone in the organization. Live keys (not expired) whose `lastUsed` —
    or, never used, whose `created` — is more than `days` days ago, across
    every service account: the candidates for deletion.

    Args:
        days (int | Unset):
        limit (int | Unset):
        cursor (str | Unset):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageViewUnusedKeyView | Problem]
    """

    kwargs = _get_kwargs(
        days=days,
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
    days: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> PageViewUnusedKeyView | Problem | None:
    """Report keys unused for N days.

     Everyone in the organization. Live keys (not expired) whose `lastUsed` —
    or, never used, whose `created` — is more than `days` days ago, across
    every service account: the candidates for deletion.

    Args:
        days (int | Unset):
        limit (int | Unset):
        cursor (str | Unset):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageViewUnusedKeyView | Problem
    """

    return sync_detailed(
        client=client,
        days=days,
        limit=limit,
        cursor=cursor,
        org_id=org_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    days: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> Response[PageViewUnusedKeyView | Problem]:
    """Report keys unused for N days.

     Everyone in the organization. Live keys (not expired) whose `lastUsed` —
    or, never used, whose `created` — is more than `days` days ago, across
    every service account: the candidates for deletion.

    Args:
        days (int | Unset):
        limit (int | Unset):
        cursor (str | Unset):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageViewUnusedKeyView | Problem]
    """

    kwargs = _get_kwargs(
        days=days,
        limit=limit,
        cursor=cursor,
        org_id=org_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    days: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> PageViewUnusedKeyView | Problem | None:
    """Report keys unused for N days.

     Everyone in the organization. Live keys (not expired) whose `lastUsed` —
    or, never used, whose `created` — is more than `days` days ago, across
    every service account: the candidates for deletion.

    Args:
        days (int | Unset):
        limit (int | Unset):
        cursor (str | Unset):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageViewUnusedKeyView | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            days=days,
            limit=limit,
            cursor=cursor,
            org_id=org_id,
        )
    ).parsed
