from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.role import Role

T = TypeVar("T", bound="PageViewUserViewItemsItem")


@_attrs_define
class PageViewUserViewItemsItem:
    """A person as this organization sees them: their membership here, and
    nothing about their account or their standing in other organizations.

        Attributes:
            id (str): The person's id in this organization (their membership's); another
                organization knows the same person by another id.
            email (str): As this organization typed it.
            org_id (str):
            role (Role): Weakest first, so that `Ord` is the order of power.
            created (int):
            active (bool): False while the membership is pending: until the person accepts it,
                by choosing a password through the invitation this organization sent
                or, when they had an account, by accepting the invitation. A new
                address and one that has an account elsewhere both start pending, and
                a pending member can do nothing here.
    """

    id: str
    email: str
    org_id: str
    role: Role
    created: int
    active: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        email = self.email

        org_id = self.org_id

        role = self.role.value

        created = self.created

        active = self.active

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "email": email,
                "orgId": org_id,
                "role": role,
                "created": created,
                "active": active,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        email = d.pop("email")

        org_id = d.pop("orgId")

        role = Role(d.pop("role"))

        created = d.pop("created")

        active = d.pop("active")

        page_view_user_view_items_item = cls(
            id=id,
            email=email,
            org_id=org_id,
            role=role,
            created=created,
            active=active,
        )

        page_view_user_view_items_item.additional_properties = d
        return page_view_user_view_items_item

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
