"""Views of a number row: its ChannelsSnapshot and its inventory item (response models built
from the row, its holdings and its trunk rows)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from trunkline.binding.rules import Channel, Holding, NumberStatus, Source, current_holder
from trunkline.kit.clock import iso_z
from trunkline.kit.pagination import by_name
from trunkline.kit.sip_status import ENDPOINT_COLUMNS, SipStatus, TargetKind, endpoint_of
from trunkline.models import PhoneNumber, Trunk
from trunkline.phone_number.compliance import RequirementRead
from trunkline.phone_number.rules import shown_channel_settings
from trunkline.phone_number.schemas import (
    BindingState,
    CapabilitiesRead,
    CapableChannelState,
    ChannelSettingsRead,
    ChannelsSnapshot,
    InboundState,
    PhoneNumberRead,
    SnapshotChannels,
)


def _binding(holder: Holding | None) -> dict[str, Any]:
    """Who answers a channel; unbound is ``""`` for both names, never null (§6.2)."""
    return {
        "bound": holder is not None,
        "agent_uuid": str(holder.agent_id) if holder else "",
        "agent_name": holder.agent_name if holder else "",
    }


def build_snapshot(number: PhoneNumber, holdings: Sequence[Holding]) -> ChannelsSnapshot:
    """The ChannelsSnapshot of a number from its row and every holding on it."""
    holder = {ch: current_holder([h for h in holdings if h.channel is ch]) for ch in Channel}
    caps = number.capabilities
    cs = shown_channel_settings(number.channel_settings)
    voice, sms, inbound = cs["voice"], cs["sms"], cs["inbound"]
    return ChannelsSnapshot(
        phone_number_uuid=number.id,
        number=number.number,
        is_external=number.is_external,
        source=number.source,
        channels=SnapshotChannels(
            call=CapableChannelState(
                capable=bool(caps.get("voice")),
                enabled=bool(voice["enabled"]),
                channel_limit=voice["channel_limit"],
                whitelisted_destinations=list(voice["whitelisted_destinations"]),
                **_binding(holder[Channel.call]),
            ),
            sms=CapableChannelState(
                capable=bool(caps.get("sms")) and not number.is_external,
                enabled=bool(sms["enabled"]),
                channel_limit=sms["channel_limit"],
                whitelisted_destinations=list(sms["whitelisted_destinations"]),
                **_binding(holder[Channel.sms]),
            ),
            whatsapp=BindingState(**_binding(holder[Channel.whatsapp])),
            inbound=InboundState(
                enabled=bool(inbound["enabled"]), channel_limit=inbound["channel_limit"]
            ),
        ),
    )


def _as_is(value: datetime | None) -> datetime | None:
    return value


def _trunk_data(
    trunk: Trunk | Row[Any],
    stamp: Callable[[datetime | None], datetime | str | None] = _as_is,
) -> dict[str, Any]:
    """A trunk row (the model, or a list page's Core row) as shown to clients: SIP credentials
    only as ``has_*`` flags. ``stamp`` writes its timestamps (``iso_z``: JSON-ready, as
    ``TrunkRead``'s dump)."""
    sip = None
    endpoint = endpoint_of(TargetKind.trunk, trunk)
    if endpoint.gateway is not None:
        sip = {
            "gateway": endpoint.gateway,
            "port": endpoint.port or 5060,
            "secondary_gateway": endpoint.secondary_gateway,
            "transport": endpoint.transport or "udp",
            "has_username": trunk.sip_username_secret is not None,
            "has_password": trunk.sip_password_secret is not None,
            "status": SipStatus(trunk.status).value,
            "status_detail": trunk.status_detail,
            "last_checked_at": stamp(trunk.last_checked_at),
        }
    return {
        "channel": trunk.channel,
        "name": trunk.name,
        "direction": trunk.direction,
        "sip": sip,
        "additional_settings": trunk.additional_settings,
        "created_at": stamp(trunk.created_at),
        "updated_at": stamp(trunk.updated_at),
    }


# The trunk table's endpoint columns (kit.sip_status's one mapping), read once for the lists.
_GATEWAY, _secondary, _PORT, _TRANSPORT = ENDPOINT_COLUMNS[TargetKind.trunk]
assert _secondary is not None  # trunk rows have a secondary gateway column
_SECONDARY: str = _secondary
# Enum values by value or member (a StrEnum member hashes as its value): a dict lookup where
# ``Enum(x).value`` costs a call through EnumType (~1 us); an unknown value still raises.
_SIP_STATUS = {s.value: s.value for s in SipStatus}
_SOURCE = {s.value: s.value for s in Source}
_NUMBER_STATUS = {s.value: s.value for s in NumberStatus}


def _trunk_json(trunk: Any) -> dict[str, Any]:
    """``_trunk_data(trunk, iso_z)`` of a list page's Core trunk row, without building the
    ``SipEndpoint`` read model per row (tests/phone_number/test_item_json.py compares)."""
    t = by_name(trunk)
    sip = None
    gateway = t[_GATEWAY]
    if gateway is not None:
        sip = {
            "gateway": gateway,
            "port": t[_PORT] or 5060,
            "secondary_gateway": t[_SECONDARY],
            "transport": t[_TRANSPORT] or "udp",
            "has_username": t["sip_username_secret"] is not None,
            "has_password": t["sip_password_secret"] is not None,
            "status": _SIP_STATUS[t["status"]],
            "status_detail": t["status_detail"],
            "last_checked_at": iso_z(t["last_checked_at"]),
        }
    return {
        "channel": t["channel"],
        "name": t["name"],
        "direction": t["direction"],
        "sip": sip,
        "additional_settings": t["additional_settings"],
        "created_at": iso_z(t["created_at"]),
        "updated_at": iso_z(t["updated_at"]),
    }


_CAPABILITIES = tuple(CapabilitiesRead.model_fields)
# Per item, three channels: their keys read once (an enum's .value is a property call), and
# the unbound state shared (the page is validated into new models, so sharing is safe):
# item_data for 50 numbers 0.93 -> 0.83 ms of CPU (min of 5 x 50 runs, in-process).
_CHANNEL_KEYS = tuple((ch, ch.value) for ch in Channel)
_UNBOUND = _binding(None)


def _billing(number: Any, is_external: bool, currency: str) -> dict[str, Any]:
    return _billing_of(is_external, number.monthly_fee, number.currency, currency)


def _billing_of(
    is_external: bool, fee: Any, own_currency: str | None, currency: str
) -> dict[str, Any]:
    if is_external:
        return {"monthly_fee": 0.0, "currency": currency}
    return {
        "monthly_fee": float(fee) if fee is not None else 0.0,
        "currency": own_currency or currency,
    }


def _bindings(status: str, holdings: Sequence[Holding]) -> dict[str, dict[str, Any]]:
    """Who answers each channel of a number in ``status``; a released number is bound to no
    one."""
    if not holdings:  # most numbers of a page: nobody or one agent per channel
        return {key: _UNBOUND for _, key in _CHANNEL_KEYS}
    by_channel: dict[Channel, list[Holding]] = {}
    if status == NumberStatus.active:
        for h in holdings:
            by_channel.setdefault(h.channel, []).append(h)
    return {
        key: _binding(current_holder(by_channel[ch])) if ch in by_channel else _UNBOUND
        for ch, key in _CHANNEL_KEYS
    }


def item_data(
    number: Any, holdings: Sequence[Holding], trunks: Sequence[Trunk | Row[Any]], currency: str
) -> dict[str, Any]:
    """The PhoneNumber inventory item (docs/api-decisions.md §3.2, §6.2) as a plain dict, from a
    number row (the model, or a Core row with its column names); a released number is bound to
    no one. An external number is never billed: ``monthly_fee`` 0 in the workspace's
    ``currency``, and its ``purchased_at`` is when it was registered."""
    is_external = number.source == Source.external
    caps = number.capabilities
    created_at = number.created_at
    return {
        "phone_number_uuid": number.id,
        "number": number.number,
        "country_code": number.country_code,
        "location": number.location or "",
        "type": number.type,
        "is_external": is_external,
        "source": number.source,
        "status": number.status,
        "capabilities": {k: bool(caps.get(k)) for k in _CAPABILITIES},
        "channel_settings": shown_channel_settings(number.channel_settings),
        "billing": _billing(number, is_external, currency),
        "bindings": _bindings(number.status, holdings),
        "compliance": number.compliance,
        "address": number.address or {},
        "requirements": number.requirements or [],
        "trunks": [_trunk_data(t) for t in trunks] if is_external else None,
        "purchased_at": number.purchased_at or created_at,
        "released_at": number.released_at,
        "created_at": created_at,
        "updated_at": number.updated_at,
    }


def build_item(
    number: Any, holdings: Sequence[Holding], trunks: Sequence[Trunk | Row[Any]], currency: str
) -> PhoneNumberRead:
    """One PhoneNumber item (``item_data``), validated once. (Validating a page's dicts in one
    TypeAdapter call measured the same CPU as this per item, within the noise: not kept.)"""
    return PhoneNumberRead.model_validate(item_data(number, holdings, trunks, currency))


# The keys of the JSON columns' sub-objects as the read models list them (in their order): a
# JSON-ready item shows what the model would, and drops what the model would drop.
_SETTING_KEYS = {
    key: tuple(field.annotation.model_fields)  # type: ignore[union-attr]
    for key, field in ChannelSettingsRead.model_fields.items()
}
_SETTING_ITEMS = tuple(_SETTING_KEYS.items())
_REQUIREMENT_KEYS = tuple(RequirementRead.model_fields)
_LIMIT = "channel_limit"


def _settings_json(stored: dict[str, Any]) -> dict[str, Any]:
    """``shown_channel_settings``, keyed as ``ChannelSettingsRead``: "no limit" (null) shows as
    0; the keys the model does not list are dropped."""
    shown = {}
    for key, keys in _SETTING_ITEMS:
        section = stored[key]
        shown[key] = {k: (section.get(k) or 0) if k == _LIMIT else section[k] for k in keys}
    return shown


def item_json(
    number: Any, holdings: Sequence[Holding], trunks: Sequence[Trunk | Row[Any]], currency: str
) -> dict[str, Any]:
    """The PhoneNumber item of ``item_data``, JSON-ready: exactly what
    ``PhoneNumberRead.model_validate(item_data(...)).model_dump(mode="json")`` gives
    (tests/phone_number/test_item_json.py holds it to that over a table of rows), built
    without the model, for the lists (``kit.pagination.page_response``). A list page of 50
    items: validating them into models and serializing them cost ~1.5 ms of CPU of a ~7 ms
    request (bench/README.md, fourth session)."""
    n = by_name(number)  # a Row's columns read through its mapping: ~6 x cheaper
    is_external = n["source"] == Source.external
    caps = n["capabilities"]
    compliance = n["compliance"]
    created_at = iso_z(n["created_at"])
    purchased_at = n["purchased_at"]
    status = n["status"]
    return {
        "phone_number_uuid": str(n["id"]),
        "number": n["number"],
        "country_code": n["country_code"],
        "location": n["location"] or "",
        "type": n["type"],
        "is_external": is_external,
        "source": _SOURCE[n["source"]],
        "status": _NUMBER_STATUS[status],
        "capabilities": {k: bool(caps.get(k)) for k in _CAPABILITIES},
        "channel_settings": _settings_json(n["channel_settings"]),
        "billing": _billing_of(is_external, n["monthly_fee"], n["currency"], currency),
        "bindings": _bindings(status, holdings),
        "compliance": {
            "status": compliance["status"],
            "requirements": [
                {k: r[k] for k in _REQUIREMENT_KEYS} for r in compliance["requirements"]
            ],
        },
        "address": n["address"] or {},
        "requirements": n["requirements"] or [],
        "trunks": [_trunk_json(t) for t in trunks] if is_external else None,
        "purchased_at": iso_z(purchased_at) if purchased_at is not None else created_at,
        "released_at": iso_z(n["released_at"]),
        "created_at": created_at,
        "updated_at": iso_z(n["updated_at"]),
    }
