from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="UpdateOrg")


@_attrs_define
class UpdateOrg:
    """
    Attributes:
        max_key_lifetime (int | None | Unset): Seconds, 1 to 100 years; null removes the organization's maximum.
        require_expiry (bool | None | Unset):
    """

    max_key_lifetime: int | None | Unset = UNSET
    require_expiry: bool | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        max_key_lifetime: int | None | Unset
        if isinstance(self.max_key_lifetime, Unset):
            max_key_lifetime = UNSET
        else:
            max_key_lifetime = self.max_key_lifetime

        require_expiry: bool | None | Unset
        if isinstance(self.require_expiry, Unset):
            require_expiry = UNSET
        else:
            require_expiry = self.require_expiry

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if max_key_lifetime is not UNSET:
            field_dict["maxKeyLifetime"] = max_key_lifetime
        if require_expiry is not UNSET:
            field_dict["requireExpiry"] = require_expiry

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_max_key_lifetime(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_key_lifetime = _parse_max_key_lifetime(d.pop("maxKeyLifetime", UNSET))

        def _parse_require_expiry(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        require_expiry = _parse_require_expiry(d.pop("requireExpiry", UNSET))

        update_org = cls(
            max_key_lifetime=max_key_lifetime,
            require_expiry=require_expiry,
        )

        return update_org
