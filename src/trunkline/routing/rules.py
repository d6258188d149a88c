"""The one routing decision: plain facts in, a ``Decision`` with its ordered checks out. Pure.

The live call path (the call worker, on every INVITE and every ``POST /calls``) and
``POST /api/v1/routing/dry-run`` call the same two functions, so what the dry run says is what a
call gets. Facts are loaded elsewhere in one read (``routing/service.py``); nothing here does I/O.

Inbound checks, in this order, the first failure decides (docs/calls.md §4):

====  ====================  =====  ============================================================
 #    check                 SIP    fails as ``rejected_by``
====  ====================  =====  ============================================================
 1    trusted_source        403    untrusted_source: the source address is no gateway /
                                   secondary gateway / PBX allowed IP of any call source, and
                                   the INVITE did not arrive on a registration Trunkline holds
 2    known_number          404    unknown_number: the dialled number (Request-URI user, else
                                   To user) is not held on ``call`` through a source that
                                   trusts this address
 3    inbound_enabled       403    inbound_disabled
 4    agent_available       480    no_agent / agent_unavailable (paused, or no ``stream_url``)
 5    channel_limit         486    channel_limit_reached
 6    codec                 488    codec_unsupported: the offer has neither PCMU nor PCMA
 7    agent_reachable       480    agent_unreachable: decided live (the WebSocket connects)
====  ====================  =====  ============================================================
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import phonenumbers
from phonenumbers import PhoneNumberType, shortnumberinfo

from trunkline.binding.rules import Via
from trunkline.call.rules import RejectedBy
from trunkline.kit.e164 import parse_e164
from trunkline.routing.numbers import Dialled, apply_normalizer, candidates, clean

SUPPORTED_CODECS = ("PCMU", "PCMA")


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class Verdict(StrEnum):
    accept = "accept"
    reject = "reject"


class Check(StrEnum):
    # inbound, in order
    trusted_source = "trusted_source"
    known_number = "known_number"
    inbound_enabled = "inbound_enabled"
    agent_available = "agent_available"
    channel_limit = "channel_limit"
    codec = "codec"
    agent_reachable = "agent_reachable"
    # outbound, in order (channel_limit is shared)
    agent_active = "agent_active"
    from_number = "from_number"
    outbound_enabled = "outbound_enabled"
    destination_valid = "destination_valid"
    destination_allowed = "destination_allowed"
    destination_not_blocked = "destination_not_blocked"
    trunk = "trunk"


# The SIP answer for each inbound rejection (RFC 3261 §21: 403 Forbidden, 404 Not Found,
# 480 Temporarily Unavailable, 486 Busy Here, 488 Not Acceptable Here).
SIP_ANSWER: dict[RejectedBy, tuple[int, str]] = {
    RejectedBy.untrusted_source: (403, "Forbidden"),
    RejectedBy.unknown_number: (404, "Not Found"),
    RejectedBy.inbound_disabled: (403, "Forbidden"),
    RejectedBy.no_agent: (480, "Temporarily Unavailable"),
    RejectedBy.agent_unavailable: (480, "Temporarily Unavailable"),
    RejectedBy.channel_limit_reached: (486, "Busy Here"),
    RejectedBy.codec_unsupported: (488, "Not Acceptable Here"),
    RejectedBy.agent_unreachable: (480, "Temporarily Unavailable"),
}


@dataclass(frozen=True)
class CheckResult:
    check: Check
    passed: bool
    detail: str


@dataclass(frozen=True)
class Route:
    """One way a number is held on ``call``, through a source that may trust the caller.

    ``line_id`` keys live-call leases: the number's row, or the connection / connector itself
    for numbers that are not in the inventory (a connection's number is stored verbatim).
    """

    workspace_id: uuid.UUID
    number: str  # E.164
    country_code: str
    phone_number_id: uuid.UUID | None
    via: Via
    via_id: uuid.UUID
    line_id: uuid.UUID
    trusted: bool  # this source's gateway / allowed IP is the INVITE's source address
    # The INVITE was sent to the Contact of the registration Trunkline holds for this very
    # source: it names the line, whatever user the To header carries.
    via_registration: bool
    inbound_enabled: bool
    inbound_limit: int | None  # None or 0: no limit
    total_limit: int | None
    active_inbound: int
    active_total: int
    agent_id: uuid.UUID | None
    agent_name: str | None
    agent_active: bool
    agent_has_stream: bool
    assigned_at: datetime
    normalizer: dict[str, str | None] | None = None


@dataclass(frozen=True)
class InboundFacts:
    source_ip: str
    source_trusted: bool  # any call source trusts the address, or a registration was hit
    request_uri_user: str | None
    to_user: str | None
    routes: Sequence[Route]
    offered_codecs: Sequence[str] | None = None  # None: no offer known (dry run)
    via_registration: bool = False


@dataclass(frozen=True)
class Invite:
    """What an outbound call sends (dry run shows it; the call worker sends it)."""

    request_uri: str
    from_uri: str
    to_uri: str
    p_asserted_identity: str


@dataclass(frozen=True)
class Decision:
    direction: Direction
    verdict: Verdict
    checks: tuple[CheckResult, ...]
    rejected_by: RejectedBy | None = None
    sip_code: int | None = None
    sip_reason: str | None = None
    route: Route | None = None
    line: OutboundLine | None = None
    dialled: str | None = None
    invite: Invite | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict is Verdict.accept

    def check_records(self) -> list[dict[str, object]]:
        """The checks as a call's timeline keeps them."""
        return [
            {"check": c.check.value, "passed": c.passed, "detail": c.detail} for c in self.checks
        ]


@dataclass
class _Trail:
    checks: list[CheckResult] = field(default_factory=list)

    def ok(self, check: Check, detail: str) -> None:
        self.checks.append(CheckResult(check, True, detail))

    def fail(self, check: Check, detail: str) -> tuple[CheckResult, ...]:
        self.checks.append(CheckResult(check, False, detail))
        return tuple(self.checks)


def _reject_inbound(
    trail: _Trail, check: Check, why: RejectedBy, detail: str, route: Route | None = None
) -> Decision:
    code, reason = SIP_ANSWER[why]
    return Decision(
        Direction.inbound,
        Verdict.reject,
        trail.fail(check, detail),
        rejected_by=why,
        sip_code=code,
        sip_reason=reason,
        route=route,
    )


def _limit_reached(active: int, limit: int | None) -> bool:
    return bool(limit) and active >= (limit or 0)


def route_matches(route: Route, dialled: Dialled | None) -> bool:
    """Whether the dialled digits mean this route's number (its country for national forms,
    its PBX normalizer first); a route reached through its own registration always does."""
    if route.via_registration:
        return True
    if dialled is None:
        return False
    digits = apply_normalizer(dialled.digits, route.normalizer)
    if digits != dialled.digits and dialled.international_digits is None:
        normalized = clean(digits)
        if normalized is None:
            return False
        dialled = normalized
    return route.number in candidates(dialled, (route.country_code,))


def current_route(routes: Sequence[Route]) -> Route | None:
    """Who receives inbound among matching routes: the most recently assigned holder."""
    return max(routes, key=lambda r: r.assigned_at, default=None)


def decide_inbound(facts: InboundFacts) -> Decision:
    """The inbound routing decision (checks 1-6; 7 is the live agent connect)."""
    trail = _Trail()
    if not facts.source_trusted:
        return _reject_inbound(
            trail,
            Check.trusted_source,
            RejectedBy.untrusted_source,
            f"{facts.source_ip} is no gateway of any trunk, connection or PBX connector",
        )
    trail.ok(
        Check.trusted_source,
        "arrived on a registration Trunkline holds"
        if facts.via_registration
        else f"{facts.source_ip} is a known gateway",
    )

    # RFC 3261 §8.1.1.1 / §16: the Request-URI says where the call goes; To only names the
    # original target. The To user decides only when the Request-URI user is no phone number
    # (a gateway account name, or the contact user of a registration Trunkline holds).
    ruri = None if facts.via_registration else clean(facts.request_uri_user or "")
    user = (facts.request_uri_user if ruri else facts.to_user) or ""
    dialled = ruri or clean(facts.to_user or "")
    matching = [r for r in facts.routes if r.trusted and route_matches(r, dialled)]
    route = current_route(matching)
    if route is None:
        return _reject_inbound(
            trail,
            Check.known_number,
            RejectedBy.unknown_number,
            f"{user or '(none)'} is not held on call through a source trusting {facts.source_ip}",
        )
    trail.ok(Check.known_number, f"{user} → {route.number} via {route.via.value}")

    if not route.inbound_enabled:
        return _reject_inbound(
            trail,
            Check.inbound_enabled,
            RejectedBy.inbound_disabled,
            f"{route.number} does not take inbound calls",
            route,
        )
    trail.ok(Check.inbound_enabled, "inbound calls allowed")

    if route.agent_id is None:
        return _reject_inbound(
            trail, Check.agent_available, RejectedBy.no_agent, "no agent bound on call", route
        )
    if not route.agent_active or not route.agent_has_stream:
        why = "is paused" if not route.agent_active else "has no stream_url"
        return _reject_inbound(
            trail,
            Check.agent_available,
            RejectedBy.agent_unavailable,
            f"agent {route.agent_name} {why}",
            route,
        )
    trail.ok(Check.agent_available, f"agent {route.agent_name}")

    if _limit_reached(route.active_inbound, route.inbound_limit):
        return _reject_inbound(
            trail,
            Check.channel_limit,
            RejectedBy.channel_limit_reached,
            f"{route.active_inbound} of {route.inbound_limit} inbound channels in use",
            route,
        )
    if _limit_reached(route.active_total, route.total_limit):
        return _reject_inbound(
            trail,
            Check.channel_limit,
            RejectedBy.channel_limit_reached,
            f"{route.active_total} of {route.total_limit} call channels in use",
            route,
        )
    trail.ok(
        Check.channel_limit,
        f"inbound {route.active_inbound}/{route.inbound_limit or '∞'}, "
        f"all {route.active_total}/{route.total_limit or '∞'}",
    )

    if facts.offered_codecs is not None:
        offered = [c.upper() for c in facts.offered_codecs]
        chosen = next((c for c in offered if c in SUPPORTED_CODECS), None)
        if chosen is None:
            return _reject_inbound(
                trail,
                Check.codec,
                RejectedBy.codec_unsupported,
                f"offer has {', '.join(offered) or 'no codec'}; PCMU or PCMA required",
                route,
            )
        trail.ok(Check.codec, chosen)
    return Decision(
        Direction.inbound, Verdict.accept, tuple(trail.checks), route=route, dialled=user
    )


# --------------------------------------------------------------------------------- outbound


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


@dataclass(frozen=True)
class OutboundRejection:
    rejected_by: RejectedBy
    status: int  # the API status the refusal answers with


# API answers for outbound refusals (docs/calls.md §4): 403 for policy, 409 for state.
OUTBOUND_STATUS: dict[RejectedBy, int] = {
    RejectedBy.agent_not_found: 404,
    RejectedBy.agent_unavailable: 409,
    RejectedBy.no_number: 409,
    RejectedBy.outbound_disabled: 403,
    RejectedBy.invalid_destination: 422,
    RejectedBy.destination_not_allowed: 403,
    RejectedBy.destination_blocked: 403,
    RejectedBy.no_trunk: 409,
    RejectedBy.channel_limit_reached: 409,
}


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
    trail: _Trail, check: Check, why: RejectedBy, detail: str, line: OutboundLine | None = None
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
    trail = _Trail()
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

    if _limit_reached(line.active_total, line.total_limit):
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
