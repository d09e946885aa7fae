from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="RevokeSecrets")


@_attrs_define
class RevokeSecrets:
    """
    Attributes:
        secrets (list[str] | None): Up to 1,000 secrets (`kw_…`) to revoke.
    """

    secrets: list[str] | None

    def to_dict(self) -> dict[str, Any]:
        secrets: list[str] | None
        if isinstance(self.secrets, list):
            secrets = self.secrets

        else:
            secrets = self.secrets

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "secrets": secrets,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_secrets(data: object) -> list[str] | None:
            if data is None:
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                secrets_type_0 = cast(list[str], data)

                return secrets_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None, data)

        secrets = _parse_secrets(d.pop("secrets"))

        revoke_secrets = cls(
            secrets=secrets,
        )

        return revoke_secrets
