"""Who holds a number on a channel, and how: the one query builder for holdings.

A *holding* is any way an agent answers a number on a channel (``binding.rules.Holding``):

========================  ==========================================  ====================
source                    table(s)                                    ``via``
========================  ==========================================  ====================
binding row               ``binding`` (→ ``phone_number``)            ``trunk``/``provision``
connection assignment     ``sip_connection_assignment`` (→ connection) ``connection``
PBX extension connector   ``pbx_connector``                           ``pbx``
========================  ==========================================  ====================

Every source is written here once (``_bindings``, ``_connections``, ``_pbx``); a *lookup* says
which holdings to find, and ``holdings_select`` joins the sources' branches into one UNION with
the same columns (``COLUMNS``). Snapshots, the inventory, the agent views and the assignment
checks all read through it (``binding.repository`` executes it); ``held_condition`` is the same
three sources as a correlated filter for the inventory lists. A new way to hold a number is one
more source function here.

Lookups (parameters bound at execution; statements are built once per variant and cached,
because building a three-branch UNION cost ~0.8 ms of CPU per request):

- ``Lookup.number``: one E.164 number (``:workspace_id``, ``:number``) — a key read;
- ``Lookup.verbatim``: one text that does not parse as E.164; only a SIP connection stored
  verbatim can match it (docs/api-decisions.md §2.4);
- ``Lookup.numbers``: many numbers (``:e164s`` and ``:verbatim``, expanding), keyed by number;
- ``Lookup.agent``: one agent's holdings (``:agent_id``, ``:workspace_id``);
- ``Lookup.agents``: many agents' holdings (``:agent_ids``, expanding, and ``:workspace_id``):
  the whole agent objects of a list page in one read.

Routing will add an inbound lookup next ("who answers this E.164 number on call, across
workspaces, through which trusting source with which gateways") as one more ``Lookup``.
"""

from __future__ import annotations

import functools
import uuid
from enum import Enum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy import union_all as _union_all
from sqlalchemy.sql.elements import BindParameter

from trunkline.binding.rules import Channel, Via
from trunkline.models import (
    Agent,
    Binding,
    PbxConnector,
    PhoneNumber,
    SipConnection,
    SipConnectionAssignment,
    Trunk,
)

WS: BindParameter[uuid.UUID] = bindparam("workspace_id")
NUMBER: BindParameter[str] = bindparam("number")
AGENT: BindParameter[uuid.UUID] = bindparam("agent_id")
CHANNEL: BindParameter[str] = bindparam("channel")

# Every branch yields these columns, in this order.
COLUMNS = ("number", "agent_id", "agent_name", "channel", "via", "assigned_at", "ref_id")

# The marker row an ``itself`` variant adds: the number's (or agent's) own id and creation time,
# so the same round trip says whether it exists.
ITSELF = "itself"


class Lookup(Enum):
    number = "number"
    verbatim = "verbatim"
    numbers = "numbers"
    agent = "agent"
    agents = "agents"


def _e164s() -> BindParameter[list[str]]:
    return bindparam("e164s", expanding=True)


def _verbatim() -> BindParameter[list[str]]:
    return bindparam("verbatim", expanding=True)


_BY_AGENT = (Lookup.agent, Lookup.agents)


def _of_agent(lookup: Lookup = Lookup.agent) -> ColumnElement[bool]:
    # Driven by the agent (its primary key scoped to the workspace, then the per-agent keys),
    # never by a workspace-wide index.
    if lookup is Lookup.agents:
        # The workspace is checked as a test on the agent rows found by id, written so that no
        # index can take it as a key: SQLite without statistics (a fresh database; nothing runs
        # ANALYZE) otherwise prefers walking the workspace's (workspace_id, created_at, id)
        # index — every agent of the workspace — and checking the IN list per entry. With
        # 100,000 agents that cost ~10 ms of CPU per branch, ~30 ms per GET /agents page
        # (tests/binding/test_agents_lookup_plan.py checks the plan).
        return Agent.id.in_(bindparam("agent_ids", expanding=True)) & (
            Agent.workspace_id == WS
        ).is_(true())
    return (Agent.id == AGENT) & (Agent.workspace_id == WS)


def _bindings(lookup: Lookup, channel: Channel | None) -> Any:
    """Binding rows (external trunks and provisioned numbers)."""
    stmt = (
        select(
            PhoneNumber.number,
            Binding.agent_id,
            Agent.name,
            Binding.channel,
            Binding.kind,
            Binding.created_at,
            Binding.phone_number_id,
        )
        .select_from(Binding)
        .join(PhoneNumber, PhoneNumber.id == Binding.phone_number_id)
        .join(Agent, Agent.id == Binding.agent_id)
    )
    if lookup in _BY_AGENT:
        stmt = stmt.where(_of_agent(lookup))
    elif lookup is Lookup.numbers:
        stmt = stmt.where(PhoneNumber.workspace_id == WS, PhoneNumber.number.in_(_e164s()))
    else:
        # Driven by the (workspace_id, number) unique key, then binding's (number, channel) key:
        # filtering on binding.workspace_id instead lets SQLite walk the workspace's bindings.
        stmt = stmt.where(PhoneNumber.workspace_id == WS, PhoneNumber.number == NUMBER)
    if channel is not None:
        stmt = stmt.where(Binding.channel == CHANNEL)
    return stmt


