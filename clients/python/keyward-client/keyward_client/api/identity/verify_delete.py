from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.verify_view import VerifyView
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    scope: list[str] | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_scope: list[str] | Unset = UNSET
    if not isinstance(scope, Unset):
        json_scope = scope

    params["scope"] = json_scope

    params["orgId"] = org_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/api/auth/v1/verify",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | VerifyView | None:
    if response.status_code == 200:
        response_200 = VerifyView.from_dict(response.json())

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
) -> Response[Problem | VerifyView]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    scope: list[str] | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> Response[Problem | VerifyView]:
    """Verify a request's credentials (for gateways).

     For nginx `auth_request`, Traefik `forwardAuth` and Envoy `ext_authz`:
    `200` with `X-Keyward-Service-Account-Id`, `X-Keyward-Org-Id`,
    `X-Keyward-Role`, `X-Keyward-Key-Id` and `X-Keyward-Scopes`, or a refusal.
    Any method is accepted, since some gateways forward the original one.
    API keys and access tokens only: the web app's session cookie is never a
    machine's credential. `?scope=a&scope=b` requires every scope named. A key
    limited to address ranges is judged by the client's address (the one a
    trusted proxy forwards). A rate-limited key's answers carry
    `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.

    Args:
        scope (list[str] | Unset):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | VerifyView]
    """

    kwargs = _get_kwargs(
        scope=scope,
        org_id=org_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    scope: list[str] | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> Problem | VerifyView | None:
    """Verify a request's credentials (for gateways).

     For nginx `auth_request`, Traefik `forwardAuth` and Envoy `ext_authz`:
    `200` with `X-Keyward-Service-Account-Id`, `X-Keyward-Org-Id`,
    `X-Keyward-Role`, `X-Keyward-Key-Id` and `X-Keyward-Scopes`, or a refusal.
    Any method is accepted, since some gateways forward the original one.
    API keys and access tokens only: the web app's session cookie is never a
    machine's credential. `?scope=a&scope=b` requires every scope named. A key
    limited to address ranges is judged by the client's address (the one a
    trusted proxy forwards). A rate-limited key's answers carry
    `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.

    Args:
        scope (list[str] | Unset):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | VerifyView
    """

    return sync_detailed(
        client=client,
        scope=scope,
        org_id=org_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    scope: list[str] | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> Response[Problem | VerifyView]:
    """Verify a request's credentials (for gateways).

     For nginx `auth_request`, Traefik `forwardAuth` and Envoy `ext_authz`:
    `200` with `X-Keyward-Service-Account-Id`, `X-Keyward-Org-Id`,
    `X-Keyward-Role`, `X-Keyward-Key-Id` and `X-Keyward-Scopes`, or a refusal.
    Any method is accepted, since some gateways forward the original one.
    API keys and access tokens only: the web app's session cookie is never a
    machine's credential. `?scope=a&scope=b` requires every scope named. A key
    limited to address ranges is judged by the client's address (the one a
    trusted proxy forwards). A rate-limited key's answers carry
    `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.

    Args:
        scope (list[str] | Unset):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | VerifyView]
    """

    kwargs = _get_kwargs(
        scope=scope,
        org_id=org_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    scope: list[str] | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> Problem | VerifyView | None:
    """Verify a request's credentials (for gateways).

     For nginx `auth_request`, Traefik `forwardAuth` and Envoy `ext_authz`:
    `200` with `X-Keyward-Service-Account-Id`, `X-Keyward-Org-Id`,
    `X-Keyward-Role`, `X-Keyward-Key-Id` and `X-Keyward-Scopes`, or a refusal.
    Any method is accepted, since some gateways forward the original one.
    API keys and access tokens only: the web app's session cookie is never a
    machine's credential. `?scope=a&scope=b` requires every scope named. A key
    limited to address ranges is judged by the client's address (the one a
    trusted proxy forwards). A rate-limited key's answers carry
    `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.

    Args:
        scope (list[str] | Unset):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | VerifyView
    """

    return (
        await asyncio_detailed(
            client=client,
            scope=scope,
            org_id=org_id,
        )
    ).parsed
