"""Rows the query-plan tests seed in bulk: external numbers, each with its call trunk."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from trunkline.phone_number.rules import EXTERNAL_CAPABILITIES, default_channel_settings


def external_numbers(
    workspace_id: uuid.UUID, first: int, count: int, now: datetime
) -> list[dict[str, Any]]:
    """``count`` active external US numbers of the workspace, ``+1415<first + i>``."""
    return [
        {
            "id": uuid.uuid4(),
            "workspace_id": workspace_id,
            "number": f"+1415{first + i}",
            "country_code": "US",
            "type": "local",
            "source": "external",
            "status": "active",
            "capabilities": EXTERNAL_CAPABILITIES,
            "channel_settings": default_channel_settings("US"),
            "compliance": {},
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]


def call_trunks(
    numbers: list[dict[str, Any]], gateway: Callable[[int], str], now: datetime
) -> list[dict[str, Any]]:
    """Each number's call trunk, the i-th on ``gateway(i)``, never checked yet."""
    return [
        {
            "id": uuid.uuid4(),
            "workspace_id": number["workspace_id"],
            "phone_number_id": number["id"],
            "channel": "call",
            "name": f"t{i}",
            "direction": "both",
            "sip_gateway": gateway(i),
            "sip_port": 5060,
            "sip_transport": "udp",
            "additional_settings": {},
            "status": "pending",
            "created_at": now,
            "updated_at": now,
        }
        for i, number in enumerate(numbers)
    ]
