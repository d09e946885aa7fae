from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.accept_invitation import AcceptInvitation
from ...models.org_view import OrgView
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: str,
    *,
    body: AcceptInvitation | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/user/v1/me/invitation/{id}/accept".format(
            id=quote(str(id), safe=""),
        ),
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> OrgView | Problem | None:
    if response.status_code == 200:
        response_200 = OrgView.from_dict(response.json())

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

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[OrgView | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    body: AcceptInvitation | Unset = UNSET,
) -> Response[OrgView | Problem]:
    """Accept an invitation.

     A person, of themselves: takes up their pending membership of the
    organization `id`, which from then on is among their organizations,
    with the role offered. With `token`, through the invitation's link: it
    must be a live link of this invitation (unused, under seven days old)
    and is used up; the link never lets anyone but the person logged in
    accept. `404` when the caller has no pending invitation there; `422`
    naming `token` for a link that is unknown, used, expired or not theirs;
    `403` for a key.

    Args:
        id (str):
        body (AcceptInvitation | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[OrgView | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient,
    body: AcceptInvitation | Unset = UNSET,
) -> OrgView | Problem | None:
    """Accept an invitation.

     A person, of themselves: takes up their pending membership of the
    organization `id`, which from then on is among their organizations,
    with the role offered. With `token`, through the invitation's link: it
    must be a live link of this invitation (unused, under seven days old)
    and is used up; the link never lets anyone but the person logged in
    accept. `404` when the caller has no pending invitation there; `422`
    naming `token` for a link that is unknown, used, expired or not theirs;
    `403` for a key.

    Args:
        id (str):
        body (AcceptInvitation | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        OrgView | Problem
    """

    return sync_detailed(
        id=id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    body: AcceptInvitation | Unset = UNSET,
) -> Response[OrgView | Problem]:
    """Accept an invitation.

     A person, of themselves: takes up their pending membership of the
    organization `id`, which from then on is among their organizations,
    with the role offered. With `token`, through the invitation's link: it
    must be a live link of this invitation (unused, under seven days old)
    and is used up; the link never lets anyone but the person logged in
    accept. `404` when the caller has no pending invitation there; `422`
    naming `token` for a link that is unknown, used, expired or not theirs;
    `403` for a key.

    Args:
        id (str):
        body (AcceptInvitation | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[OrgView | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
    body: AcceptInvitation | Unset = UNSET,
) -> OrgView | Problem | None:
    """Accept an invitation.

     A person, of themselves: takes up their pending membership of the
    organization `id`, which from then on is among their organizations,
    with the role offered. With `token`, through the invitation's link: it
    must be a live link of this invitation (unused, under seven days old)
    and is used up; the link never lets anyone but the person logged in
    accept. `404` when the caller has no pending invitation there; `422`
    naming `token` for a link that is unknown, used, expired or not theirs;
    `403` for a key.

    Args:
        id (str):
        body (AcceptInvitation | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        OrgView | Problem
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            body=body,
        )
    ).parsed
