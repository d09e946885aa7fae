from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="CreatedWebhookView")


@_attrs_define
class CreatedWebhookView:
    """A new endpoint with its signing secret, shown only this once.

    Attributes:
        id (str):
        org_id (str):
        url (str):
        events (list[str]): Event names (`key.created`) and families (`key.*`) it receives.
        disabled (bool): A disabled endpoint is sent nothing.
        created (int):
        secret_created (int):
        secret (str): `whsec_` and base64: the Standard Webhooks signing secret. Never
            shown again.
    """

    id: str
    org_id: str
    url: str
    events: list[str]
    disabled: bool
    created: int
    secret_created: int
    secret: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        org_id = self.org_id

        url = self.url

        events = self.events

        disabled = self.disabled

        created = self.created

        secret_created = self.secret_created

        secret = self.secret

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
                "secret": secret,
            }
        )

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

        secret = d.pop("secret")

        created_webhook_view = cls(
            id=id,
            org_id=org_id,
            url=url,
            events=events,
            disabled=disabled,
            created=created,
            secret_created=secret_created,
            secret=secret,
        )

        created_webhook_view.additional_properties = d
        return created_webhook_view

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
