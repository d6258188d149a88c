"""The outbound decision of ``POST /api/v1/calls`` (and its dry run): plain facts in, a
``Decision`` with its ordered checks and the INVITE to send out. Pure (docs/calls.md §4).

Checks, in order; the first failure decides, answered as an API error before any SIP is sent:
agent exists and is active, holds ``from`` on call, outbound allowed, ``to`` valid and within
``whitelisted_destinations``, not emergency / premium-rate unless allowed, a gateway to send
through, ``call.channel_limit``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import phonenumbers
from phonenumbers import PhoneNumberType, shortnumberinfo

from trunkline.binding.rules import Via
from trunkline.call.rules import RejectedBy
from trunkline.kit.e164 import parse_e164
from trunkline.routing.numbers import candidates, clean
from trunkline.routing.rules import (
    Check,
    Decision,
    Direction,
    Invite,
    Trail,
    Verdict,
    limit_reached,
)


class AniFormat(StrEnum):
    """How the caller id (From, P-Asserted-Identity) is written: ``additional_settings``."""

    e164 = "e164"  # +12025550123
    national = "national"  # 2025550123 (national significant number with trunk prefix)
    digits = "digits"  # 12025550123


@dataclass(frozen=True)
class OutboundLine:
    """A number the agent holds on ``call``, with what sending through it needs."""

    workspace_id: uuid.UUID
    number: str  # E.164
    country_code: str
    phone_number_id: uuid.UUID | None
    via: Via
    via_id: uuid.UUID
    line_id: uuid.UUID
    outbound_enabled: bool
    whitelisted_destinations: tuple[str, ...]
    allow_premium: bool
    allow_emergency: bool
    ani_format: AniFormat
    gateway: str | None
    port: int
    transport: str
    secondary_gateway: str | None
    total_limit: int | None
    active_total: int
    assigned_at: datetime


@dataclass(frozen=True)
class OutboundFacts:
    agent_found: bool
    agent_active: bool
    agent_name: str | None
    from_number: str | None  # as requested; None: the agent's call number
    to: str
    lines: Sequence[OutboundLine]


def format_number(e164: str, fmt: AniFormat) -> str:
    """``e164`` → ``+1…``; ``digits`` → ``1…``; ``national`` → the national dialling form."""
    if fmt is AniFormat.e164:
        return e164
    if fmt is AniFormat.digits:
        return e164.lstrip("+")
    parsed = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in national if ch.isdigit())


@dataclass(frozen=True)
class Destination:
    e164: str | None  # None for an emergency short number
    region: str | None
    emergency: bool
    premium: bool


def classify_destination(to: str, from_region: str) -> Destination | None:
    """The facts of a destination: a valid E.164 number, or an emergency short code of the
    caller's country (``911``, ``112``) — which exists only to be refused (or explicitly
    allowed). ``None`` when it is neither."""
    text = to.strip()
    if text.isdigit() and shortnumberinfo.is_emergency_number(text, from_region):
        return Destination(None, from_region, emergency=True, premium=False)
    info = parse_e164(text if text.startswith("+") else f"+{text}")
    if info is None:
        return None
    parsed = phonenumbers.parse(info.e164, None)
    kind = phonenumbers.number_type(parsed)
    return Destination(
        info.e164,
        info.country_code,
        emergency=False,
        premium=kind in (PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST),
    )


def _uri(user: str, line: OutboundLine, host: str | None = None) -> str:
    host = host or line.gateway or ""
    port = f":{line.port}" if line.port != 5060 else ""
    transport = f";transport={line.transport}" if line.transport != "udp" else ""
    return f"sip:{user}@{host}{port}{transport}"


def build_invite(line: OutboundLine, destination: Destination, to: str) -> Invite:
    """Request-URI and To carry the destination as digits (E.164 without ``+``, the form SIP
    trunks expect); From and P-Asserted-Identity carry the caller id in ``ani_format``."""
    dest_user = destination.e164.lstrip("+") if destination.e164 else to.strip()
    ani = format_number(line.number, line.ani_format)
    request_uri = _uri(dest_user, line)
    host = line.gateway or ""
    return Invite(
        request_uri=request_uri,
        from_uri=f"sip:{ani}@{host}",
        to_uri=f"sip:{dest_user}@{host}",
        p_asserted_identity=f"<sip:{ani}@{host}>",
    )


def _reject_outbound(
    trail: Trail, check: Check, why: RejectedBy, detail: str, line: OutboundLine | None = None
) -> Decision:
    return Decision(
        Direction.outbound,
        Verdict.reject,
        trail.fail(check, detail),
        rejected_by=why,
        line=line,
    )


def pick_line(lines: Sequence[OutboundLine], from_number: str | None) -> OutboundLine | None:
    """The line to call from: the one holding ``from`` (given in any form), else the agent's
    most recently assigned call number."""
    if from_number is None:
        return max(lines, key=lambda line: line.assigned_at, default=None)
    dialled = clean(from_number)
    if dialled is None:
        return None
    wanted = set(candidates(dialled))
    held = [line for line in lines if line.number in wanted]
    return max(held, key=lambda line: line.assigned_at, default=None)


def decide_outbound(facts: OutboundFacts) -> Decision:
    """The outbound checks of ``POST /api/v1/calls``, in order; the first failure decides."""
    trail = Trail()
    if not facts.agent_found:
        return _reject_outbound(
            trail, Check.agent_active, RejectedBy.agent_not_found, "no such agent"
        )
    if not facts.agent_active:
        return _reject_outbound(
            trail,
            Check.agent_active,
            RejectedBy.agent_unavailable,
            f"agent {facts.agent_name} is paused",
        )
    trail.ok(Check.agent_active, f"agent {facts.agent_name}")

    line = pick_line(facts.lines, facts.from_number)
    if line is None:
        wanted = facts.from_number or "a call number"
        return _reject_outbound(
            trail,
            Check.from_number,
            RejectedBy.no_number,
            f"the agent does not hold {wanted} on call",
        )
    trail.ok(Check.from_number, f"{line.number} via {line.via.value}")

    if not line.outbound_enabled:
        return _reject_outbound(
            trail,
            Check.outbound_enabled,
            RejectedBy.outbound_disabled,
            f"{line.number} does not place outbound calls",
            line,
        )
    trail.ok(Check.outbound_enabled, "outbound calls allowed")

    destination = classify_destination(facts.to, line.country_code)
    if destination is None:
        return _reject_outbound(
            trail,
            Check.destination_valid,
            RejectedBy.invalid_destination,
            f"{facts.to} is not a valid phone number",
            line,
        )
    trail.ok(Check.destination_valid, destination.e164 or f"{facts.to} (emergency)")

    if not destination.emergency and destination.region not in line.whitelisted_destinations:
        allowed = ", ".join(line.whitelisted_destinations) or "none"
        return _reject_outbound(
            trail,
            Check.destination_allowed,
            RejectedBy.destination_not_allowed,
            f"{destination.region} is not in whitelisted_destinations ({allowed})",
            line,
        )
    trail.ok(Check.destination_allowed, f"{destination.region} allowed")

    if destination.emergency and not line.allow_emergency:
        return _reject_outbound(
            trail,
            Check.destination_not_blocked,
            RejectedBy.destination_blocked,
            "emergency number (set additional_settings.allow_emergency)",
            line,
        )
    if destination.premium and not line.allow_premium:
        return _reject_outbound(
            trail,
            Check.destination_not_blocked,
            RejectedBy.destination_blocked,
            "premium-rate number (set additional_settings.allow_premium)",
            line,
        )
    trail.ok(Check.destination_not_blocked, "not premium-rate or emergency")

    if not line.gateway:
        return _reject_outbound(
            trail,
            Check.trunk,
            RejectedBy.no_trunk,
            f"{line.number} has no SIP gateway to send through",
            line,
        )
    trail.ok(Check.trunk, f"{line.gateway}:{line.port}/{line.transport}")

    if limit_reached(line.active_total, line.total_limit):
        return _reject_outbound(
            trail,
            Check.channel_limit,
            RejectedBy.channel_limit_reached,
            f"{line.active_total} of {line.total_limit} call channels in use",
            line,
        )
    trail.ok(Check.channel_limit, f"all {line.active_total}/{line.total_limit or '∞'}")
    return Decision(
        Direction.outbound,
        Verdict.accept,
        tuple(trail.checks),
        line=line,
        dialled=facts.to,
        invite=build_invite(line, destination, facts.to),
    )
