"""Queries that collect holdings (every way an agent answers a number) and write binding rows."""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    and_,
    bindparam,
    delete,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from trunkline.binding.rules import Channel, Holding, Via
from trunkline.kit.e164 import is_e164_shaped
from trunkline.kit.repository import dialect_name, insert_ignoring_conflicts, key_read
from trunkline.models import (
    Agent,
    Binding,
    PbxConnector,
    PhoneNumber,
    SipConnection,
    SipConnectionAssignment,
)
from trunkline.workspace import repository as workspaces

# The holdings statements are built once per variant and executed with bound parameters:
# constructing a three-branch UNION on every call cost ~0.8 ms of CPU per request.
_WS: BindParameter[uuid.UUID] = bindparam("workspace_id")
_NUMBER: BindParameter[str] = bindparam("number")
_AGENT: BindParameter[uuid.UUID] = bindparam("agent_id")
_CHANNEL: BindParameter[str] = bindparam("channel")


# The marker row a "with the number/agent itself" variant adds to its UNION: it carries the
# number's (or agent's) own id and creation time, so one round trip says whether it exists.
_ITSELF = "itself"


@functools.cache
def _number_holdings_stmt(channel: Channel | None, e164_shaped: bool, itself: bool = False) -> Any:
    bindings = (
        select(
            Binding.agent_id,
            Agent.name,
            Binding.channel,
            Binding.kind.label("via"),
            Binding.created_at,
            Binding.phone_number_id.label("ref_id"),
        )
        .join(PhoneNumber, PhoneNumber.id == Binding.phone_number_id)
        .join(Agent, Agent.id == Binding.agent_id)
        # Driven by the (workspace_id, number) unique key, then binding's (number, channel) key:
        # filtering on binding.workspace_id instead lets SQLite walk the workspace's bindings.
        .where(PhoneNumber.workspace_id == _WS, PhoneNumber.number == _NUMBER)
    )
    if channel is not None:
        bindings = bindings.where(Binding.channel == _CHANNEL)
    parts: list[Any] = [bindings]
    if channel in (None, Channel.call):
        parts.append(
            select(
                SipConnectionAssignment.agent_id,
                Agent.name,
                literal(Channel.call.value).label("channel"),
                literal(Via.connection.value).label("via"),
                SipConnectionAssignment.created_at,
                SipConnectionAssignment.connection_id,
            )
            .join(SipConnection, SipConnection.id == SipConnectionAssignment.connection_id)
            .join(Agent, Agent.id == SipConnectionAssignment.agent_id)
            # Driven by sip_connection's (workspace_id, phone_number_e164) index. A value that is
            # not E.164 can only equal a connection number that did not parse (stored verbatim):
            # that branch walks the workspace's unparsed connections (e164 IS NULL) to find it.
            .where(
                SipConnection.workspace_id == _WS,
                SipConnection.phone_number_e164 == _NUMBER
                if e164_shaped
                else and_(
                    SipConnection.phone_number_e164.is_(None), SipConnection.phone_number == _NUMBER
                ),
            )
        )
        parts.append(
            select(
                PbxConnector.agent_id,
                Agent.name,
                literal(Channel.call.value).label("channel"),
                literal(Via.pbx.value).label("via"),
                PbxConnector.created_at,
                PbxConnector.id,
            )
            .join(Agent, Agent.id == PbxConnector.agent_id)
            .where(PbxConnector.workspace_id == _WS, PbxConnector.phone_number == _NUMBER)
        )
    if itself:
        parts.append(
            select(
                null(),
                null(),
                null(),
                literal(_ITSELF),
                PhoneNumber.created_at,
                PhoneNumber.id,
            ).where(PhoneNumber.workspace_id == _WS, PhoneNumber.number == _NUMBER)
        )
    # For an E.164 number every branch is driven by a unique or per-number index: a handful of
    # rows, a key read. The verbatim (non-E.164) variant walks the unparsed connections: not one.
    union = union_all(*parts)
    return key_read(union) if e164_shaped else union


