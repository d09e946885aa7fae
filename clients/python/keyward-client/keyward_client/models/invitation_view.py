from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.role import Role

T = TypeVar("T", bound="InvitationView")


@_attrs_define
class InvitationView:
    """An invitation the caller has not answered: an organization, and the role
    it offers them.

        Attributes:
            org_id (str): The organization that invited the caller; the `{id}` of the answer's
                path.
            org_name (str):
            role (Role): Weakest first, so that `Ord` is the order of power.
            invited (int):
    """

    org_id: str
    org_name: str
    role: Role
    invited: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        org_id = self.org_id

        org_name = self.org_name

        role = self.role.value

        invited = self.invited

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "orgId": org_id,
                "orgName": org_name,
                "role": role,
                "invited": invited,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        org_id = d.pop("orgId")

        org_name = d.pop("orgName")

        role = Role(d.pop("role"))

        invited = d.pop("invited")

        invitation_view = cls(
            org_id=org_id,
            org_name=org_name,
            role=role,
            invited=invited,
        )

        invitation_view.additional_properties = d
        return invitation_view

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
