from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.role import Role
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.create_service_account_meta_type_0 import CreateServiceAccountMetaType0


T = TypeVar("T", bound="CreateServiceAccount")


@_attrs_define
class CreateServiceAccount:
    """
    Attributes:
        name (None | str): Name of the serviceAccount, unique in its organization ignoring case. Example: John Doe.
        enable_basic_auth (bool | None | Unset): Whether Basic Auth can be used with this service account. Example:
            True.
        role (None | Role | Unset):
        email (None | str | Unset): Where to send the confirmation request.
        meta (CreateServiceAccountMetaType0 | None | Unset): A JSON object of at most 4096 bytes serialized, returned as
            given.
    """

    name: None | str
    enable_basic_auth: bool | None | Unset = UNSET
    role: None | Role | Unset = UNSET
    email: None | str | Unset = UNSET
    meta: CreateServiceAccountMetaType0 | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.create_service_account_meta_type_0 import CreateServiceAccountMetaType0  # noqa: PLC0415

        name: None | str
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

        email: None | str | Unset
        if isinstance(self.email, Unset):
            email = UNSET
        else:
            email = self.email

        meta: dict[str, Any] | None | Unset
        if isinstance(self.meta, Unset):
            meta = UNSET
        elif isinstance(self.meta, CreateServiceAccountMetaType0):
            meta = self.meta.to_dict()
        else:
            meta = self.meta

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
            }
        )
        if enable_basic_auth is not UNSET:
            field_dict["enableBasicAuth"] = enable_basic_auth
        if role is not UNSET:
            field_dict["role"] = role
        if email is not UNSET:
            field_dict["email"] = email
        if meta is not UNSET:
            field_dict["meta"] = meta

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.create_service_account_meta_type_0 import CreateServiceAccountMetaType0  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        name = _parse_name(d.pop("name"))

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

        def _parse_email(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        email = _parse_email(d.pop("email", UNSET))

        def _parse_meta(data: object) -> CreateServiceAccountMetaType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                meta_type_0 = CreateServiceAccountMetaType0.from_dict(data)

                return meta_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CreateServiceAccountMetaType0 | None | Unset, data)

        meta = _parse_meta(d.pop("meta", UNSET))

        create_service_account = cls(
            name=name,
            enable_basic_auth=enable_basic_auth,
            role=role,
            email=email,
            meta=meta,
        )

        return create_service_account
