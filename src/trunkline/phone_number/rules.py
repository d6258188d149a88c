"""Pure rules for numbers: default channel settings and the snapshot view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trunkline.binding.rules import (
    DEFAULT_CHANNEL_LIMIT,
    Channel,
    Direction,
    Holding,
    NumberStatus,
    current_holder,
    direction_flags,
)
from trunkline.errors import ChannelNotCapable
from trunkline.models import PhoneNumber, Trunk
from trunkline.phone_number.schemas import (
    BindingState,
    CapabilitiesRead,
    CapableChannelState,
    ChannelsSnapshot,
    InboundState,
    PhoneNumberRead,
    SnapshotChannels,
)

EXTERNAL_CAPABILITIES: dict[str, bool] = {
    "voice": False,
    "sms": False,
    "mms": False,
    "fax": False,
    "emergency": False,
    "local_calling": False,
}


def default_channel_settings(country_code: str) -> dict[str, Any]:
    """A new number: nothing enabled, default limits, calls may reach the number's country."""
    return {
        "voice": {
            "enabled": False,
            "channel_limit": DEFAULT_CHANNEL_LIMIT,
            "whitelisted_destinations": [country_code],
        },
        "sms": {"enabled": False, "channel_limit": None, "whitelisted_destinations": []},
        "inbound": {"enabled": False, "channel_limit": DEFAULT_CHANNEL_LIMIT},
    }


def apply_call_direction(
    settings: dict[str, Any], direction: Direction | str | None
) -> dict[str, Any]:
    """A call trunk's direction decides outbound (voice) and inbound enablement; None = no trunk."""
    outbound, inbound = direction_flags(direction) if direction is not None else (False, False)
    return {
        **settings,
        "voice": {**settings["voice"], "enabled": outbound},
        "inbound": {**settings["inbound"], "enabled": inbound},
    }


def _binding(holder: Holding | None) -> dict[str, Any]:
    return {
        "bound": holder is not None,
        "agent_uuid": holder.agent_id if holder else None,
        "agent_name": holder.agent_name if holder else None,
    }


def build_snapshot(number: PhoneNumber, holdings: Sequence[Holding]) -> ChannelsSnapshot:
    """The ChannelsSnapshot of a number from its row and every holding on it."""
    holder = {ch: current_holder([h for h in holdings if h.channel is ch]) for ch in Channel}
    caps = number.capabilities
    cs = number.channel_settings
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


def purchased_channel_settings(country_code: str, capabilities: dict[str, bool]) -> dict[str, Any]:
    """A bought number is ready for what it can carry: voice both ways, SMS, own country."""
    voice, sms = bool(capabilities.get("voice")), bool(capabilities.get("sms"))
    return {
        "voice": {
            "enabled": voice,
            "channel_limit": DEFAULT_CHANNEL_LIMIT,
            "whitelisted_destinations": [country_code],
        },
        "sms": {
            "enabled": sms,
            "channel_limit": None,
            "whitelisted_destinations": [country_code] if sms else [],
        },
        "inbound": {"enabled": voice, "channel_limit": DEFAULT_CHANNEL_LIMIT},
    }


def merge_channel_settings(
    settings: dict[str, Any], patch: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """PATCH semantics (docs/api-decisions.md §4.2): each sub-object merges key by key."""
    return {key: {**value, **patch.get(key, {})} for key, value in settings.items()}


def check_capable(
    number: PhoneNumber, patch: dict[str, dict[str, Any]]
) -> ChannelNotCapable | None:
    """Enabling a channel the number cannot carry is refused (inbound calls need voice)."""
    capable = {
        "voice": bool(number.capabilities.get("voice")),
        "inbound": bool(number.capabilities.get("voice")),
        "sms": bool(number.capabilities.get("sms")) and not number.is_external,
    }
    for key in ("voice", "sms", "inbound"):
        if patch.get(key, {}).get("enabled") and not capable[key]:
            return ChannelNotCapable(
                f"This number cannot carry {key}: it cannot be enabled.",
                field=f"channel_settings.{key}.enabled",
            )
    return None


def _trunk_data(trunk: Trunk) -> dict[str, Any]:
    """A trunk row as shown to clients: SIP credentials only as ``has_*`` flags."""
    sip = None
    if trunk.sip_gateway is not None:
        sip = {
            "gateway": trunk.sip_gateway,
            "port": trunk.sip_port or 5060,
            "secondary_gateway": trunk.sip_secondary_gateway,
            "transport": trunk.sip_transport or "udp",
            "has_username": trunk.sip_username_secret is not None,
            "has_password": trunk.sip_password_secret is not None,
            "status": trunk.status,
            "status_detail": trunk.status_detail,
            "last_checked_at": trunk.last_checked_at,
        }
    return {
        "channel": trunk.channel,
        "name": trunk.name,
        "direction": trunk.direction,
        "sip": sip,
        "additional_settings": trunk.additional_settings,
        "created_at": trunk.created_at,
        "updated_at": trunk.updated_at,
    }


_CAPABILITIES = tuple(CapabilitiesRead.model_fields)


def build_item(
    number: PhoneNumber, holdings: Sequence[Holding], trunks: Sequence[Trunk]
) -> PhoneNumberRead:
    """The PhoneNumber inventory item (docs/api-decisions.md §3.2); a released number is bound to no
    one.

    Built as one plain dict validated once: lists build 50-200 of these per request, and one
    validation of the whole item costs less than constructing each nested model on its own.
    """
    by_channel: dict[Channel, list[Holding]] = {}
    if number.status == NumberStatus.active:
        for h in holdings:
            by_channel.setdefault(h.channel, []).append(h)
    caps = number.capabilities
    billing = None
    if not number.is_external and number.monthly_fee is not None:
        billing = {"monthly_fee": float(number.monthly_fee), "currency": number.currency or ""}
    return PhoneNumberRead.model_validate(
        {
            "phone_number_uuid": number.id,
            "number": number.number,
            "country_code": number.country_code,
            "location": number.location,
            "type": number.type,
            "is_external": number.is_external,
            "source": number.source,
            "status": number.status,
            "capabilities": {k: bool(caps.get(k)) for k in _CAPABILITIES},
            "channel_settings": number.channel_settings,
            "billing": billing,
            "bindings": {
                ch.value: _binding(current_holder(by_channel.get(ch, ()))) for ch in Channel
            },
            "compliance": number.compliance,
            "trunks": [_trunk_data(t) for t in trunks] if number.is_external else None,
            "purchased_at": number.purchased_at,
            "released_at": number.released_at,
            "created_at": number.created_at,
            "updated_at": number.updated_at,
        }
    )