async def holdings_for_number(
    session: AsyncSession, workspace_id: uuid.UUID, e164: str, channel: Channel | None = None
) -> list[Holding]:
    """Every holding of ``e164`` (on ``channel``, or on all channels) in one UNION query.

    ``e164`` may also be a connection's verbatim number that does not parse as E.164: it then
    matches only connections stored with exactly that text (contract §2.4).
    """
    params: dict[str, Any] = {"workspace_id": workspace_id, "number": e164}
    if channel is not None:
        params["channel"] = channel.value
    rows = await session.execute(_number_holdings_stmt(channel, is_e164_shaped(e164)), params)
    return [Holding(a, n, e164, Channel(c), Via(v), at, ref) for a, n, c, v, at, ref in rows]


# Numbers per statement in the batch reads: bound values stay far below SQLite's and asyncpg's
# limits (32,766 and 32,767 per statement).
_IN_CHUNK = 1000


@functools.cache
def _numbers_holdings_stmt(channel: Channel | None) -> Any:
    """The holdings of many numbers (on ``channel``, or on all): ``e164s`` (E.164) and
    ``verbatim`` (numbers that only a connection stored as it was given can match), each row
    keyed by the number asked. The batch form of ``_number_holdings_stmt``."""
    e164s: BindParameter[list[str]] = bindparam("e164s", expanding=True)
    verbatim: BindParameter[list[str]] = bindparam("verbatim", expanding=True)
    bindings = (
        select(
            PhoneNumber.number,
            Binding.agent_id,
            Agent.name,
            Binding.channel,
            Binding.kind,
            Binding.created_at,
            Binding.phone_number_id,
        )
        .join(PhoneNumber, PhoneNumber.id == Binding.phone_number_id)
        .join(Agent, Agent.id == Binding.agent_id)
        .where(PhoneNumber.workspace_id == _WS, PhoneNumber.number.in_(e164s))
    )
    if channel is not None:
        bindings = bindings.where(Binding.channel == _CHANNEL)
    if channel not in (None, Channel.call):
        return bindings

    def connections(key: Any, *where: Any) -> Any:
        return (
            select(
                key,
                SipConnectionAssignment.agent_id,
                Agent.name,
                literal(Channel.call.value),
                literal(Via.connection.value),
                SipConnectionAssignment.created_at,
                SipConnectionAssignment.connection_id,
            )
            .join(SipConnection, SipConnection.id == SipConnectionAssignment.connection_id)
            .join(Agent, Agent.id == SipConnectionAssignment.agent_id)
            .where(SipConnection.workspace_id == _WS, *where)
        )

    return union_all(
        bindings,
        connections(SipConnection.phone_number_e164, SipConnection.phone_number_e164.in_(e164s)),
        connections(
            SipConnection.phone_number,
            SipConnection.phone_number_e164.is_(None),
            SipConnection.phone_number.in_(verbatim),
        ),
        select(
            PbxConnector.phone_number,
            PbxConnector.agent_id,
            Agent.name,
            literal(Channel.call.value),
            literal(Via.pbx.value),
            PbxConnector.created_at,
            PbxConnector.id,
        )
        .join(Agent, Agent.id == PbxConnector.agent_id)
        .where(
            PbxConnector.workspace_id == _WS,
            or_(PbxConnector.phone_number.in_(e164s), PbxConnector.phone_number.in_(verbatim)),
        ),
    )


async def holdings_for_numbers(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    numbers: Collection[str],
    channel: Channel | None = None,
) -> dict[str, list[Holding]]:
    """The holdings of each of ``numbers`` (taken as ``holdings_for_number`` takes them) on
    ``channel``, or on all channels, keyed by number (``[]`` for a number nobody holds): one
    UNION query per 1,000 numbers instead of one per number."""
    out: dict[str, list[Holding]] = {n: [] for n in numbers}
    asked = sorted(out)
    stmt = _numbers_holdings_stmt(channel)
    for start in range(0, len(asked), _IN_CHUNK):
        chunk = asked[start : start + _IN_CHUNK]
        params: dict[str, Any] = {
            "workspace_id": workspace_id,
            "e164s": [n for n in chunk if is_e164_shaped(n)],
            "verbatim": [n for n in chunk if not is_e164_shaped(n)],
        }
        if channel is not None:
            params["channel"] = channel.value
        for number, agent_id, name, ch, via, at, ref in await session.execute(stmt, params):
            out[number].append(Holding(agent_id, name, number, Channel(ch), Via(via), at, ref))
    return out


