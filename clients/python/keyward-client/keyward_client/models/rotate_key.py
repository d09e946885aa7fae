from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="RotateKey")


@_attrs_define
class RotateKey:
    """
    Attributes:
        grace_period (int | None | Unset): Seconds the old key keeps working (default 0: it stops at once).
    """

    grace_period: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        grace_period: int | None | Unset
        if isinstance(self.grace_period, Unset):
            grace_period = UNSET
        else:
            grace_period = self.grace_period

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if grace_period is not UNSET:
            field_dict["gracePeriod"] = grace_period

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_grace_period(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        grace_period = _parse_grace_period(d.pop("gracePeriod", UNSET))

        rotate_key = cls(
            grace_period=grace_period,
        )

        return rotate_key
