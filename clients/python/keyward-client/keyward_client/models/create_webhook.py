from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="CreateWebhook")


@_attrs_define
class CreateWebhook:
    """
    Attributes:
        url (None | str): http(s) URL of at most 2048 characters; it must not resolve to a
            loopback or private address unless the server runs with
            `--webhook-allow-private`. Example: https://hooks.example.com/keyward.
        events (list[str] | None): 1 to 50 event names (`key.created`) or families (`key.*`). Example: ['key.*',
            'account.deleted'].
    """

    url: None | str
    events: list[str] | None

    def to_dict(self) -> dict[str, Any]:
        url: None | str
        url = self.url

        events: list[str] | None
        if isinstance(self.events, list):
            events = self.events

        else:
            events = self.events

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "url": url,
                "events": events,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_url(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        url = _parse_url(d.pop("url"))

        def _parse_events(data: object) -> list[str] | None:
            if data is None:
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                events_type_0 = cast(list[str], data)

                return events_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None, data)

        events = _parse_events(d.pop("events"))

        create_webhook = cls(
            url=url,
            events=events,
        )

        return create_webhook
