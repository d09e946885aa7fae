from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.revoke_secrets import RevokeSecrets
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: RevokeSecrets | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/leak/v1/revoke",
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | Problem | None:
    if response.status_code == 202:
        response_202 = cast(Any, None)
        return response_202

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
    body: RevokeSecrets | Unset = UNSET,
) -> Response[Any | Problem]:
    """Revoke leaked keys.

     No credentials. Disables every live key whose secret is given, and
    answers `202` whatever the secrets are (junk, unknown or already revoked
    alike), so that the answer tells nothing. Each secret counts against the
    client's address like a failed credential: past the limit, `429` for the
    calls after. Lookups are also bounded node-wide: past that, `503` with
    `Retry-After`.

    Args:
        body (RevokeSecrets | Unset):

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
    body: RevokeSecrets | Unset = UNSET,
) -> Any | Problem | None:
    """Revoke leaked keys.

     No credentials. Disables every live key whose secret is given, and
    answers `202` whatever the secrets are (junk, unknown or already revoked
    alike), so that the answer tells nothing. Each secret counts against the
    client's address like a failed credential: past the limit, `429` for the
    calls after. Lookups are also bounded node-wide: past that, `503` with
    `Retry-After`.

    Args:
        body (RevokeSecrets | Unset):

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
    body: RevokeSecrets | Unset = UNSET,
) -> Response[Any | Problem]:
    """Revoke leaked keys.

     No credentials. Disables every live key whose secret is given, and
    answers `202` whatever the secrets are (junk, unknown or already revoked
    alike), so that the answer tells nothing. Each secret counts against the
    client's address like a failed credential: past the limit, `429` for the
    calls after. Lookups are also bounded node-wide: past that, `503` with
    `Retry-After`.

    Args:
        body (RevokeSecrets | Unset):

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
    body: RevokeSecrets | Unset = UNSET,
) -> Any | Problem | None:
    """Revoke leaked keys.

     No credentials. Disables every live key whose secret is given, and
    answers `202` whatever the secrets are (junk, unknown or already revoked
    alike), so that the answer tells nothing. Each secret counts against the
    client's address like a failed credential: past the limit, `429` for the
    calls after. Lookups are also bounded node-wide: past that, `503` with
    `Retry-After`.

    Args:
        body (RevokeSecrets | Unset):

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
