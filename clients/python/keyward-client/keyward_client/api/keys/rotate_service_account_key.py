from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.created_key_view import CreatedKeyView
from ...models.problem import Problem
from ...models.rotate_key import RotateKey
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: str,
    key_id: str,
    *,
    body: RotateKey | Unset = UNSET,
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
        "url": "/api/service-account/v1/service-account/{id}/key/{key_id}/rotate".format(
            id=quote(str(id), safe=""),
            key_id=quote(str(key_id), safe=""),
        ),
        "params": params,
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CreatedKeyView | Problem | None:
    if response.status_code == 201:
        response_201 = CreatedKeyView.from_dict(response.json())

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

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

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
) -> Response[CreatedKeyView | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    key_id: str,
    *,
    client: AuthenticatedClient,
    body: RotateKey | Unset = UNSET,
    org_id: str | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[CreatedKeyView | Problem]:
    """Rotate a serviceAccount key.

     Editors, for accounts whose role does not exceed their own. Returns a
    new key with its secret, narrowed as the old one and ending when it
    would have; the old one expires after `gracePeriod` seconds (default 0:
    at once).

    Args:
        id (str):
        key_id (str):
        org_id (str | Unset):
        idempotency_key (None | str | Unset):
        body (RotateKey | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreatedKeyView | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
        key_id=key_id,
        body=body,
        org_id=org_id,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    key_id: str,
    *,
    client: AuthenticatedClient,
    body: RotateKey | Unset = UNSET,
    org_id: str | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> CreatedKeyView | Problem | None:
    """Rotate a serviceAccount key.

     Editors, for accounts whose role does not exceed their own. Returns a
    new key with its secret, narrowed as the old one and ending when it
    would have; the old one expires after `gracePeriod` seconds (default 0:
    at once).

    Args:
        id (str):
        key_id (str):
        org_id (str | Unset):
        idempotency_key (None | str | Unset):
        body (RotateKey | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreatedKeyView | Problem
    """

    return sync_detailed(
        id=id,
        key_id=key_id,
        client=client,
        body=body,
        org_id=org_id,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    id: str,
    key_id: str,
    *,
    client: AuthenticatedClient,
    body: RotateKey | Unset = UNSET,
    org_id: str | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[CreatedKeyView | Problem]:
    """Rotate a serviceAccount key.

     Editors, for accounts whose role does not exceed their own. Returns a
    new key with its secret, narrowed as the old one and ending when it
    would have; the old one expires after `gracePeriod` seconds (default 0:
    at once).

    Args:
        id (str):
        key_id (str):
        org_id (str | Unset):
        idempotency_key (None | str | Unset):
        body (RotateKey | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreatedKeyView | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
        key_id=key_id,
        body=body,
        org_id=org_id,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    key_id: str,
    *,
    client: AuthenticatedClient,
    body: RotateKey | Unset = UNSET,
    org_id: str | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> CreatedKeyView | Problem | None:
    """Rotate a serviceAccount key.

     Editors, for accounts whose role does not exceed their own. Returns a
    new key with its secret, narrowed as the old one and ending when it
    would have; the old one expires after `gracePeriod` seconds (default 0:
    at once).

    Args:
        id (str):
        key_id (str):
        org_id (str | Unset):
        idempotency_key (None | str | Unset):
        body (RotateKey | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreatedKeyView | Problem
    """

    return (
        await asyncio_detailed(
            id=id,
            key_id=key_id,
            client=client,
            body=body,
            org_id=org_id,
            idempotency_key=idempotency_key,
        )
    ).parsed
