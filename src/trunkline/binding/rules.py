"""Who may bind what to whom: pure functions over plain data, tested with tables of cases.

A *holding* is any way an agent answers a number on a channel: a binding row (external trunk or
provisioned number), a SIP connection assignment, or a PBX extension connector. The database
enforces the one-agent-per-(number, channel) and one-number-per-(agent, channel) invariants of
binding rows with unique constraints; these rules add what spans several tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from trunkline.errors import (
    AgentChannelBusy,
    ChannelNotCapable,
    NumberAlreadyBound,
    NumberInInventory,
    NumberIsExternal,
    PhoneInUse,
    TrunklineError,
)


class Channel(StrEnum):
    call = "call"
    sms = "sms"
    whatsapp = "whatsapp"


class Via(StrEnum):
    trunk = "trunk"
    provision = "provision"
    connection = "connection"
    pbx = "pbx"


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"
    both = "both"


class Source(StrEnum):
    """Where a phone number came from."""

    purchased = "purchased"  # bought through the provider
    external = "external"  # brought by the customer (a BYO trunk)


class NumberStatus(StrEnum):
    """A phone number row's life: released numbers stay as rows (a purchase may revive them)."""

    active = "active"
    released = "released"


DEFAULT_CHANNEL_LIMIT = 10


@dataclass(frozen=True)
class Holding:
    agent_id: uuid.UUID
    agent_name: str
    number: str  # E.164 where it parses, else verbatim (connections store numbers verbatim)
    channel: Channel
    via: Via
    assigned_at: datetime
    # The row that makes the holding: the number's id for binding rows (trunk, provision), the
    # connection's id for assignments, the connector's id for PBX connectors.
    ref_id: uuid.UUID | None = None


def default_trunk_name(channel: str, e164: str) -> str:
    """Contract §4.1: ``{channel}_trunk_{digits}``."""
    return f"{channel}_trunk_{e164.lstrip('+')}"


def direction_flags(direction: Direction | str) -> tuple[bool, bool]:
    """A call trunk's direction → (outbound ``call.enabled``, ``inbound.enabled``)."""
    d = Direction(direction)
    return d is not Direction.inbound, d is not Direction.outbound


def current_holder(holdings: Sequence[Holding]) -> Holding | None:
    """The agent who receives inbound: the most recently assigned (docs/api-decisions.md §3.1)."""
    return max(holdings, key=lambda h: h.assigned_at, default=None)


def _holder_data(h: Holding) -> dict[str, str]:
    return {"agent_uuid": str(h.agent_id), "agent_name": h.agent_name, "bound_via": h.via.value}


def check_trunk_register(
    *,
    number: str,
    channel: Channel,
    existing_source: Source | None,
    number_holdings: Sequence[Holding],
    agent_holdings: Sequence[Holding],
) -> TrunklineError | None:
    """Registering an external trunk (number, channel) for an agent (docs/api-decisions.md §4.1)."""
    if existing_source is Source.purchased:
        return NumberInInventory(field="phone_number")
    holder = current_holder(number_holdings)
    if holder is not None:
        return NumberAlreadyBound(field="phone_number", data=_holder_data(holder))
    return one_number_per_agent(
        via=Via.trunk, channel=channel, number=number, agent_holdings=agent_holdings
    ).error


class OnOtherNumber(StrEnum):
    """What a new holding does when its agent already answers another number on the channel."""

    refuse = "refuse"  # 409 agent_channel_busy
    swap = "swap"  # the agent's previous number is unbound first (SMS)
    allow = "allow"  # the agent may answer several numbers on the channel


# "An agent serves one number per channel": the one table of cases, keyed by how the new
# holding is made and on which channel. The binding table's (agent_id, channel) unique key is
# the race backstop for the binding-row cases (trunk, provision).
ONE_NUMBER_PER_AGENT: dict[tuple[Via, Channel], OnOtherNumber] = {
    # Trunk endpoints: one number per agent on call and whatsapp (docs/api-decisions.md §4.1).
    (Via.trunk, Channel.call): OnOtherNumber.refuse,
    (Via.trunk, Channel.whatsapp): OnOtherNumber.refuse,
    # Agent channel endpoints (docs/api-decisions.md §4.5): call and whatsapp refuse ...
    (Via.provision, Channel.call): OnOtherNumber.refuse,
    (Via.provision, Channel.whatsapp): OnOtherNumber.refuse,
    # ... but SMS replaces: an agent sends from one number, and binding a new one is how a
    # customer moves the agent to it (the old number becomes unbound, not refused).
    (Via.provision, Channel.sms): OnOtherNumber.swap,
    # Exempt: a SIP connection is an account at a provider; an agent may use several
    # (one per provider or region) and forced assignments share one connection (§4.4).
    (Via.connection, Channel.call): OnOtherNumber.allow,
    # Exempt: a PBX connector is the agent registered as an extension on a customer PBX;
    # one agent may be an extension on several PBXs (§4.6).
    (Via.pbx, Channel.call): OnOtherNumber.allow,
}


