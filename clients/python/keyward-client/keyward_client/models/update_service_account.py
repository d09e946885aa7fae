from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.role import Role
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.update_service_account_meta_type_0 import UpdateServiceAccountMetaType0


T = TypeVar("T", bound="UpdateServiceAccount")


@_attrs_define
class UpdateServiceAccount:
    """
    Attributes:
        name (None | str | Unset):
        enable_basic_auth (bool | None | Unset):
        role (None | Role | Unset):
        disabled (bool | None | Unset): A disabled account's keys are refused until it is enabled again.
        email (None | str | Unset): A new address, to which a confirmation request is sent (and
            `emailConfirmed` becomes false until it is confirmed); null removes it.
        meta (None | Unset | UpdateServiceAccountMetaType0): A JSON object of at most 4096 bytes serialized; null
            removes it.
    """

    name: None | str | Unset = UNSET
    enable_basic_auth: bool | None | Unset = UNSET
    role: None | Role | Unset = UNSET
    disabled: bool | None | Unset = UNSET
    email: None | str | Unset = UNSET
    meta: None | Unset | UpdateServiceAccountMetaType0 = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.update_service_account_meta_type_0 import UpdateServiceAccountMetaType0  # noqa: PLC0415

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        enable_basic_auth: bool | None | Unset
        if isinstance(self.enable_basic_auth, Unset):
            enable_basic_auth = UNSET
        else:
            enable_basic_auth = self.enable_basic_auth

        role: None | str | Unset
        if isinstance(self.role, Unset):
            role = UNSET
        elif isinstance(self.role, Role):
            role = self.role.value
        else:
            role = self.role

        disabled: bool | None | Unset
        if isinstance(self.disabled, Unset):
            disabled = UNSET
        else:
            disabled = self.disabled

        email: None | str | Unset
        if isinstance(self.email, Unset):
            email = UNSET
        else:
            email = self.email

        meta: dict[str, Any] | None | Unset
        if isinstance(self.meta, Unset):
            meta = UNSET
        elif isinstance(self.meta, UpdateServiceAccountMetaType0):
            meta = self.meta.to_dict()
        else:
            meta = self.meta

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if enable_basic_auth is not UNSET:
            field_dict["enableBasicAuth"] = enable_basic_auth
        if role is not UNSET:
            field_dict["role"] = role
        if disabled is not UNSET:
            field_dict["disabled"] = disabled
        if email is not UNSET:
            field_dict["email"] = email
        if meta is not UNSET:
            field_dict["meta"] = meta

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.update_service_account_meta_type_0 import UpdateServiceAccountMetaType0  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_enable_basic_auth(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        enable_basic_auth = _parse_enable_basic_auth(d.pop("enableBasicAuth", UNSET))

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

        def _parse_disabled(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        disabled = _parse_disabled(d.pop("disabled", UNSET))

        def _parse_email(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        email = _parse_email(d.pop("email", UNSET))

        def _parse_meta(data: object) -> None | Unset | UpdateServiceAccountMetaType0:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                meta_type_0 = UpdateServiceAccountMetaType0.from_dict(data)

                return meta_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UpdateServiceAccountMetaType0, data)

        meta = _parse_meta(d.pop("meta", UNSET))

        update_service_account = cls(
            name=name,
            enable_basic_auth=enable_basic_auth,
            role=role,
            disabled=disabled,
            email=email,
            meta=meta,
        )

        return update_service_account
