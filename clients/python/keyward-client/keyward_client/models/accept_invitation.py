from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="AcceptInvitation")


@_attrs_define
class AcceptInvitation:
    """
    Attributes:
        token (None | str | Unset): The token of the invitation's link (`/accept-invitation?token=`),
            when accepting through it; it must be a live link of this very
            invitation, and is then used up. Without it, the invitation is
            accepted in the app.
    """

    token: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        token: None | str | Unset
        if isinstance(self.token, Unset):
            token = UNSET
        else:
            token = self.token

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if token is not UNSET:
            field_dict["token"] = token

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_token(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        token = _parse_token(d.pop("token", UNSET))

        accept_invitation = cls(
            token=token,
        )

        return accept_invitation
