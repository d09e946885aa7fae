from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_webhook import CreateWebhook
from ...models.created_webhook_view import CreatedWebhookView
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CreateWebhook | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    params["orgId"] = org_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/webhook/v1/webhook",
        "params": params,
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CreatedWebhookView | Problem | None:
    if response.status_code == 201:
        response_201 = CreatedWebhookView.from_dict(response.json())

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CreatedWebhookView | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateWebhook | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> Response[CreatedWebhookView | Problem]:
    """Create a webhook endpoint.

     Admins. Answers the endpoint with its signing secret, which is never
    shown again. `422` names the field at fault (`url`, `events`,
    `events[2]`), also for a URL whose host is a loopback or private address
    or `localhost`. A name is resolved where deliveries are made: one that
    leads to a private address is refused there, each attempt recording why.

    Args:
        org_id (str | Unset):
        body (CreateWebhook | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreatedWebhookView | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        org_id=org_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: CreateWebhook | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> CreatedWebhookView | Problem | None:
    """Create a webhook endpoint.

     Admins. Answers the endpoint with its signing secret, which is never
    shown again. `422` names the field at fault (`url`, `events`,
    `events[2]`), also for a URL whose host is a loopback or private address
    or `localhost`. A name is resolved where deliveries are made: one that
    leads to a private address is refused there, each attempt recording why.

    Args:
        org_id (str | Unset):
        body (CreateWebhook | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreatedWebhookView | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        org_id=org_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateWebhook | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> Response[CreatedWebhookView | Problem]:
    """Create a webhook endpoint.

     Admins. Answers the endpoint with its signing secret, which is never
    shown again. `422` names the field at fault (`url`, `events`,
    `events[2]`), also for a URL whose host is a loopback or private address
    or `localhost`. A name is resolved where deliveries are made: one that
    leads to a private address is refused there, each attempt recording why.

    Args:
        org_id (str | Unset):
        body (CreateWebhook | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreatedWebhookView | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        org_id=org_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: CreateWebhook | Unset = UNSET,
    org_id: str | Unset = UNSET,
) -> CreatedWebhookView | Problem | None:
    """Create a webhook endpoint.

     Admins. Answers the endpoint with its signing secret, which is never
    shown again. `422` names the field at fault (`url`, `events`,
    `events[2]`), also for a URL whose host is a loopback or private address
    or `localhost`. A name is resolved where deliveries are made: one that
    leads to a private address is refused there, each attempt recording why.

    Args:
        org_id (str | Unset):
        body (CreateWebhook | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreatedWebhookView | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            org_id=org_id,
        )
    ).parsed
