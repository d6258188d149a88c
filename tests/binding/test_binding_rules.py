"""binding/rules.py, one table per rule: channel, source, existing holding and force.

An existing holding is written ``"<who>:<via>"``: who ∈ {same, other} (the requesting agent or
another one), via ∈ {trunk, provision, connection, pbx}. Expected outcomes are an error code,
``ok`` (no error), or for the agent channel endpoints the action (``bind``/``keep``/``swap``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from trunkline.binding.rules import (
    ONE_NUMBER_PER_AGENT,
    Channel,
    Holding,
    Source,
    Via,
    check_connection_assign,
    check_connection_renumber,
    check_pbx_bind,
    check_trunk_register,
    current_holder,
    decide_channel_bind,
    direction_flags,
    one_number_per_agent,
)

ME = uuid.UUID(int=1)
OTHER = uuid.UUID(int=2)
NUMBER = "+14155550100"
ELSEWHERE = "+14155550199"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
REF = uuid.UUID(int=99)  # the row behind a holding (connection / connector / number id)


def holding(spec: str, channel: Channel, number: str = NUMBER, minute: int = 0) -> Holding:
    who, via = spec.split(":")
    agent = ME if who == "same" else OTHER
    return Holding(
        agent, who, number, channel, Via(via), T0 + timedelta(minutes=minute), ref_id=REF
    )


def holdings(specs: tuple[str, ...], channel: Channel) -> list[Holding]:
    return [holding(s, channel, minute=i) for i, s in enumerate(specs)]


def code(error: object) -> str:
    return "ok" if error is None else str(getattr(error, "code"))


# --- agent channel endpoints: POST /agents/{uuid}/channels/{call/provision|sms|whatsapp} -------
# (channel, source, capable, number holdings, agent's holdings of ANOTHER number, expected)
CHANNEL_BIND = [
    # call, purchased: every way another agent can hold it blocks; the same agent's is fine
    ("call", "purchased", True, (), (), "bind"),
    ("call", "purchased", True, ("same:provision",), (), "keep"),
    ("call", "purchased", True, ("same:trunk",), (), "keep"),
    ("call", "purchased", True, ("same:connection",), (), "bind"),
    ("call", "purchased", True, ("same:pbx",), (), "bind"),
    ("call", "purchased", True, ("other:trunk",), (), "number_already_bound"),
    ("call", "purchased", True, ("other:provision",), (), "number_already_bound"),
    ("call", "purchased", True, ("other:connection",), (), "number_already_bound"),
    ("call", "purchased", True, ("other:pbx",), (), "number_already_bound"),
    (
        "call",
        "purchased",
        True,
        ("same:connection", "other:connection"),
        (),
        "number_already_bound",
    ),
    # call: the agent already answers another number, by any means
    ("call", "purchased", True, (), ("same:trunk",), "agent_channel_busy"),
    ("call", "purchased", True, (), ("same:provision",), "agent_channel_busy"),
    ("call", "purchased", True, (), ("same:connection",), "agent_channel_busy"),
    ("call", "purchased", True, (), ("same:pbx",), "agent_channel_busy"),
    ("call", "purchased", True, ("same:provision",), ("same:pbx",), "keep"),
    ("call", "purchased", False, (), (), "channel_not_capable"),
    ("call", "purchased", False, ("other:provision",), (), "channel_not_capable"),
    ("call", "external", True, (), (), "number_is_external"),
    ("call", "external", True, ("other:trunk",), (), "number_is_external"),
    ("call", "external", True, ("same:trunk",), (), "number_is_external"),
    # sms: replaces the agent's previous number
    ("sms", "purchased", True, (), (), "bind"),
    ("sms", "purchased", True, ("same:provision",), (), "keep"),
    ("sms", "purchased", True, ("other:provision",), (), "number_already_bound"),
    ("sms", "purchased", True, (), ("same:provision",), "swap"),
    ("sms", "purchased", True, ("other:provision",), ("same:provision",), "number_already_bound"),
    ("sms", "purchased", False, (), (), "channel_not_capable"),
    ("sms", "external", False, (), (), "number_is_external"),
    # whatsapp: one number per agent, like call (the service passes capable=True: numbers
    # carry no WhatsApp capability flag)
    ("whatsapp", "purchased", True, (), (), "bind"),
    ("whatsapp", "purchased", True, ("same:provision",), (), "keep"),
    ("whatsapp", "purchased", True, ("other:provision",), (), "number_already_bound"),
    ("whatsapp", "purchased", True, ("other:trunk",), (), "number_already_bound"),
    ("whatsapp", "purchased", True, (), ("same:provision",), "agent_channel_busy"),
    ("whatsapp", "purchased", True, (), ("same:trunk",), "agent_channel_busy"),
    ("whatsapp", "external", True, ("other:trunk",), (), "number_is_external"),
]


@pytest.mark.parametrize(
    ("channel", "source", "capable", "on_number", "on_agent", "expected"), CHANNEL_BIND
)
def test_decide_channel_bind(
    channel: str,
    source: str,
    capable: bool,
    on_number: tuple[str, ...],
    on_agent: tuple[str, ...],
    expected: str,
) -> None:
    ch = Channel(channel)
    number_holdings = holdings(on_number, ch)
    agent_holdings = [h for h in number_holdings if h.agent_id == ME] + [
        holding(s, ch, number=ELSEWHERE) for s in on_agent
    ]

    decision = decide_channel_bind(
        agent_id=ME,
        number=NUMBER,
        channel=ch,
        source=Source(source),
        capable=capable,
        number_holdings=number_holdings,
        agent_holdings=agent_holdings,
    )

    outcome = code(decision.error) if decision.error else str(decision.action)
    assert outcome == expected
    if expected == "swap":
        assert decision.replaces is not None and decision.replaces.number == ELSEWHERE
    if decision.error is not None and decision.error.code == "number_already_bound":
        holder = current_holder([h for h in number_holdings if h.agent_id != ME])
        assert holder is not None
        assert decision.error.data == {
            "agent_uuid": str(OTHER),
            "agent_name": "other",
            "bound_via": holder.via.value,
        }


# --- external trunks: POST /phone-numbers/trunks ------------------------------------------------
# (channel, existing number source, number holdings, agent's other holdings, expected)
TRUNK_REGISTER = [
    ("call", None, (), (), "ok"),
    ("call", "external", (), (), "ok"),  # e.g. registered on whatsapp only, no call holder
    ("call", "purchased", (), (), "number_in_inventory"),
    ("call", "purchased", ("other:provision",), (), "number_in_inventory"),
    ("call", "external", ("other:trunk",), (), "number_already_bound"),
    ("call", None, ("other:connection",), (), "number_already_bound"),
    ("call", None, ("other:pbx",), (), "number_already_bound"),
    ("call", None, ("same:connection",), (), "number_already_bound"),
    ("call", None, ("same:pbx",), (), "number_already_bound"),
    ("call", None, (), ("same:trunk",), "agent_channel_busy"),
    ("call", None, (), ("same:provision",), "agent_channel_busy"),
    ("call", None, (), ("same:connection",), "agent_channel_busy"),
    ("call", None, (), ("same:pbx",), "agent_channel_busy"),
    ("whatsapp", None, (), (), "ok"),
    ("whatsapp", "purchased", (), (), "number_in_inventory"),
    ("whatsapp", "external", ("other:trunk",), (), "number_already_bound"),
    ("whatsapp", "external", ("same:trunk",), (), "number_already_bound"),
    ("whatsapp", None, (), ("same:provision",), "agent_channel_busy"),
]


@pytest.mark.parametrize(("channel", "source", "on_number", "on_agent", "expected"), TRUNK_REGISTER)
def test_check_trunk_register(
    channel: str,
    source: str | None,
    on_number: tuple[str, ...],
    on_agent: tuple[str, ...],
    expected: str,
) -> None:
    ch = Channel(channel)
    error = check_trunk_register(
        number=NUMBER,
        channel=ch,
        existing_source=Source(source) if source else None,
        number_holdings=holdings(on_number, ch),
        agent_holdings=[holding(s, ch, number=ELSEWHERE) for s in on_agent],
    )
    assert code(error) == expected


# --- SIP connection assignment: POST /agents/{uuid}/channels/call/sip-trunk --------------------
# (connection number's source, number holdings, force, expected)
CONNECTION_ASSIGN = [
    (source, on_number, force, expected)
    for source in ("purchased", "external", "outside")  # outside: not in the inventory at all
    for on_number, force, expected in [
        ((), False, "ok"),
        ((), True, "ok"),
        (("same:trunk",), False, "ok"),
        (("same:provision",), False, "ok"),
        (("same:connection",), False, "ok"),
        (("same:pbx",), False, "ok"),
        (("other:trunk",), False, "phone_in_use"),
        (("other:trunk",), True, "ok"),
        (("other:provision",), False, "phone_in_use"),
        (("other:provision",), True, "ok"),
        (("other:connection",), False, "phone_in_use"),
        (("other:connection",), True, "ok"),
        (("other:pbx",), False, "phone_in_use"),
        (("other:pbx",), True, "ok"),
        (("same:connection", "other:connection"), False, "phone_in_use"),
        (("other:connection", "same:connection"), False, "phone_in_use"),
        (("other:connection", "same:connection"), True, "ok"),
    ]
    # Which holdings can exist depends on the source: trunk rows only on external numbers,
    # provisioned bindings only on purchased ones, neither when the number is not owned.
    if not any(s.endswith(":trunk") for s in on_number) or source == "external"
    if not any(s.endswith(":provision") for s in on_number) or source == "purchased"
]


@pytest.mark.parametrize(("source", "on_number", "force", "expected"), CONNECTION_ASSIGN)
def test_check_connection_assign(
    source: str, on_number: tuple[str, ...], force: bool, expected: str
) -> None:
    number_holdings = holdings(on_number, Channel.call)
    error = check_connection_assign(agent_id=ME, number_holdings=number_holdings, force=force)
    assert code(error) == expected
    if error is not None:
        assert error.data["agent_uuid"] == str(OTHER)


def test_phone_in_use_names_the_most_recent_other_holder() -> None:
    older = Holding(OTHER, "older", NUMBER, Channel.call, Via.trunk, T0)
    third = uuid.UUID(int=3)
    newer = Holding(third, "newer", NUMBER, Channel.call, Via.connection, T0 + timedelta(hours=1))
    error = check_connection_assign(agent_id=ME, number_holdings=[newer, older], force=False)
    assert error is not None
    assert error.data == {
        "agent_uuid": str(third),
        "agent_name": "newer",
        "bound_via": "connection",
    }


# --- PBX connectors: POST/PATCH /pbx_extension_connectors ----------------------------------------
PBX_BIND = [
    ((), None, "ok"),
    (("same:trunk",), None, "ok"),
    (("same:provision",), None, "ok"),
    (("same:connection",), None, "ok"),
    (("same:pbx",), None, "ok"),
    (("other:trunk",), None, "number_already_bound"),
    (("other:provision",), None, "number_already_bound"),
    (("other:connection",), None, "number_already_bound"),
    (("other:pbx",), None, "number_already_bound"),
    # On update the connector's own holding (still under its old agent) does not count.
    (("other:pbx",), REF, "ok"),
    (("other:pbx", "other:trunk"), REF, "number_already_bound"),
]


@pytest.mark.parametrize(("on_number", "connector_id", "expected"), PBX_BIND)
def test_check_pbx_bind(
    on_number: tuple[str, ...], connector_id: uuid.UUID | None, expected: str
) -> None:
    error = check_pbx_bind(
        agent_id=ME, number_holdings=holdings(on_number, Channel.call), connector_id=connector_id
    )
    assert code(error) == expected


# --- renumbering an assigned connection: PATCH /channels/sip-trunk/connections/{uuid} ------------
RENUMBER = [
    ((), (ME,), "ok"),
    (("other:trunk",), (ME,), "phone_in_use"),
    (("other:trunk",), (ME, OTHER), "ok"),  # the holder is itself attached to this connection
    (("same:provision",), (ME,), "ok"),
    (("other:connection",), (ME,), "ok"),  # that is this very connection (REF)
]


@pytest.mark.parametrize(("on_number", "assigned", "expected"), RENUMBER)
def test_check_connection_renumber(
    on_number: tuple[str, ...], assigned: tuple[uuid.UUID, ...], expected: str
) -> None:
    error = check_connection_renumber(
        connection_id=REF,
        assigned_agent_ids=assigned,
        number_holdings=holdings(on_number, Channel.call),
    )
    assert code(error) == expected


# --- shared small rules ---------------------------------------------------------------------------
def test_current_holder_is_the_most_recently_assigned() -> None:
    first = holding("same:trunk", Channel.call, minute=0)
    second = holding("other:connection", Channel.call, minute=5)
    assert current_holder([second, first]) == second
    assert current_holder([]) is None


@pytest.mark.parametrize(
    ("direction", "flags"),
    [("inbound", (False, True)), ("outbound", (True, False)), ("both", (True, True))],
)
def test_direction_flags(direction: str, flags: tuple[bool, bool]) -> None:
    assert direction_flags(direction) == flags


# --- one number per agent per channel: ONE_NUMBER_PER_AGENT, every (via, channel) pair ---------
# (via of the new holding, channel, the agent's holding of ANOTHER number or None, expected:
#  an error code, "replace" (the other holding is unbound first) or "ok")
ONE_NUMBER = [
    ("trunk", "call", None, "ok"),
    ("trunk", "call", "same:pbx", "agent_channel_busy"),
    ("trunk", "whatsapp", "same:provision", "agent_channel_busy"),
    ("provision", "call", "same:connection", "agent_channel_busy"),
    ("provision", "whatsapp", "same:trunk", "agent_channel_busy"),
    ("provision", "sms", None, "ok"),
    ("provision", "sms", "same:provision", "replace"),  # SMS replaces the previous number
    ("connection", "call", None, "ok"),
    ("connection", "call", "same:trunk", "ok"),  # exempt: several connections per agent
    ("connection", "call", "same:connection", "ok"),
    ("pbx", "call", "same:provision", "ok"),  # exempt: an extension on several PBXs
    ("pbx", "call", "same:pbx", "ok"),
]


@pytest.mark.parametrize(("via", "channel", "other", "expected"), ONE_NUMBER)
def test_one_number_per_agent(via: str, channel: str, other: str | None, expected: str) -> None:
    ch = Channel(channel)
    agent_holdings = [holding("same:trunk", ch)]  # the number itself never counts
    if other is not None:
        agent_holdings.append(holding(other, ch, number=ELSEWHERE))
    check = one_number_per_agent(
        via=Via(via), channel=ch, number=NUMBER, agent_holdings=agent_holdings
    )
    if expected == "replace":
        assert check.error is None
        assert check.replaces == agent_holdings[1]
    else:
        assert code(check.error) == expected
        assert check.replaces is None


def test_every_holding_kind_has_a_one_number_policy() -> None:
    """A new way to hold a number must say here whether its agent may hold several."""
    vias_with_policy = {via for via, _ in ONE_NUMBER_PER_AGENT}
    assert vias_with_policy == set(Via)
    assert {(Via(v), Channel(c)) for v, c, _, _ in ONE_NUMBER} == set(ONE_NUMBER_PER_AGENT)
