"""Whether an agent may send an SMS, and from which number: a pure decision over plain data,
tested with one table of cases (docs/api-decisions.md §6.6)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from trunkline.binding.rules import Holding, current_holder
from trunkline.errors import (
    SmsChannelNotConfigured,
    SmsDestinationNotAllowed,
    SmsDisabled,
    TrunklineError,
)


class SmsStatus(StrEnum):
    delivered = "delivered"  # the provider delivered it (the sandbox: into the outbox)
    queued = "queued"  # the provider accepted it and is still delivering


@dataclass(frozen=True)
class SendDecision:
    sender: str | None  # the E.164 number the message leaves from
    error: TrunklineError | None


def decide_send(
    *,
    sms_holdings: Sequence[Holding],
    sms_settings: dict[str, Any] | None,
    recipient_country: str,
) -> SendDecision:
    """From the agent's SMS holdings (at most one: binding an SMS number replaces the last), the
    SMS settings of that number and the recipient's country: the sender, or why not.

    No SMS number → 422 ``sms_channel_not_configured``; ``sms.enabled`` false → 409
    ``sms_disabled``; a recipient country outside ``sms.whitelisted_destinations`` → 403
    ``sms_destination_not_allowed``.
    """
    holder = current_holder(sms_holdings)
    if holder is None or sms_settings is None:
        return SendDecision(None, SmsChannelNotConfigured(field="agentId"))
    if not sms_settings.get("enabled"):
        return SendDecision(None, SmsDisabled(field="agentId"))
    if recipient_country not in sms_settings.get("whitelisted_destinations", ()):
        return SendDecision(
            None,
            SmsDestinationNotAllowed(field="phoneNumber", data={"country_code": recipient_country}),
        )
    return SendDecision(holder.number, None)