@dataclass(frozen=True)
class AgentNumberCheck:
    """The outcome of ``one_number_per_agent``: an error, or the holding to replace (or none)."""

    error: TrunklineError | None = None
    replaces: Holding | None = None


def one_number_per_agent(
    *, via: Via, channel: Channel, number: str, agent_holdings: Sequence[Holding]
) -> AgentNumberCheck:
    """May the agent, which holds ``agent_holdings`` on ``channel`` (by any means), take
    ``number`` there through a ``via`` holding? See ``ONE_NUMBER_PER_AGENT``."""
    other = next((h for h in agent_holdings if h.number != number), None)
    policy = ONE_NUMBER_PER_AGENT[(via, channel)]
    if other is None or policy is OnOtherNumber.allow:
        return AgentNumberCheck()
    if policy is OnOtherNumber.swap:
        return AgentNumberCheck(replaces=other)
    return AgentNumberCheck(
        AgentChannelBusy(
            field="agent_uuid", data={"phone_number": other.number, "bound_via": other.via.value}
        )
    )


def check_connection_assign(
    *, agent_id: uuid.UUID, number_holdings: Sequence[Holding], force: bool
) -> TrunklineError | None:
    """Attaching a SIP connection to an agent's call channel (docs/api-decisions.md §4.4)."""
    others = [h for h in number_holdings if h.agent_id != agent_id]
    holder = current_holder(others)
    if holder is not None and not force:
        return PhoneInUse(data=_holder_data(holder))
    return None


def check_connection_renumber(
    *,
    connection_id: uuid.UUID,
    assigned_agent_ids: Sequence[uuid.UUID],
    number_holdings: Sequence[Holding],
) -> TrunklineError | None:
    """Changing an assigned connection's number: the new number must not be held on call by an
    agent the connection is not attached to (PATCH has no force; assign with force instead)."""
    others = [
        h
        for h in number_holdings
        if h.agent_id not in assigned_agent_ids
        and not (h.via is Via.connection and h.ref_id == connection_id)
    ]
    holder = current_holder(others)
    if holder is not None:
        return PhoneInUse(field="phone_number", data=_holder_data(holder))
    return None


def check_pbx_bind(
    *,
    agent_id: uuid.UUID,
    number_holdings: Sequence[Holding],
    connector_id: uuid.UUID | None = None,
) -> TrunklineError | None:
    """A PBX connector binds its number on ``call``: refused while another agent holds it.

    ``connector_id`` (on update) excludes the connector's own holding. There is no force: a PBX
    extension cannot share a number the way forced connection assignments do.
    """
    others = [
        h
        for h in number_holdings
        if h.agent_id != agent_id and not (h.via is Via.pbx and h.ref_id == connector_id)
    ]
    holder = current_holder(others)
    if holder is not None:
        return NumberAlreadyBound(field="phone_number", data=_holder_data(holder))
    return None


class Action(StrEnum):
    bind = "bind"  # insert a provision binding row
    keep = "keep"  # the agent already has this number on this channel: nothing to do
    swap = "swap"  # sms: drop the agent's previous number, then bind


@dataclass(frozen=True)
class BindDecision:
    action: Action | None
    error: TrunklineError | None = None
    replaces: Holding | None = None


def decide_channel_bind(
    *,
    agent_id: uuid.UUID,
    number: str,
    channel: Channel,
    source: Source,
    capable: bool,
    number_holdings: Sequence[Holding],
    agent_holdings: Sequence[Holding],
) -> BindDecision:
    """Binding an owned number to an agent through the agent channel endpoints
    (docs/api-decisions.md §4.5).

    Checked in this order: external numbers belong to the trunk endpoints (409
    ``number_is_external``); the number must carry the channel (422 ``channel_not_capable``); no
    other agent may hold it on the channel by any means (409 ``number_already_bound``); then the
    agent side: ``sms`` replaces the agent's previous number, ``call`` and ``whatsapp`` refuse
    while the agent serves another number there (409 ``agent_channel_busy``).
    """
    if source is Source.external:
        return BindDecision(
            None,
            NumberIsExternal(
                "External numbers are bound through the trunk endpoints "
                "(POST /api/v1/phone-numbers/trunks).",
                field="phone_number_uuid",
            ),
        )
    if not capable:
        return BindDecision(None, ChannelNotCapable(field="phone_number_uuid"))
    holder = current_holder([h for h in number_holdings if h.agent_id != agent_id])
    if holder is not None:
        return BindDecision(
            None, NumberAlreadyBound(field="phone_number_uuid", data=_holder_data(holder))
        )
    if any(h.agent_id == agent_id and h.via in (Via.provision, Via.trunk) for h in number_holdings):
        return BindDecision(Action.keep)
    check = one_number_per_agent(
        via=Via.provision, channel=channel, number=number, agent_holdings=agent_holdings
    )
    if check.error is not None:
        return BindDecision(None, check.error)
    if check.replaces is not None:
        return BindDecision(Action.swap, replaces=check.replaces)
    return BindDecision(Action.bind)