def _connections(lookup: Lookup) -> list[Any]:
    """SIP connection assignments: they hold the connection's number on ``call``. A connection's
    number is compared in E.164 when it parses, else verbatim (docs/api-decisions.md §2.4)."""

    def branch(*where: Any) -> Any:
        return (
            select(
                func.coalesce(SipConnection.phone_number_e164, SipConnection.phone_number),
                SipConnectionAssignment.agent_id,
                Agent.name,
                literal(Channel.call.value),
                literal(Via.connection.value),
                SipConnectionAssignment.created_at,
                SipConnectionAssignment.connection_id,
            )
            .select_from(SipConnectionAssignment)
            .join(SipConnection, SipConnection.id == SipConnectionAssignment.connection_id)
            .join(Agent, Agent.id == SipConnectionAssignment.agent_id)
            .where(*where)
        )

    unparsed = SipConnection.phone_number_e164.is_(None)
    if lookup in _BY_AGENT:
        return [branch(_of_agent(lookup))]
    if lookup is Lookup.numbers:
        return [
            branch(SipConnection.workspace_id == WS, SipConnection.phone_number_e164.in_(_e164s())),
            branch(
                SipConnection.workspace_id == WS,
                unparsed,
                SipConnection.phone_number.in_(_verbatim()),
            ),
        ]
    if lookup is Lookup.number:
        # Driven by sip_connection's (workspace_id, phone_number_e164) index.
        return [branch(SipConnection.workspace_id == WS, SipConnection.phone_number_e164 == NUMBER)]
    # A value that is not E.164 can only equal a connection number that did not parse (stored
    # verbatim): this branch walks the workspace's unparsed connections (e164 IS NULL).
    return [
        branch(
            SipConnection.workspace_id == WS, and_(unparsed, SipConnection.phone_number == NUMBER)
        )
    ]


def _pbx(lookup: Lookup) -> Any:
    """PBX extension connectors: the agent's extension holds its number on ``call``."""
    stmt = (
        select(
            PbxConnector.phone_number,
            PbxConnector.agent_id,
            Agent.name,
            literal(Channel.call.value),
            literal(Via.pbx.value),
            PbxConnector.created_at,
            PbxConnector.id,
        )
        .select_from(PbxConnector)
        .join(Agent, Agent.id == PbxConnector.agent_id)
    )
    if lookup in _BY_AGENT:
        return stmt.where(_of_agent(lookup))
    if lookup is Lookup.numbers:
        return stmt.where(
            PbxConnector.workspace_id == WS,
            or_(
                PbxConnector.phone_number.in_(_e164s()), PbxConnector.phone_number.in_(_verbatim())
            ),
        )
    return stmt.where(PbxConnector.workspace_id == WS, PbxConnector.phone_number == NUMBER)


def _itself(lookup: Lookup) -> Any:
    """The marker row: the number's row (number lookups) or the agent's (agent lookups)."""
    if lookup is Lookup.agent:
        return select(
            null(), null(), Agent.name, null(), literal(ITSELF), Agent.created_at, Agent.id
        ).where(_of_agent())
    return select(
        null(), null(), null(), null(), literal(ITSELF), PhoneNumber.created_at, PhoneNumber.id
    ).where(PhoneNumber.workspace_id == WS, PhoneNumber.number == NUMBER)


@functools.cache
def holdings_select(lookup: Lookup, channel: Channel | None, itself: bool = False) -> Any:
    """The holdings ``lookup`` asks for, on ``channel`` (or on all), as one statement with
    ``COLUMNS``; ``itself`` adds the ``ITSELF`` marker row. Built once per variant."""
    parts: list[Any] = [_bindings(lookup, channel)]
    if channel in (None, Channel.call):
        parts += [*_connections(lookup), _pbx(lookup)]
    if itself:
        parts.append(_itself(lookup))
    return parts[0] if len(parts) == 1 else _union_all(*parts)


def held_condition(
    workspace_id: uuid.UUID | BindParameter[Any],
    channel: Channel | None,
    agent_id: uuid.UUID | BindParameter[Any] | None,
) -> ColumnElement[bool]:
    """The same three sources as a filter correlated to ``phone_number`` rows: some agent
    (``agent_id`` if given) answers the row's number on ``channel`` (or any). Used by the
    inventory lists, whose pages and counts it must not slow down (EXISTS per row). The ids may
    be bind parameters: a list's page statements are built once per filter shape."""
    binding = select(Binding.id).where(Binding.phone_number_id == PhoneNumber.id)
    if channel is not None:
        binding = binding.where(Binding.channel == channel.value)
    if agent_id is not None:
        binding = binding.where(Binding.agent_id == agent_id)
    parts: list[ColumnElement[bool]] = [exists(binding)]
    if channel in (None, Channel.call):
        assigned = (
            select(SipConnectionAssignment.id)
            .join(SipConnection, SipConnection.id == SipConnectionAssignment.connection_id)
            .where(
                SipConnection.workspace_id == workspace_id,
                SipConnection.phone_number_e164 == PhoneNumber.number,
            )
        )
        pbx = select(PbxConnector.id).where(
            PbxConnector.workspace_id == workspace_id,
            PbxConnector.phone_number == PhoneNumber.number,
        )
        if agent_id is not None:
            assigned = assigned.where(SipConnectionAssignment.agent_id == agent_id)
            pbx = pbx.where(PbxConnector.agent_id == agent_id)
        parts += [exists(assigned), exists(pbx)]
    return or_(*parts)


def has_trunk_row(channel: Channel) -> ColumnElement[bool]:
    """Filter correlated to ``phone_number`` rows: the number has an external trunk row on
    ``channel`` (bound or not: a trunk row outlives its agent's force-delete)."""
    return exists(
        select(Trunk.id).where(Trunk.phone_number_id == PhoneNumber.id, Trunk.channel == channel)
    )
