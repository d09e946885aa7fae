from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="Setup")


@_attrs_define
class Setup:
    """
    Attributes:
        token (None | str): The token from the setup link the server logged on its first start.
        org_name (None | str): The first organization's name. Example: Acme.
        email (None | str): The first admin's email, used to log in. Example: admin@acme.example.
        password (None | str): At least 12 characters.
    """

    token: None | str
    org_name: None | str
    email: None | str
    password: None | str

    def to_dict(self) -> dict[str, Any]:
        token: None | str
        token = self.token

        org_name: None | str
        org_name = self.org_name

        email: None | str
        email = self.email

        password: None | str
        password = self.password

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "token": token,
                "orgName": org_name,
                "email": email,
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

        def _parse_org_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        org_name = _parse_org_name(d.pop("orgName"))

        def _parse_email(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        email = _parse_email(d.pop("email"))

        def _parse_password(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        password = _parse_password(d.pop("password"))

        setup = cls(
            token=token,
            org_name=org_name,
            email=email,
            password=password,
        )

        return setup
