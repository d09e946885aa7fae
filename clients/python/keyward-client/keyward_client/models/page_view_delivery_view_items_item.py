from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PageViewDeliveryViewItemsItem")


@_attrs_define
class PageViewDeliveryViewItemsItem:
    """One delivery and how it went.

    Attributes:
        id (str): Also the `webhook-id` header, the same on every attempt.
        event_type (str): For example `key.created`.
        status (str): `pending`, `delivered` or `failed` (given up on after 24 hours of
            failing, or cancelled because the endpoint was disabled).
        attempts (int):
        created (int):
        last_status_code (int | None | Unset): The HTTP status of the last answer, if one came.
        last_error (None | str | Unset):
        delivered_at (int | None | Unset):
        next_attempt_at (int | None | Unset):
    """

    id: str
    event_type: str
    status: str
    attempts: int
    created: int
    last_status_code: int | None | Unset = UNSET
    last_error: None | str | Unset = UNSET
    delivered_at: int | None | Unset = UNSET
    next_attempt_at: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        event_type = self.event_type

        status = self.status

        attempts = self.attempts

        created = self.created

        last_status_code: int | None | Unset
        if isinstance(self.last_status_code, Unset):
            last_status_code = UNSET
        else:
            last_status_code = self.last_status_code

        last_error: None | str | Unset
        if isinstance(self.last_error, Unset):
            last_error = UNSET
        else:
            last_error = self.last_error

        delivered_at: int | None | Unset
        if isinstance(self.delivered_at, Unset):
            delivered_at = UNSET
        else:
            delivered_at = self.delivered_at

        next_attempt_at: int | None | Unset
        if isinstance(self.next_attempt_at, Unset):
            next_attempt_at = UNSET
        else:
            next_attempt_at = self.next_attempt_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "eventType": event_type,
                "status": status,
                "attempts": attempts,
                "created": created,
            }
        )
        if last_status_code is not UNSET:
            field_dict["lastStatusCode"] = last_status_code
        if last_error is not UNSET:
            field_dict["lastError"] = last_error
        if delivered_at is not UNSET:
            field_dict["deliveredAt"] = delivered_at
        if next_attempt_at is not UNSET:
            field_dict["nextAttemptAt"] = next_attempt_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        event_type = d.pop("eventType")

        status = d.pop("status")

        attempts = d.pop("attempts")

        created = d.pop("created")

        def _parse_last_status_code(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        last_status_code = _parse_last_status_code(d.pop("lastStatusCode", UNSET))

        def _parse_last_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_error = _parse_last_error(d.pop("lastError", UNSET))

        def _parse_delivered_at(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        delivered_at = _parse_delivered_at(d.pop("deliveredAt", UNSET))

        def _parse_next_attempt_at(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("nextAttemptAt", UNSET))

        page_view_delivery_view_items_item = cls(
            id=id,
            event_type=event_type,
            status=status,
            attempts=attempts,
            created=created,
            last_status_code=last_status_code,
            last_error=last_error,
            delivered_at=delivered_at,
            next_attempt_at=next_attempt_at,
        )

        page_view_delivery_view_items_item.additional_properties = d
        return page_view_delivery_view_items_item

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