@functools.cache
def _agent_holdings_stmt(call: bool, itself: bool = False) -> Any:
    agent = (Agent.id == _AGENT) & (Agent.workspace_id == _WS)
    parts: list[Any] = [  # branches differ in column types (e164 is NULL for bindings)
        select(
            PhoneNumber.number,
            literal(None).label("e164"),
            Agent.name,
            Binding.kind.label("via"),
            Binding.created_at,
            PhoneNumber.id.label("ref_id"),
        )
        .select_from(Agent)
        .join(Binding, Binding.agent_id == Agent.id)
        .join(PhoneNumber, PhoneNumber.id == Binding.phone_number_id)
        .where(agent, Binding.channel == _CHANNEL)
    ]
    if call:
        parts.append(
            select(
                SipConnection.phone_number,
                SipConnection.phone_number_e164,
                Agent.name,
                literal(Via.connection.value),
                SipConnectionAssignment.created_at,
                SipConnection.id,
            )
            .select_from(Agent)
            .join(SipConnectionAssignment, SipConnectionAssignment.agent_id == Agent.id)
            .join(SipConnection, SipConnection.id == SipConnectionAssignment.connection_id)
            .where(agent)
        )
        parts.append(
            select(
                PbxConnector.phone_number,
                literal(None),
                Agent.name,
                literal(Via.pbx.value),
                PbxConnector.created_at,
                PbxConnector.id,
            )
            .select_from(Agent)
            .join(PbxConnector, PbxConnector.agent_id == Agent.id)
            .where(agent)
        )
    if itself:
        parts.append(
            select(null(), null(), Agent.name, literal(_ITSELF), Agent.created_at, Agent.id).where(
                agent
            )
        )
    return union_all(*parts)


async def holdings_for_agent(
    session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID, channel: Channel
) -> list[Holding]:
    """Every number ``agent_id`` answers on ``channel``, in one UNION query.

    Each branch is driven by the agent (its primary key scoped to the workspace, then the
    per-agent keys), never by a workspace-wide index.
    """
    rows = await session.execute(
        _agent_holdings_stmt(channel is Channel.call),
        {"workspace_id": workspace_id, "agent_id": agent_id, "channel": channel.value},
    )
    # A connection's number is compared in E.164 when it parses, else verbatim (contract §2.4).
    return [
        Holding(agent_id, name, e164 or number, channel, Via(via), at, ref)
        for number, e164, name, via, at, ref in rows
    ]


@functools.cache
def _number_and_agent_stmt(call: bool, e164_shaped: bool) -> Any:
    numbers = _number_holdings_stmt(None, e164_shaped, itself=True).subquery()
    agents = _agent_holdings_stmt(call, itself=True).subquery()
    return union_all(
        select(
            literal("number").label("side"),
            numbers.c.agent_id,
            numbers.c.name,
            null().label("number"),
            null().label("e164"),
            numbers.c.channel,
            numbers.c.via,
            numbers.c.created_at,
            numbers.c.ref_id,
        ),
        select(
            literal("agent"),
            null(),
            agents.c.name,
            agents.c.number,
            agents.c.e164,
            null(),
            agents.c.via,
            agents.c.created_at,
            agents.c.ref_id,
        ),
    )


@dataclass(frozen=True)
class NumberAndAgent:
    """What binding a number to an agent checks, read in one round trip (``number_and_agent``)."""

    number_id: uuid.UUID | None  # the workspace's phone_number row for the number, if any
    number_holdings: list[Holding]  # every channel
    agent_name: str
    agent_holdings: list[Holding]  # on the channel asked for


