from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.role import Role
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.rate_limit_count import RateLimitCount
    from ..models.verify_view_meta_type_0 import VerifyViewMetaType0


T = TypeVar("T", bound="VerifyView")


@_attrs_define
class VerifyView:
    """A gateway's answer: who is calling, and what the key allows. Borrowed
    from the key check's result: it is built on every gateway request.

        Attributes:
            valid (bool): Always true: a refused key gets a problem instead.
            service_account_id (str):
            org_id (str):
            role (Role): Weakest first, so that `Ord` is the order of power.
            key_id (str):
            scopes (list[str]): The key's scopes; empty when it has none.
            meta (None | Unset | VerifyViewMetaType0): The key's `meta`, as it was set.
            rate_limit (None | RateLimitCount | Unset):
    """

    valid: bool
    service_account_id: str
    org_id: str
    role: Role
    key_id: str
    scopes: list[str]
    meta: None | Unset | VerifyViewMetaType0 = UNSET
    rate_limit: None | RateLimitCount | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.rate_limit_count import RateLimitCount  # noqa: PLC0415
        from ..models.verify_view_meta_type_0 import VerifyViewMetaType0  # noqa: PLC0415

        valid = self.valid

        service_account_id = self.service_account_id

        org_id = self.org_id

        role = self.role.value

        key_id = self.key_id

        scopes = self.scopes

        meta: dict[str, Any] | None | Unset
        if isinstance(self.meta, Unset):
            meta = UNSET
        elif isinstance(self.meta, VerifyViewMetaType0):
            meta = self.meta.to_dict()
        else:
            meta = self.meta

        rate_limit: dict[str, Any] | None | Unset
        if isinstance(self.rate_limit, Unset):
            rate_limit = UNSET
        elif isinstance(self.rate_limit, RateLimitCount):
            rate_limit = self.rate_limit.to_dict()
        else:
            rate_limit = self.rate_limit

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "valid": valid,
                "serviceAccountId": service_account_id,
                "orgId": org_id,
                "role": role,
                "keyId": key_id,
                "scopes": scopes,
            }
        )
        if meta is not UNSET:
            field_dict["meta"] = meta
        if rate_limit is not UNSET:
            field_dict["rateLimit"] = rate_limit

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.rate_limit_count import RateLimitCount  # noqa: PLC0415
        from ..models.verify_view_meta_type_0 import VerifyViewMetaType0  # noqa: PLC0415

        d = dict(src_dict)
        valid = d.pop("valid")

        service_account_id = d.pop("serviceAccountId")

        org_id = d.pop("orgId")

        role = Role(d.pop("role"))

        key_id = d.pop("keyId")

        scopes = cast(list[str], d.pop("scopes"))

        def _parse_meta(data: object) -> None | Unset | VerifyViewMetaType0:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                meta_type_0 = VerifyViewMetaType0.from_dict(data)

                return meta_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | VerifyViewMetaType0, data)

        meta = _parse_meta(d.pop("meta", UNSET))

        def _parse_rate_limit(data: object) -> None | RateLimitCount | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                rate_limit_type_1 = RateLimitCount.from_dict(data)

                return rate_limit_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RateLimitCount | Unset, data)

        rate_limit = _parse_rate_limit(d.pop("rateLimit", UNSET))

        verify_view = cls(
            valid=valid,
            service_account_id=service_account_id,
            org_id=org_id,
            role=role,
            key_id=key_id,
            scopes=scopes,
            meta=meta,
            rate_limit=rate_limit,
        )

        verify_view.additional_properties = d
        return verify_view

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
