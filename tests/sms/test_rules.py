"""``sms.rules.decide_send``: one table of cases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trunkline.binding.rules import Channel, Holding, Via
from trunkline.sms.rules import decide_send

AGENT = uuid.uuid4()
T0 = datetime(2026, 12, 1, tzinfo=UTC)


def held(number: str, minutes: int = 0) -> Holding:
    return Holding(
        agent_id=AGENT,
        agent_name="Texter",
        number=number,
        channel=Channel.sms,
        via=Via.provision,
        assigned_at=T0 + timedelta(minutes=minutes),
    )


def sms(enabled: bool = True, dest: tuple[str, ...] = ("US",)) -> dict[str, Any]:
    return {"enabled": enabled, "channel_limit": None, "whitelisted_destinations": list(dest)}


US = "+12015550100"
NEWER = "+12015550101"

CASES = [
    # (holdings, settings, recipient country) -> (sender, error code, error field)
    ([held(US)], sms(), "US", US, None, None),
    ([held(US), held(NEWER, 5)], sms(), "US", NEWER, None, None),
    ([held(US)], sms(dest=("US", "GB")), "GB", US, None, None),
    ([], None, "US", None, "sms_channel_not_configured", "agentId"),
    ([held(US)], None, "US", None, "sms_channel_not_configured", "agentId"),
    ([held(US)], sms(enabled=False), "US", None, "sms_disabled", "agentId"),
    ([held(US)], sms(enabled=False), "GB", None, "sms_disabled", "agentId"),
    ([held(US)], sms(), "GB", None, "sms_destination_not_allowed", "phoneNumber"),
    ([held(US)], sms(dest=()), "US", None, "sms_destination_not_allowed", "phoneNumber"),
]


@pytest.mark.parametrize(("holdings", "settings", "country", "sender", "code", "field"), CASES)
def test_decide_send(
    holdings: list[Holding],
    settings: dict[str, Any] | None,
    country: str,
    sender: str | None,
    code: str | None,
    field: str | None,
) -> None:
    decision = decide_send(sms_holdings=holdings, sms_settings=settings, recipient_country=country)

    assert decision.sender == sender
    assert (decision.error.code if decision.error else None) == code
    assert (decision.error.field if decision.error else None) == field
