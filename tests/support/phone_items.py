"""Expected shapes of inventory objects (docs/api-decisions.md §3.1, §3.2), for whole-envelope
assertions."""

from __future__ import annotations

from typing import Any
from unittest.mock import ANY

from trunkline.kit.e164 import parse_e164

# Unbound channels name no agent with empty strings, never null (docs/api-decisions.md §6.2).
UNBOUND = {"bound": False, "agent_uuid": "", "agent_name": ""}
ALL_CAPS = {
    "voice": True,
    "sms": True,
    "mms": True,
    "fax": True,
    "emergency": True,
    "local_calling": True,
}
NO_CAPS = dict.fromkeys(ALL_CAPS, False)


def bound(agent: dict[str, Any]) -> dict[str, Any]:
    return {"bound": True, "agent_uuid": agent["agent_uuid"], "agent_name": agent["name"]}


def ok(data: Any, message: str) -> dict[str, Any]:
    return {"success": True, "message": message, "data": data}


def settings(
    *,
    voice: bool,
    sms: bool,
    inbound: bool,
    country: str = "US",
    voice_limit: int | None = 10,
    inbound_limit: int | None = 10,
    voice_dest: list[str] | None = None,
    sms_dest: list[str] | None = None,
) -> dict[str, Any]:
    # "No limit" is shown as 0 (docs/api-decisions.md §6.2): None here means no limit.
    return {
        "voice": {
            "enabled": voice,
            "channel_limit": voice_limit or 0,
            "whitelisted_destinations": [country] if voice_dest is None else voice_dest,
        },
        "sms": {
            "enabled": sms,
            "channel_limit": 0,
            "whitelisted_destinations": ([country] if sms else [])
            if sms_dest is None
            else sms_dest,
        },
        "inbound": {"enabled": inbound, "channel_limit": inbound_limit or 0},
    }


def bindings(
    call: dict[str, Any] | None = None,
    sms: dict[str, Any] | None = None,
    whatsapp: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {"call": call or UNBOUND, "sms": sms or UNBOUND, "whatsapp": whatsapp or UNBOUND}


def purchased(
    number: str,
    *,
    fee: float = 0,
    caps: dict[str, bool] | None = None,
    channel_settings: dict[str, Any] | None = None,
    location: str = "",  # kit.e164 has no geocoder: purchased numbers get no location
    type: str = "local",
    country: str = "US",
    status: str = "active",
    uuid: Any = ANY,
    call: dict[str, Any] | None = None,
    sms: dict[str, Any] | None = None,
    whatsapp: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A purchased PhoneNumber item (sandbox local number defaults: free first number)."""
    caps = caps or ALL_CAPS
    return {
        "phone_number_uuid": uuid,
        "number": number,
        "country_code": country,
        "location": location,
        "type": type,
        "is_external": False,
        "source": "purchased",
        "status": status,
        "capabilities": caps,
        "channel_settings": channel_settings
        or settings(voice=caps["voice"], sms=caps["sms"], inbound=caps["voice"], country=country),
        "billing": {"monthly_fee": fee, "currency": "EUR"},
        "bindings": bindings(call, sms, whatsapp),
        "compliance": {"status": "not_required", "requirements": []},
        "address": {},
        "requirements": [],
        "trunks": None,
        "purchased_at": ANY,
        "released_at": ANY if status == "released" else None,
        "created_at": ANY,
        "updated_at": ANY,
    }


def trunk(
    number: str,
    channel: str = "call",
    *,
    name: str | None = None,
    direction: str = "both",
    sip: dict[str, Any] | None = None,
    additional_settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "channel": channel,
        "name": name or f"{channel}_trunk_{number[1:]}",
        "direction": direction,
        "sip": sip,
        "additional_settings": additional_settings or {},
        "created_at": ANY,
        "updated_at": ANY,
    }


def sip(
    gateway: str = "sip.acme.com",
    *,
    port: int = 5060,
    secondary_gateway: str | None = None,
    transport: str = "udp",
    has_username: bool = True,
    has_password: bool = True,
    status: str = "pending",
) -> dict[str, Any]:
    return {
        "gateway": gateway,
        "port": port,
        "secondary_gateway": secondary_gateway,
        "transport": transport,
        "has_username": has_username,
        "has_password": has_password,
        "status": status,
        "status_detail": None,
        "last_checked_at": None,
    }


def external(
    number: str,
    trunks: list[dict[str, Any]],
    *,
    voice: bool = True,
    channel_settings: dict[str, Any] | None = None,
    uuid: Any = ANY,
    call: dict[str, Any] | None = None,
    whatsapp: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An external PhoneNumber item of a US number (e.g. from unique_us_number)."""
    info = parse_e164(number)
    assert info is not None, number
    return {
        "phone_number_uuid": uuid,
        "number": number,
        "country_code": "US",
        "location": "",
        "type": "local",
        "is_external": True,
        "source": "external",
        "status": "active",
        "capabilities": {**NO_CAPS, "voice": voice},
        "channel_settings": channel_settings
        or settings(voice=voice, sms=False, inbound=voice, sms_dest=[]),
        # Never billed: nothing a month, in the workspace's currency; "purchased" = registered.
        "billing": {"monthly_fee": 0, "currency": "EUR"},
        "bindings": bindings(call, None, whatsapp),
        "compliance": {"status": "not_required", "requirements": []},
        "address": {},
        "requirements": [],
        "trunks": trunks,
        "purchased_at": ANY,
        "released_at": None,
        "created_at": ANY,
        "updated_at": ANY,
    }


def snapshot(
    number: str,
    *,
    external: bool,
    call_capable: bool,
    sms_capable: bool,
    outbound: bool,
    sms_enabled: bool,
    inbound: bool,
    call: dict[str, Any] | None = None,
    sms: dict[str, Any] | None = None,
    whatsapp: dict[str, Any] | None = None,
    country: str = "US",
    uuid: Any = ANY,
) -> dict[str, Any]:
    """A ChannelsSnapshot (docs/api-decisions.md §3.1)."""
    return {
        "phone_number_uuid": uuid,
        "number": number,
        "is_external": external,
        "source": "external" if external else "purchased",
        "channels": {
            "call": {
                "capable": call_capable,
                "enabled": outbound,
                "channel_limit": 10,
                "whitelisted_destinations": [country],
                **(call or UNBOUND),
            },
            "sms": {
                "capable": sms_capable,
                "enabled": sms_enabled,
                "channel_limit": 0,
                "whitelisted_destinations": [country] if sms_capable and not external else [],
                **(sms or UNBOUND),
            },
            "whatsapp": whatsapp or UNBOUND,
            "inbound": {"enabled": inbound, "channel_limit": 10},
        },
    }


def paginated(
    items: list[Any],
    *,
    total: int,
    page: int = 1,
    per_page: int = 50,
) -> dict[str, Any]:
    """``data`` of a list response (docs/api-decisions.md §2.3), positions derived from page and
    size."""
    last_page = max(1, -(-total // per_page))
    start = (page - 1) * per_page
    return {
        "items": items,
        "pagination": {
            "current_page": page,
            "per_page": per_page,
            "total": total,
            "last_page": last_page,
            "from": start + 1 if items else None,
            "to": start + len(items) if items else None,
            "has_more": page < last_page,
        },
    }
