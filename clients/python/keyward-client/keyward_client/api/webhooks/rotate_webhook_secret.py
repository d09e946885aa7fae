from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.webhook_secret_view import WebhookSecretView
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: str,
    *,
    org_id: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["orgId"] = org_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/webhook/v1/webhook/{id}/rotate-secret".format(
            id=quote(str(id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | WebhookSecretView | None:
    if response.status_code == 200:
        response_200 = WebhookSecretView.from_dict(response.json())

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
) -> Response[Problem | WebhookSecretView]:
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
    org_id: str | Unset = UNSET,
) -> Response[Problem | WebhookSecretView]:
    """Replace a webhook endpoint's signing secret.

     Admins. Answers the new secret, shown only this once; every attempt from
    now on, retries included, is signed with it.

    Args:
        id (str):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WebhookSecretView]
    """

    kwargs = _get_kwargs(
        id=id,
        org_id=org_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient,
    org_id: str | Unset = UNSET,
) -> Problem | WebhookSecretView | None:
    """Replace a webhook endpoint's signing secret.

     Admins. Answers the new secret, shown only this once; every attempt from
    now on, retries included, is signed with it.

    Args:
        id (str):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WebhookSecretView
    """

    return sync_detailed(
        id=id,
        client=client,
        org_id=org_id,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    org_id: str | Unset = UNSET,
) -> Response[Problem | WebhookSecretView]:
    """Replace a webhook endpoint's signing secret.

     Admins. Answers the new secret, shown only this once; every attempt from
    now on, retries included, is signed with it.

    Args:
        id (str):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WebhookSecretView]
    """

    kwargs = _get_kwargs(
        id=id,
        org_id=org_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
    org_id: str | Unset = UNSET,
) -> Problem | WebhookSecretView | None:
    """Replace a webhook endpoint's signing secret.

     Admins. Answers the new secret, shown only this once; every attempt from
    now on, retries included, is signed with it.

    Args:
        id (str):
        org_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WebhookSecretView
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            org_id=org_id,
        )
    ).parsed
