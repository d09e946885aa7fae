from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.reported_token import ReportedToken
from ...models.token_feedback import TokenFeedback
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: list[ReportedToken] | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/leak/v1/github",
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = []
        for body_item_data in body:
            body_item = body_item_data.to_dict()
            _kwargs["json"].append(body_item)

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | list[TokenFeedback] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = TokenFeedback.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

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

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | list[TokenFeedback]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: list[ReportedToken] | Unset = UNSET,
) -> Response[Problem | list[TokenFeedback]]:
    """Report leaked keys (GitHub secret scanning).

     GitHub's secret-scanning partner endpoint: a JSON array of `{"token",
    "type", "url", "source"}` signed (ECDSA P-256, SHA-256, base64 DER in
    `Github-Public-Key-Signature`) by the key named in
    `Github-Public-Key-Identifier`, one of `--leak-report-keys`. A missing or
    bad signature is `401` and changes nothing; without `--leak-report-keys`
    the endpoint does not exist (`404`). Each live key is disabled (or, with
    `--leak-action notify`, only recorded) and audited as `key.leaked`.

    Args:
        body (list[ReportedToken] | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[TokenFeedback]]
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
    body: list[ReportedToken] | Unset = UNSET,
) -> Problem | list[TokenFeedback] | None:
    """Report leaked keys (GitHub secret scanning).

     GitHub's secret-scanning partner endpoint: a JSON array of `{"token",
    "type", "url", "source"}` signed (ECDSA P-256, SHA-256, base64 DER in
    `Github-Public-Key-Signature`) by the key named in
    `Github-Public-Key-Identifier`, one of `--leak-report-keys`. A missing or
    bad signature is `401` and changes nothing; without `--leak-report-keys`
    the endpoint does not exist (`404`). Each live key is disabled (or, with
    `--leak-action notify`, only recorded) and audited as `key.leaked`.

    Args:
        body (list[ReportedToken] | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[TokenFeedback]
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: list[ReportedToken] | Unset = UNSET,
) -> Response[Problem | list[TokenFeedback]]:
    """Report leaked keys (GitHub secret scanning).

     GitHub's secret-scanning partner endpoint: a JSON array of `{"token",
    "type", "url", "source"}` signed (ECDSA P-256, SHA-256, base64 DER in
    `Github-Public-Key-Signature`) by the key named in
    `Github-Public-Key-Identifier`, one of `--leak-report-keys`. A missing or
    bad signature is `401` and changes nothing; without `--leak-report-keys`
    the endpoint does not exist (`404`). Each live key is disabled (or, with
    `--leak-action notify`, only recorded) and audited as `key.leaked`.

    Args:
        body (list[ReportedToken] | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[TokenFeedback]]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: list[ReportedToken] | Unset = UNSET,
) -> Problem | list[TokenFeedback] | None:
    """Report leaked keys (GitHub secret scanning).

     GitHub's secret-scanning partner endpoint: a JSON array of `{"token",
    "type", "url", "source"}` signed (ECDSA P-256, SHA-256, base64 DER in
    `Github-Public-Key-Signature`) by the key named in
    `Github-Public-Key-Identifier`, one of `--leak-report-keys`. A missing or
    bad signature is `401` and changes nothing; without `--leak-report-keys`
    the endpoint does not exist (`404`). Each live key is disabled (or, with
    `--leak-action notify`, only recorded) and audited as `key.leaked`.

    Args:
        body (list[ReportedToken] | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[TokenFeedback]
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
