"""Pure rules for numbers: default channel settings and the snapshot view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trunkline.binding.rules import (
    DEFAULT_CHANNEL_LIMIT,
    Channel,
    Direction,
    Holding,
    current_holder,
    direction_flags,
)
from trunkline.models import PhoneNumber
from trunkline.phone_number.schemas import (
    BindingState,
    CapableChannelState,
    ChannelsSnapshot,
    InboundState,
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


def apply_call_direction(settings: dict[str, Any], direction: Direction | str | None) -> dict[str, Any]:
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
    holder = {
        ch: current_holder([h for h in holdings if h.channel is ch]) for ch in Channel
    }
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
