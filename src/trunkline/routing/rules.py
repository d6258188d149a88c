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
from typing import TYPE_CHECKING

from trunkline.binding.rules import Via
from trunkline.call.rules import RejectedBy
from trunkline.routing.numbers import Dialled, apply_normalizer, candidates, clean

if TYPE_CHECKING:
    from trunkline.routing.outbound import OutboundLine

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
    # Where the call worker connects (read with the route, so no second read per call); the
    # token as stored, sealed: only the agent service opens it.
    agent_stream_url: str | None = None
    agent_stream_token_sealed: str | None = field(default=None, repr=False)


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
class Trail:
    checks: list[CheckResult] = field(default_factory=list)

    def ok(self, check: Check, detail: str) -> None:
        self.checks.append(CheckResult(check, True, detail))

    def fail(self, check: Check, detail: str) -> tuple[CheckResult, ...]:
        self.checks.append(CheckResult(check, False, detail))
        return tuple(self.checks)


def _reject_inbound(
    trail: Trail, check: Check, why: RejectedBy, detail: str, route: Route | None = None
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


def limit_reached(active: int, limit: int | None) -> bool:
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
    trail = Trail()
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

    if limit_reached(route.active_inbound, route.inbound_limit):
        return _reject_inbound(
            trail,
            Check.channel_limit,
            RejectedBy.channel_limit_reached,
            f"{route.active_inbound} of {route.inbound_limit} inbound channels in use",
            route,
        )
    if limit_reached(route.active_total, route.total_limit):
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
