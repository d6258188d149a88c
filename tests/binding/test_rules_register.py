"""Pure binding rules for trunk registration (docs/api-decisions.md §3.1, §4.1): tables of cases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from trunkline.binding.rules import (
    Channel,
    Direction,
    Holding,
    Source,
    Via,
    check_trunk_register,
    default_trunk_name,
    direction_flags,
    one_number_per_agent,
)
from trunkline.errors import (
    AgentChannelBusy,
    NumberAlreadyBound,
    NumberInInventory,
    TrunklineError,
)

NUMBER = "+14155550100"
OTHER = "+14155550111"
T0 = datetime(2026, 11, 23, 7, 31, 56, tzinfo=UTC)
ALICE, BOB = uuid.uuid4(), uuid.uuid4()


def holding(
    agent: uuid.UUID = ALICE,
    number: str = NUMBER,
    via: Via = Via.trunk,
    minutes: int = 0,
    name: str = "Alice",
) -> Holding:
    return Holding(agent, name, number, Channel.call, via, T0 + timedelta(minutes=minutes))


def summary(error: TrunklineError | None) -> tuple[type[TrunklineError], str | None, dict] | None:
    return None if error is None else (type(error), error.field, error.data)


class TestCheckTrunkRegister:
    @pytest.mark.parametrize(
        ("source", "number_holdings", "agent_holdings", "expected"),
        [
            pytest.param(None, [], [], None, id="new-number-free-agent"),
            pytest.param(Source.external, [], [], None, id="external-number-no-holder"),
            pytest.param(
                Source.purchased,
                [],
                [],
                (NumberInInventory, "phone_number", {}),
                id="purchased",
            ),
            pytest.param(
                Source.purchased,
                [holding()],
                [holding(BOB, OTHER)],
                (NumberInInventory, "phone_number", {}),
                id="purchased-wins-over-every-other-rule",
            ),
            pytest.param(
                Source.external,
                [holding()],
                [],
                (
                    NumberAlreadyBound,
                    "phone_number",
                    {"agent_uuid": str(ALICE), "agent_name": "Alice", "bound_via": "trunk"},
                ),
                id="bound-by-trunk",
            ),
            pytest.param(
                None,
                [holding(via=Via.connection)],
                [],
                (
                    NumberAlreadyBound,
                    "phone_number",
                    {"agent_uuid": str(ALICE), "agent_name": "Alice", "bound_via": "connection"},
                ),
                id="bound-by-connection-without-number-row",
            ),
            pytest.param(
                None,
                [holding(via=Via.pbx, minutes=1), holding(BOB, name="Bob", minutes=5)],
                [],
                (
                    NumberAlreadyBound,
                    "phone_number",
                    {"agent_uuid": str(BOB), "agent_name": "Bob", "bound_via": "trunk"},
                ),
                id="names-the-most-recent-holder",
            ),
            pytest.param(
                Source.external,
                [holding()],
                [holding(number=OTHER)],
                (
                    NumberAlreadyBound,
                    "phone_number",
                    {"agent_uuid": str(ALICE), "agent_name": "Alice", "bound_via": "trunk"},
                ),
                id="number-bound-reported-before-agent-busy",
            ),
            pytest.param(
                None,
                [],
                [holding(number=OTHER, via=Via.provision)],
                (AgentChannelBusy, "agent_uuid", {"phone_number": OTHER, "bound_via": "provision"}),
                id="agent-busy",
            ),
        ],
    )
    def test_cases(
        self,
        source: Source | None,
        number_holdings: list[Holding],
        agent_holdings: list[Holding],
        expected: tuple[type[TrunklineError], str | None, dict] | None,
    ) -> None:
        error = check_trunk_register(
            number=NUMBER,
            channel=Channel.call,
            existing_source=source,
            number_holdings=number_holdings,
            agent_holdings=agent_holdings,
        )

        assert summary(error) == expected


class TestOneNumberPerAgentOnTrunks:
    @pytest.mark.parametrize(
        ("agent_holdings", "expected"),
        [
            pytest.param([], None, id="nothing-held"),
            pytest.param([holding()], None, id="holds-this-same-number"),
            pytest.param(
                [holding(number=OTHER, via=Via.pbx)],
                (AgentChannelBusy, "agent_uuid", {"phone_number": OTHER, "bound_via": "pbx"}),
                id="holds-another-number",
            ),
            pytest.param(
                [holding(), holding(number="ext 12", via=Via.connection)],
                (
                    AgentChannelBusy,
                    "agent_uuid",
                    {"phone_number": "ext 12", "bound_via": "connection"},
                ),
                id="verbatim-connection-number",
            ),
        ],
    )
    def test_cases(
        self,
        agent_holdings: list[Holding],
        expected: tuple[type[TrunklineError], str | None, dict] | None,
    ) -> None:
        check = one_number_per_agent(
            via=Via.trunk, channel=Channel.call, number=NUMBER, agent_holdings=agent_holdings
        )
        assert summary(check.error) == expected


class TestDirectionFlags:
    @pytest.mark.parametrize(
        ("direction", "flags"),
        [
            ("inbound", (False, True)),
            ("outbound", (True, False)),
            ("both", (True, True)),
            (Direction.inbound, (False, True)),
        ],
    )
    def test_outbound_then_inbound(self, direction: str, flags: tuple[bool, bool]) -> None:
        assert direction_flags(direction) == flags

    def test_unknown_direction_is_refused(self) -> None:
        with pytest.raises(ValueError):
            direction_flags("sideways")


class TestDefaultTrunkName:
    @pytest.mark.parametrize(
        ("channel", "number", "name"),
        [
            ("call", "+12345678901", "call_trunk_12345678901"),
            ("whatsapp", "+447400123456", "whatsapp_trunk_447400123456"),
            (Channel.call, "+33612345678", "call_trunk_33612345678"),
        ],
    )
    def test_name(self, channel: str, number: str, name: str) -> None:
        assert default_trunk_name(channel, number) == name
