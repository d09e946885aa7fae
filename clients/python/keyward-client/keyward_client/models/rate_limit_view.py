from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="RateLimitView")


@_attrs_define
class RateLimitView:
    """A rate limit: at most `limit` successful uses in any sliding window of `period` seconds.

    Attributes:
        limit (int | None):
        period (int | None): Seconds.
    """

    limit: int | None
    period: int | None

    def to_dict(self) -> dict[str, Any]:
        limit: int | None
        limit = self.limit

        period: int | None
        period = self.period

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "limit": limit,
                "period": period,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_limit(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        limit = _parse_limit(d.pop("limit"))

        def _parse_period(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        period = _parse_period(d.pop("period"))

        rate_limit_view = cls(
            limit=limit,
            period=period,
        )

        return rate_limit_view
