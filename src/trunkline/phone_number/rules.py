"""Pure rules for numbers: default and merged channel settings, what a number can carry.

The views of a number row (snapshot, inventory item) are in phone_number/views.py."""

from __future__ import annotations

from typing import Any

from trunkline.binding.rules import (
    DEFAULT_CHANNEL_LIMIT,
    Direction,
    direction_flags,
)
from trunkline.errors import ChannelNotCapable

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


def shown_channel_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Stored settings as clients see them (docs/api-decisions.md §6.2): "no limit" is stored as
    null and shown as ``channel_limit: 0``, because the upstream API types it an integer."""
    return {
        key: {**value, "channel_limit": value.get("channel_limit") or 0}
        for key, value in settings.items()
    }


def merge_channel_settings(
    settings: dict[str, Any], patch: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """PATCH semantics (docs/api-decisions.md §4.2): each sub-object merges key by key."""
    return {key: {**value, **patch.get(key, {})} for key, value in settings.items()}


def check_capable(
    capabilities: dict[str, Any], is_external: bool, patch: dict[str, dict[str, Any]]
) -> ChannelNotCapable | None:
    """Enabling a channel the number cannot carry is refused (inbound calls need voice; an
    external number never carries SMS)."""
    capable = {
        "voice": bool(capabilities.get("voice")),
        "inbound": bool(capabilities.get("voice")),
        "sms": bool(capabilities.get("sms")) and not is_external,
    }
    for key in ("voice", "sms", "inbound"):
        if patch.get(key, {}).get("enabled") and not capable[key]:
            return ChannelNotCapable(
                f"This number cannot carry {key}: it cannot be enabled.",
                field=f"channel_settings.{key}.enabled",
            )
    return None
