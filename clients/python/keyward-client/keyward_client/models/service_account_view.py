from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.role import Role
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.key_view import KeyView
    from ..models.service_account_view_meta_type_0 import ServiceAccountViewMetaType0


T = TypeVar("T", bound="ServiceAccountView")


@_attrs_define
class ServiceAccountView:
    """A service account, with its keys' metadata and never a secret.

    Attributes:
        id (str):
        org_id (str):
        name (str):
        enable_basic_auth (bool):
        role (Role): Weakest first, so that `Ord` is the order of power.
        email_confirmed (bool):
        disabled (bool):
        created (int):
        keys (list[KeyView]):
        email (None | str | Unset):
        last_used (int | None | Unset):
        deleted (int | None | Unset):
        meta (None | ServiceAccountViewMetaType0 | Unset): A JSON object, as it was set.
    """

    id: str
    org_id: str
    name: str
    enable_basic_auth: bool
    role: Role
    email_confirmed: bool
    disabled: bool
    created: int
    keys: list[KeyView]
    email: None | str | Unset = UNSET
    last_used: int | None | Unset = UNSET
    deleted: int | None | Unset = UNSET
    meta: None | ServiceAccountViewMetaType0 | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.service_account_view_meta_type_0 import ServiceAccountViewMetaType0  # noqa: PLC0415

        id = self.id

        org_id = self.org_id

        name = self.name

        enable_basic_auth = self.enable_basic_auth

        role = self.role.value

        email_confirmed = self.email_confirmed

        disabled = self.disabled

        created = self.created

        keys = []
        for keys_item_data in self.keys:
            keys_item = keys_item_data.to_dict()
            keys.append(keys_item)

        email: None | str | Unset
        if isinstance(self.email, Unset):
            email = UNSET
        else:
            email = self.email

        last_used: int | None | Unset
        if isinstance(self.last_used, Unset):
            last_used = UNSET
        else:
            last_used = self.last_used

        deleted: int | None | Unset
        if isinstance(self.deleted, Unset):
            deleted = UNSET
        else:
            deleted = self.deleted

        meta: dict[str, Any] | None | Unset
        if isinstance(self.meta, Unset):
            meta = UNSET
        elif isinstance(self.meta, ServiceAccountViewMetaType0):
            meta = self.meta.to_dict()
        else:
            meta = self.meta

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "orgId": org_id,
                "name": name,
                "enableBasicAuth": enable_basic_auth,
                "role": role,
                "emailConfirmed": email_confirmed,
                "disabled": disabled,
                "created": created,
                "keys": keys,
            }
        )
        if email is not UNSET:
            field_dict["email"] = email
        if last_used is not UNSET:
            field_dict["lastUsed"] = last_used
        if deleted is not UNSET:
            field_dict["deleted"] = deleted
        if meta is not UNSET:
            field_dict["meta"] = meta

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.key_view import KeyView  # noqa: PLC0415
        from ..models.service_account_view_meta_type_0 import ServiceAccountViewMetaType0  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        org_id = d.pop("orgId")

        name = d.pop("name")

        enable_basic_auth = d.pop("enableBasicAuth")

        role = Role(d.pop("role"))

        email_confirmed = d.pop("emailConfirmed")

        disabled = d.pop("disabled")

        created = d.pop("created")

        keys = []
        _keys = d.pop("keys")
        for keys_item_data in _keys:
            keys_item = KeyView.from_dict(keys_item_data)

            keys.append(keys_item)

        def _parse_email(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        email = _parse_email(d.pop("email", UNSET))

        def _parse_last_used(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        last_used = _parse_last_used(d.pop("lastUsed", UNSET))

        def _parse_deleted(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        deleted = _parse_deleted(d.pop("deleted", UNSET))

        def _parse_meta(data: object) -> None | ServiceAccountViewMetaType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                meta_type_0 = ServiceAccountViewMetaType0.from_dict(data)

                return meta_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ServiceAccountViewMetaType0 | Unset, data)

        meta = _parse_meta(d.pop("meta", UNSET))

        service_account_view = cls(
            id=id,
            org_id=org_id,
            name=name,
            enable_basic_auth=enable_basic_auth,
            role=role,
            email_confirmed=email_confirmed,
            disabled=disabled,
            created=created,
            keys=keys,
            email=email,
            last_used=last_used,
            deleted=deleted,
            meta=meta,
        )

        service_account_view.additional_properties = d
        return service_account_view

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
