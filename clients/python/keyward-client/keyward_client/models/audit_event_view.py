from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.audit_event_view_detail_type_0 import AuditEventViewDetailType0


T = TypeVar("T", bound="AuditEventView")


@_attrs_define
class AuditEventView:
    """One change: who did what, to what, when, from where, and how it ended.

    Attributes:
        id (str):
        time (int):
        actor_kind (str): `serviceAccount`, `user` or `operator`; `emailLink` for whoever opened
            an email confirmation link, `system` for keyward itself (`mail.failed`,
            `webhook.disabled`).
        action (str): For example `serviceAccount.create`, `key.delete`.
        outcome (str): `success`.
        actor_id (None | str | Unset):
        key_id (None | str | Unset): The key the actor used, when it was a service account.
        target_kind (None | str | Unset):
        target_id (None | str | Unset):
        client_ip (None | str | Unset):
        detail (AuditEventViewDetailType0 | None | Unset): What changed, without any secret.
    """

    id: str
    time: int
    actor_kind: str
    action: str
    outcome: str
    actor_id: None | str | Unset = UNSET
    key_id: None | str | Unset = UNSET
    target_kind: None | str | Unset = UNSET
    target_id: None | str | Unset = UNSET
    client_ip: None | str | Unset = UNSET
    detail: AuditEventViewDetailType0 | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.audit_event_view_detail_type_0 import AuditEventViewDetailType0  # noqa: PLC0415

        id = self.id

        time = self.time

        actor_kind = self.actor_kind

        action = self.action

        outcome = self.outcome

        actor_id: None | str | Unset
        if isinstance(self.actor_id, Unset):
            actor_id = UNSET
        else:
            actor_id = self.actor_id

        key_id: None | str | Unset
        if isinstance(self.key_id, Unset):
            key_id = UNSET
        else:
            key_id = self.key_id

        target_kind: None | str | Unset
        if isinstance(self.target_kind, Unset):
            target_kind = UNSET
        else:
            target_kind = self.target_kind

        target_id: None | str | Unset
        if isinstance(self.target_id, Unset):
            target_id = UNSET
        else:
            target_id = self.target_id

        client_ip: None | str | Unset
        if isinstance(self.client_ip, Unset):
            client_ip = UNSET
        else:
            client_ip = self.client_ip

        detail: dict[str, Any] | None | Unset
        if isinstance(self.detail, Unset):
            detail = UNSET
        elif isinstance(self.detail, AuditEventViewDetailType0):
            detail = self.detail.to_dict()
        else:
            detail = self.detail

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "time": time,
                "actorKind": actor_kind,
                "action": action,
                "outcome": outcome,
            }
        )
        if actor_id is not UNSET:
            field_dict["actorId"] = actor_id
        if key_id is not UNSET:
            field_dict["keyId"] = key_id
        if target_kind is not UNSET:
            field_dict["targetKind"] = target_kind
        if target_id is not UNSET:
            field_dict["targetId"] = target_id
        if client_ip is not UNSET:
            field_dict["clientIp"] = client_ip
        if detail is not UNSET:
            field_dict["detail"] = detail

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.audit_event_view_detail_type_0 import AuditEventViewDetailType0  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        time = d.pop("time")

        actor_kind = d.pop("actorKind")

        action = d.pop("action")

        outcome = d.pop("outcome")

        def _parse_actor_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        actor_id = _parse_actor_id(d.pop("actorId", UNSET))

        def _parse_key_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        key_id = _parse_key_id(d.pop("keyId", UNSET))

        def _parse_target_kind(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        target_kind = _parse_target_kind(d.pop("targetKind", UNSET))

        def _parse_target_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        target_id = _parse_target_id(d.pop("targetId", UNSET))

        def _parse_client_ip(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        client_ip = _parse_client_ip(d.pop("clientIp", UNSET))

        def _parse_detail(data: object) -> AuditEventViewDetailType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                detail_type_0 = AuditEventViewDetailType0.from_dict(data)

                return detail_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AuditEventViewDetailType0 | None | Unset, data)

        detail = _parse_detail(d.pop("detail", UNSET))

        audit_event_view = cls(
            id=id,
            time=time,
            actor_kind=actor_kind,
            action=action,
            outcome=outcome,
            actor_id=actor_id,
            key_id=key_id,
            target_kind=target_kind,
            target_id=target_id,
            client_ip=client_ip,
            detail=detail,
        )

        audit_event_view.additional_properties = d
        return audit_event_view

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