async def number_and_agent(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    e164: str,
    agent_id: uuid.UUID,
    channel: Channel,
) -> NumberAndAgent | None:
    """The number's row id and holdings on every channel, the agent's name and holdings on
    ``channel``, as one statement; None when the workspace has no such agent."""
    rows = await session.execute(
        _number_and_agent_stmt(channel is Channel.call, is_e164_shaped(e164)),
        {
            "workspace_id": workspace_id,
            "number": e164,
            "agent_id": agent_id,
            "channel": channel.value,
        },
    )
    number_id: uuid.UUID | None = None
    agent_name: str | None = None
    number_holdings: list[Holding] = []
    agent_holdings: list[Holding] = []
    for side, holder, name, number, agent_e164, held_on, via, at, ref in rows:
        if side == "number":
            if via == _ITSELF:
                number_id = ref
            else:
                number_holdings.append(
                    Holding(holder, name, e164, Channel(held_on), Via(via), at, ref)
                )
        elif via == _ITSELF:
            agent_name = name
        else:
            agent_holdings.append(
                Holding(agent_id, name, agent_e164 or number, channel, Via(via), at, ref)
            )
    if agent_name is None:
        return None
    return NumberAndAgent(number_id, number_holdings, agent_name, agent_holdings)


async def try_insert_binding(session: AsyncSession, binding: Binding) -> bool:
    """Insert unless a unique constraint already holds the key; False means someone else won."""
    result = await session.execute(
        insert_ignoring_conflicts(session, Binding),
        {
            "id": binding.id,
            "workspace_id": binding.workspace_id,
            "phone_number_id": binding.phone_number_id,
            "agent_id": binding.agent_id,
            "channel": binding.channel,
            "kind": binding.kind,
            "created_at": binding.created_at,
        },
    )
    return bool(getattr(result, "rowcount", 0))


async def get_binding(
    session: AsyncSession, phone_number_id: uuid.UUID, channel: Channel
) -> Binding | None:
    result = await session.execute(
        select(Binding).where(
            Binding.phone_number_id == phone_number_id, Binding.channel == channel.value
        )
    )
    return result.scalar_one_or_none()


async def delete_binding(
    session: AsyncSession, phone_number_id: uuid.UUID, channel: Channel
) -> None:
    await session.execute(
        delete(Binding).where(
            Binding.phone_number_id == phone_number_id, Binding.channel == channel.value
        )
    )


async def delete_agent_bindings(
    session: AsyncSession, agent_id: uuid.UUID, channel: Channel | None = None
) -> int:
    """Remove the agent's binding rows (on ``channel``, or on all); trunk rows stay, unbound."""
    stmt = delete(Binding).where(Binding.agent_id == agent_id)
    if channel is not None:
        stmt = stmt.where(Binding.channel == channel.value)
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def agent_name(session: AsyncSession, agent_id: uuid.UUID) -> str | None:
    return await session.scalar(select(Agent.name).where(Agent.id == agent_id))


def _advisory_key(key: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


async def lock_keys(session: AsyncSession, workspace_id: uuid.UUID, keys: list[str]) -> None:
    """Hold these keys until the transaction ends (see ``BindingService.lock``).

    Keys are taken in one global order, so two transactions can never wait on each other in a
    cycle. On SQLite the first write of the transaction takes the database write lock, which
    already serializes every writer; a no-op update of the workspace row is that write.
    """
    if dialect_name(session) != "postgresql":
        await workspaces.lock(session, workspace_id)
        return
    # One round trip; PostgreSQL evaluates the select list left to right, in sorted key order.
    ordered = sorted({_advisory_key(k) for k in keys})
    await session.execute(
        _advisory_locks_stmt(len(ordered)), {f"k{i}": key for i, key in enumerate(ordered)}
    )


@functools.cache
def _advisory_locks_stmt(count: int) -> Any:
    """``SELECT pg_advisory_xact_lock(:k0), …`` for ``count`` keys, built once per count."""
    return select(
        *(func.pg_advisory_xact_lock(bindparam(f"k{i}", type_=BigInteger)) for i in range(count))
    )
