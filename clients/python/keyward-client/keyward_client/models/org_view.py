from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.role import Role
from ..types import UNSET, Unset

T = TypeVar("T", bound="OrgView")


@_attrs_define
class OrgView:
    """
    Attributes:
        id (str):
        name (str):
        role (Role): Weakest first, so that `Ord` is the order of power.
        require_expiry (bool): Every new key must expire: without a maximum or a server default, a
            key asked for without `expiresIn` or `expires` is refused (`422`).
        max_key_lifetime (int | None | Unset): The longest lifetime a new key may be given here, in seconds; null:
            only the server's limit. A key asked for without a lifetime gets the
            server's default lifetime, else this (or the server's limit).
    """

    id: str
    name: str
    role: Role
    require_expiry: bool
    max_key_lifetime: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        role = self.role.value

        require_expiry = self.require_expiry

        max_key_lifetime: int | None | Unset
        if isinstance(self.max_key_lifetime, Unset):
            max_key_lifetime = UNSET
        else:
            max_key_lifetime = self.max_key_lifetime

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "role": role,
                "requireExpiry": require_expiry,
            }
        )
        if max_key_lifetime is not UNSET:
            field_dict["maxKeyLifetime"] = max_key_lifetime

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        role = Role(d.pop("role"))

        require_expiry = d.pop("requireExpiry")

        def _parse_max_key_lifetime(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_key_lifetime = _parse_max_key_lifetime(d.pop("maxKeyLifetime", UNSET))

        org_view = cls(
            id=id,
            name=name,
            role=role,
            require_expiry=require_expiry,
            max_key_lifetime=max_key_lifetime,
        )

        org_view.additional_properties = d
        return org_view

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
