"""The routing decision as a table: one row per check and per number form (docs/calls.md §4)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trunkline.binding.rules import Via
from trunkline.routing.outbound import (
    AniFormat,
    OutboundFacts,
    OutboundLine,
    decide_outbound,
    format_number,
)
from trunkline.routing.rules import Check, InboundFacts, RejectedBy, Route, Verdict, decide_inbound

T0 = datetime(2026, 12, 1, tzinfo=UTC)
WS = uuid.UUID(int=1)
AGENT = uuid.UUID(int=2)
NUMBER_ID = uuid.UUID(int=3)
TRUNK_ID = uuid.UUID(int=4)


def route(**changes: Any) -> Route:
    base = Route(
        workspace_id=WS,
        number="+12025550123",
        country_code="US",
        phone_number_id=NUMBER_ID,
        via=Via.trunk,
        via_id=TRUNK_ID,
        line_id=NUMBER_ID,
        trusted=True,
        via_registration=False,
        inbound_enabled=True,
        inbound_limit=10,
        total_limit=10,
        active_inbound=0,
        active_total=0,
        agent_id=AGENT,
        agent_name="Front desk",
        agent_active=True,
        agent_has_stream=True,
        assigned_at=T0,
    )
    return dataclasses.replace(base, **changes)


def facts(*routes: Route, **changes: Any) -> InboundFacts:
    base = InboundFacts(
        source_ip="192.0.2.10",
        source_trusted=True,
        request_uri_user="+12025550123",
        to_user="+12025550123",
        routes=routes or (route(),),
        offered_codecs=("PCMA", "telephone-event"),
    )
    return dataclasses.replace(base, **changes)


INBOUND_CASES: list[tuple[str, InboundFacts, RejectedBy | None, int | None]] = [
    ("accepted", facts(), None, None),
    ("untrusted source", facts(source_trusted=False), RejectedBy.untrusted_source, 403),
    (
        "number unknown",
        facts(request_uri_user="+12025550199", to_user="+12025550199"),
        RejectedBy.unknown_number,
        404,
    ),
    (
        "held, but not through a source trusting the caller",
        facts(route(trusted=False)),
        RejectedBy.unknown_number,
        404,
    ),
    ("inbound disabled", facts(route(inbound_enabled=False)), RejectedBy.inbound_disabled, 403),
    ("no agent", facts(route(agent_id=None, agent_name=None)), RejectedBy.no_agent, 480),
    ("agent paused", facts(route(agent_active=False)), RejectedBy.agent_unavailable, 480),
    (
        "agent has no stream_url",
        facts(route(agent_has_stream=False)),
        RejectedBy.agent_unavailable,
        480,
    ),
    (
        "inbound limit reached",
        facts(route(inbound_limit=2, active_inbound=2)),
        RejectedBy.channel_limit_reached,
        486,
    ),
    (
        "call limit reached (outbound calls count)",
        facts(route(total_limit=2, active_inbound=1, active_total=2)),
        RejectedBy.channel_limit_reached,
        486,
    ),
    (
        "limit 0 means none",
        facts(route(inbound_limit=0, total_limit=None, active_inbound=50, active_total=50)),
        None,
        None,
    ),
    (
        "call limit 0 means none too",
        facts(route(inbound_limit=None, total_limit=0, active_inbound=50, active_total=50)),
        None,
        None,
    ),
    (
        "no G.711 in the offer",
        facts(offered_codecs=("G729", "telephone-event")),
        RejectedBy.codec_unsupported,
        488,
    ),
    ("offer unknown (dry run): codec not checked", facts(offered_codecs=None), None, None),
    # the first failing check decides, whatever fails after it
    (
        "order: untrusted before unknown",
        facts(route(trusted=False), source_trusted=False, request_uri_user="1"),
        RejectedBy.untrusted_source,
        403,
    ),
    (
        "order: disabled before no agent",
        facts(route(inbound_enabled=False, agent_id=None)),
        RejectedBy.inbound_disabled,
        403,
    ),
    (
        "order: limit before codec",
        facts(route(total_limit=1, active_total=1), offered_codecs=("G729",)),
        RejectedBy.channel_limit_reached,
        486,
    ),
]

NUMBER_FORMS: list[tuple[str, str | None, str | None, str]] = [
    # (name, Request-URI user, To user, country of the held number)
    ("E.164", "+12025550123", "+12025550123", "US"),
    ("without +", "12025550123", "x", "US"),
    ("00 prefix", "0012025550123", None, "US"),
    ("011 prefix", "01112025550123", None, "US"),
    ("national", "2025550123", None, "US"),
    ("separators", "+1 (202) 555-0123", None, "US"),
    ("user=phone parameters", "+12025550123;npdi", None, "US"),
    ("To only (no R-URI user)", None, "+12025550123", "US"),
    ("R-URI names a gateway user, To the number", "trunk-in", "12025550123", "US"),
]


class TestDecideInbound:
    @pytest.mark.parametrize(
        ("name", "given", "rejected_by", "sip_code"),
        INBOUND_CASES,
        ids=[c[0] for c in INBOUND_CASES],
    )
    def test_case(
        self, name: str, given: InboundFacts, rejected_by: RejectedBy | None, sip_code: int | None
    ) -> None:
        decision = decide_inbound(given)
        assert decision.rejected_by is rejected_by
        assert decision.sip_code == sip_code
        assert decision.verdict is (Verdict.accept if rejected_by is None else Verdict.reject)
        # every check that ran is listed in order, and only the last can have failed
        assert [c.passed for c in decision.checks[:-1]] == [True] * (len(decision.checks) - 1)
        assert decision.checks[-1].passed is (rejected_by is None)

    @pytest.mark.parametrize(
        ("name", "ruri", "to", "country"), NUMBER_FORMS, ids=[f[0] for f in NUMBER_FORMS]
    )
    def test_number_form(self, name: str, ruri: str | None, to: str | None, country: str) -> None:
        decision = decide_inbound(facts(request_uri_user=ruri, to_user=to))
        assert decision.accepted, decision.checks
        assert decision.route is not None and decision.route.number == "+12025550123"

    def test_checks_in_contract_order(self) -> None:
        decision = decide_inbound(facts())
        assert [c.check for c in decision.checks] == [
            Check.trusted_source,
            Check.known_number,
            Check.inbound_enabled,
            Check.agent_available,
            Check.channel_limit,
            Check.codec,
        ]

    def test_national_form_reads_in_the_held_numbers_country(self) -> None:
        uk = route(number="+442079460123", country_code="GB")
        assert decide_inbound(facts(uk, request_uri_user="02079460123")).accepted
        # the same digits mean nothing for a US number
        assert not decide_inbound(facts(request_uri_user="02079460123")).accepted

    def test_most_recently_assigned_holder_receives(self) -> None:
        older = route(agent_id=uuid.UUID(int=10), agent_name="old")
        newer = route(
            agent_id=uuid.UUID(int=11), agent_name="new", assigned_at=T0 + timedelta(seconds=1)
        )
        decision = decide_inbound(facts(older, newer))
        assert decision.route is not None and decision.route.agent_name == "new"

    def test_trusted_route_wins_over_a_newer_untrusted_one(self) -> None:
        # the same number in another workspace, through a gateway that is not the caller
        other = route(
            workspace_id=uuid.UUID(int=99), trusted=False, assigned_at=T0 + timedelta(hours=1)
        )
        decision = decide_inbound(facts(route(), other))
        assert decision.route is not None and decision.route.workspace_id == WS

    def test_pbx_normalizer_applies_to_its_numbers(self) -> None:
        pbx = route(
            via=Via.pbx,
            normalizer={"default_prefix": "1", "condition_length": "10", "condition_prefix": None},
        )
        # a 10-digit number from the PBX gets the country code the connector's normalizer adds
        decision = decide_inbound(facts(pbx, request_uri_user="2025550123", to_user=None))
        assert decision.accepted

    def test_reached_through_its_registration(self) -> None:
        # A PBX calls the extension it registered ("201"), not a number: the Contact it sent
        # the INVITE to names the connector, and that decides.
        pbx = route(via=Via.pbx, via_registration=True)
        given = facts(pbx, request_uri_user="tl-abc", to_user="201", via_registration=True)
        decision = decide_inbound(given)
        assert decision.accepted
        assert decision.checks[0].detail == "arrived on a registration Trunkline holds"

    def test_rejection_names_the_check(self) -> None:
        decision = decide_inbound(facts(route(inbound_enabled=False)))
        assert decision.checks[-1].check is Check.inbound_enabled
        assert decision.checks[-1].detail == "+12025550123 does not take inbound calls"


LINE_ID = uuid.UUID(int=20)


def line(**changes: Any) -> OutboundLine:
    base = OutboundLine(
        workspace_id=WS,
        number="+12025550123",
        country_code="US",
        phone_number_id=NUMBER_ID,
        via=Via.trunk,
        via_id=TRUNK_ID,
        line_id=LINE_ID,
        outbound_enabled=True,
        whitelisted_destinations=("US",),
        allow_premium=False,
        allow_emergency=False,
        ani_format=AniFormat.e164,
        gateway="sip.carrier.example",
        port=5060,
        transport="udp",
        secondary_gateway=None,
        total_limit=2,
        active_total=0,
        assigned_at=T0,
    )
    return dataclasses.replace(base, **changes)


def out(*lines: OutboundLine, **changes: Any) -> OutboundFacts:
    base = OutboundFacts(
        agent_found=True,
        agent_active=True,
        agent_name="Caller",
        from_number=None,
        to="+13125550111",
        lines=lines or (line(),),
    )
    return dataclasses.replace(base, **changes)


OUTBOUND_CASES: list[tuple[str, OutboundFacts, RejectedBy | None]] = [
    ("accepted", out(), None),
    ("unknown agent", out(agent_found=False), RejectedBy.agent_not_found),
    ("paused agent", out(agent_active=False), RejectedBy.agent_unavailable),
    ("agent holds no call number", out(lines=()), RejectedBy.no_number),
    ("from not held by the agent", out(from_number="+12025550199"), RejectedBy.no_number),
    ("from given without +", out(from_number="12025550123"), None),
    ("outbound disabled", out(line(outbound_enabled=False)), RejectedBy.outbound_disabled),
    ("to not a number", out(to="hello"), RejectedBy.invalid_destination),
    ("UK destination, US only", out(to="+442079460123"), RejectedBy.destination_not_allowed),
    (
        "UK destination, US and GB",
        out(line(whitelisted_destinations=("US", "GB")), to="+442079460123"),
        None,
    ),
    ("premium rate", out(to="+19005550123"), RejectedBy.destination_blocked),
    ("premium rate allowed", out(line(allow_premium=True), to="+19005550123"), None),
    ("emergency", out(to="911"), RejectedBy.destination_blocked),
    ("emergency allowed", out(line(allow_emergency=True), to="911"), None),
    ("no gateway", out(line(gateway=None)), RejectedBy.no_trunk),
    (
        "limit reached (inbound calls count)",
        out(line(active_total=2)),
        RejectedBy.channel_limit_reached,
    ),
    ("limit 0 means none", out(line(total_limit=0, active_total=500)), None),
    ("no limit (null) means none", out(line(total_limit=None, active_total=500)), None),
    (
        "order: disabled before destination",
        out(line(outbound_enabled=False), to="hello"),
        RejectedBy.outbound_disabled,
    ),
]


class TestDecideOutbound:
    @pytest.mark.parametrize(
        ("name", "given", "rejected_by"), OUTBOUND_CASES, ids=[c[0] for c in OUTBOUND_CASES]
    )
    def test_case(self, name: str, given: OutboundFacts, rejected_by: RejectedBy | None) -> None:
        decision = decide_outbound(given)
        assert decision.rejected_by is rejected_by
        assert decision.accepted is (rejected_by is None)
        assert decision.checks[-1].passed is (rejected_by is None)

    def test_invite_shape(self) -> None:
        decision = decide_outbound(
            out(line(ani_format=AniFormat.national, port=5080, transport="tcp"))
        )
        assert decision.invite is not None
        assert (
            decision.invite.request_uri == "sip:13125550111@sip.carrier.example:5080;transport=tcp"
        )
        assert decision.invite.from_uri == "sip:2025550123@sip.carrier.example"
        assert decision.invite.to_uri == "sip:13125550111@sip.carrier.example"
        assert decision.invite.p_asserted_identity == "<sip:2025550123@sip.carrier.example>"

    def test_most_recent_line_without_from(self) -> None:
        old = line(number="+12025550100")
        new = line(number="+12025550101", assigned_at=T0 + timedelta(minutes=1))
        decision = decide_outbound(out(old, new))
        assert decision.line is not None and decision.line.number == "+12025550101"


class TestFormatNumber:
    @pytest.mark.parametrize(
        ("e164", "fmt", "expected"),
        [
            ("+12025550123", AniFormat.e164, "+12025550123"),
            ("+12025550123", AniFormat.digits, "12025550123"),
            ("+12025550123", AniFormat.national, "2025550123"),
            ("+442079460123", AniFormat.national, "02079460123"),
        ],
    )
    def test_format(self, e164: str, fmt: AniFormat, expected: str) -> None:
        assert format_number(e164, fmt) == expected
