from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.role import Role
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.created_key_view_meta_type_0 import CreatedKeyViewMetaType0
    from ..models.rate_limit_view import RateLimitView


T = TypeVar("T", bound="CreatedKeyView")


@_attrs_define
class CreatedKeyView:
    """A key as just created: the one answer that carries its secret.

    Attributes:
        created (int):
        key_id (str):
        secret (str): The secret. Shown only here, never again. Example: kw_….
        scopes (list[str]): Free-form permissions for the services behind a gateway.
        allowed_cidrs (list[str]): The address ranges the key may be used from; empty: anywhere.
        name (None | str | Unset):
        expires (int | None | Unset):
        role (None | Role | Unset):
        rate_limit (None | RateLimitView | Unset):
        meta (CreatedKeyViewMetaType0 | None | Unset): A JSON object, as it was set.
    """

    created: int
    key_id: str
    secret: str
    scopes: list[str]
    allowed_cidrs: list[str]
    name: None | str | Unset = UNSET
    expires: int | None | Unset = UNSET
    role: None | Role | Unset = UNSET
    rate_limit: None | RateLimitView | Unset = UNSET
    meta: CreatedKeyViewMetaType0 | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.created_key_view_meta_type_0 import CreatedKeyViewMetaType0  # noqa: PLC0415
        from ..models.rate_limit_view import RateLimitView  # noqa: PLC0415

        created = self.created

        key_id = self.key_id

        secret = self.secret

        scopes = self.scopes

        allowed_cidrs = self.allowed_cidrs

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        expires: int | None | Unset
        if isinstance(self.expires, Unset):
            expires = UNSET
        else:
            expires = self.expires

        role: None | str | Unset
        if isinstance(self.role, Unset):
            role = UNSET
        elif isinstance(self.role, Role):
            role = self.role.value
        else:
            role = self.role

        rate_limit: dict[str, Any] | None | Unset
        if isinstance(self.rate_limit, Unset):
            rate_limit = UNSET
        elif isinstance(self.rate_limit, RateLimitView):
            rate_limit = self.rate_limit.to_dict()
        else:
            rate_limit = self.rate_limit

        meta: dict[str, Any] | None | Unset
        if isinstance(self.meta, Unset):
            meta = UNSET
        elif isinstance(self.meta, CreatedKeyViewMetaType0):
            meta = self.meta.to_dict()
        else:
            meta = self.meta

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created": created,
                "keyId": key_id,
                "secret": secret,
                "scopes": scopes,
                "allowedCidrs": allowed_cidrs,
            }
        )
        if name is not UNSET:
            field_dict["name"] = name
        if expires is not UNSET:
            field_dict["expires"] = expires
        if role is not UNSET:
            field_dict["role"] = role
        if rate_limit is not UNSET:
            field_dict["rateLimit"] = rate_limit
        if meta is not UNSET:
            field_dict["meta"] = meta

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.created_key_view_meta_type_0 import CreatedKeyViewMetaType0  # noqa: PLC0415
        from ..models.rate_limit_view import RateLimitView  # noqa: PLC0415

        d = dict(src_dict)
        created = d.pop("created")

        key_id = d.pop("keyId")

        secret = d.pop("secret")

        scopes = cast(list[str], d.pop("scopes"))

        allowed_cidrs = cast(list[str], d.pop("allowedCidrs"))

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_expires(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        expires = _parse_expires(d.pop("expires", UNSET))

        def _parse_role(data: object) -> None | Role | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                role_type_1 = Role(data)

                return role_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Role | Unset, data)

        role = _parse_role(d.pop("role", UNSET))

        def _parse_rate_limit(data: object) -> None | RateLimitView | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                rate_limit_type_1 = RateLimitView.from_dict(data)

                return rate_limit_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RateLimitView | Unset, data)

        rate_limit = _parse_rate_limit(d.pop("rateLimit", UNSET))

        def _parse_meta(data: object) -> CreatedKeyViewMetaType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                meta_type_0 = CreatedKeyViewMetaType0.from_dict(data)

                return meta_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CreatedKeyViewMetaType0 | None | Unset, data)

        meta = _parse_meta(d.pop("meta", UNSET))

        created_key_view = cls(
            created=created,
            key_id=key_id,
            secret=secret,
            scopes=scopes,
            allowed_cidrs=allowed_cidrs,
            name=name,
            expires=expires,
            role=role,
            rate_limit=rate_limit,
            meta=meta,
        )

        created_key_view.additional_properties = d
        return created_key_view

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
