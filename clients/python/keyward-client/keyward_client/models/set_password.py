from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="SetPassword")


@_attrs_define
class SetPassword:
    """
    Attributes:
        token (None | str): The token from the invitation's link (`/set-password?token=`).
        password (None | str): At least 12 characters.
    """

    token: None | str
    password: None | str

    def to_dict(self) -> dict[str, Any]:
        token: None | str
        token = self.token

        password: None | str
        password = self.password

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "token": token,
                "password": password,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_token(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        token = _parse_token(d.pop("token"))

        def _parse_password(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        password = _parse_password(d.pop("password"))

        set_password = cls(
            token=token,
            password=password,
        )

        return set_password
