from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PageViewWebhookViewItemsItem")


@_attrs_define
class PageViewWebhookViewItemsItem:
    """An endpoint, without its secret.

    Attributes:
        id (str):
        org_id (str):
        url (str):
        events (list[str]): Event names (`key.created`) and families (`key.*`) it receives.
        disabled (bool): A disabled endpoint is sent nothing.
        created (int):
        secret_created (int):
        disabled_reason (None | str | Unset): Why keyward disabled the endpoint itself, after every attempt to
            deliver to it failed for days; `null` when it is enabled, or an admin
            disabled it. Enabling it clears this.
    """

    id: str
    org_id: str
    url: str
    events: list[str]
    disabled: bool
    created: int
    secret_created: int
    disabled_reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        org_id = self.org_id

        url = self.url

        events = self.events

        disabled = self.disabled

        created = self.created

        secret_created = self.secret_created

        disabled_reason: None | str | Unset
        if isinstance(self.disabled_reason, Unset):
            disabled_reason = UNSET
        else:
            disabled_reason = self.disabled_reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "orgId": org_id,
                "url": url,
                "events": events,
                "disabled": disabled,
                "created": created,
                "secretCreated": secret_created,
            }
        )
        if disabled_reason is not UNSET:
            field_dict["disabledReason"] = disabled_reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        org_id = d.pop("orgId")

        url = d.pop("url")

        events = cast(list[str], d.pop("events"))

        disabled = d.pop("disabled")

        created = d.pop("created")

        secret_created = d.pop("secretCreated")

        def _parse_disabled_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        disabled_reason = _parse_disabled_reason(d.pop("disabledReason", UNSET))

        page_view_webhook_view_items_item = cls(
            id=id,
            org_id=org_id,
            url=url,
            events=events,
            disabled=disabled,
            created=created,
            secret_created=secret_created,
            disabled_reason=disabled_reason,
        )

        page_view_webhook_view_items_item.additional_properties = d
        return page_view_webhook_view_items_item

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
