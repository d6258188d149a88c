"""Queries that collect holdings (every way an agent answers a number) and write binding rows.

The statements come from ``binding.holdings`` (the one query builder); this module executes
them and turns rows into ``Holding`` values.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.binding.holdings import ITSELF, Lookup, holdings_select
from trunkline.binding.rules import Channel, Holding, Via
from trunkline.db import insert_ignoring_conflicts, key_read
from trunkline.kit.e164 import is_e164_shaped
from trunkline.models import Agent, Binding, Trunk


def _lookup(number: str) -> Lookup:
    return Lookup.number if is_e164_shaped(number) else Lookup.verbatim


def _holding(row: Any) -> Holding:
    number, agent_id, name, channel, via, at, ref = row
    return Holding(agent_id, name, number, Channel(channel), Via(via), at, ref)


# For an E.164 number every branch is driven by a unique or per-number index: a handful of rows,
# a key read (marked here, at import, so the plan test sees every variant). The verbatim
# variant walks the workspace's unparsed connections: not one.
_E164_HOLDINGS = {ch: key_read(holdings_select(Lookup.number, ch)) for ch in (None, *Channel)}


def _for_number_stmt(lookup: Lookup, channel: Channel | None) -> Any:
    if lookup is Lookup.number:
        return _E164_HOLDINGS[channel]
    return holdings_select(lookup, channel)


async def holdings_for_number(
    session: AsyncSession, workspace_id: uuid.UUID, e164: str, channel: Channel | None = None
) -> list[Holding]:
    """Every holding of ``e164`` (on ``channel``, or on all channels) in one UNION query.

    ``e164`` may also be a connection's verbatim number that does not parse as E.164: it then
    matches only connections stored with exactly that text (docs/api-decisions.md §2.4).
    """
    params: dict[str, Any] = {"workspace_id": workspace_id, "number": e164}
    if channel is not None:
        params["channel"] = channel.value
    rows = await session.execute(_for_number_stmt(_lookup(e164), channel), params)
    return [_holding(row) for row in rows]


# Numbers per statement in the batch reads: bound values stay far below SQLite's and asyncpg's
# limits (32,766 and 32,767 per statement).
_IN_CHUNK = 1000


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
    stmt = holdings_select(Lookup.numbers, channel)
    for start in range(0, len(asked), _IN_CHUNK):
        chunk = asked[start : start + _IN_CHUNK]
        params: dict[str, Any] = {
            "workspace_id": workspace_id,
            "e164s": [n for n in chunk if is_e164_shaped(n)],
            "verbatim": [n for n in chunk if not is_e164_shaped(n)],
        }
        if channel is not None:
            params["channel"] = channel.value
        for row in await session.execute(stmt, params):
            holding = _holding(row)
            out[holding.number].append(holding)
    return out


async def holdings_for_agent(
    session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID, channel: Channel
) -> list[Holding]:
    """Every number ``agent_id`` answers on ``channel``, in one UNION query driven by the agent."""
    rows = await session.execute(
        holdings_select(Lookup.agent, channel),
        {"workspace_id": workspace_id, "agent_id": agent_id, "channel": channel.value},
    )
    return [_holding(row) for row in rows]


async def holdings_for_agents(
    session: AsyncSession, workspace_id: uuid.UUID, agent_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[Holding]]:
    """Every number each of ``agent_ids`` answers, on every channel, keyed by agent, in one
    UNION query driven by the agents."""
    found: dict[uuid.UUID, list[Holding]] = {agent_id: [] for agent_id in agent_ids}
    if not found:
        return found
    rows = await session.execute(
        holdings_select(Lookup.agents, None),
        {"workspace_id": workspace_id, "agent_ids": list(found)},
    )
    for row in rows:
        holding = _holding(row)
        found[holding.agent_id].append(holding)
    return found


@functools.cache
def _count_for_agent_stmt() -> Any:
    held = holdings_select(Lookup.agent, None).subquery()
    return select(func.count()).select_from(held)


async def count_for_agent(
    session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID
) -> int:
    """How many holdings ``agent_id`` has on every channel (binding rows, connection
    assignments, PBX connectors)."""
    total = await session.scalar(
        _count_for_agent_stmt(), {"workspace_id": workspace_id, "agent_id": agent_id}
    )
    return int(total or 0)


@functools.cache
def _number_and_agent_stmt(lookup: Lookup, channel: Channel) -> Any:
    numbers = holdings_select(lookup, None, itself=True).subquery()
    agents = holdings_select(Lookup.agent, channel, itself=True).subquery()
    return union_all(
        select(literal("number").label("side"), *numbers.c),
        select(literal("agent"), *agents.c),
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
        _number_and_agent_stmt(_lookup(e164), channel),
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
    for side, *row in rows:
        via, ref = row[4], row[6]
        if side == "number":
            if via == ITSELF:
                number_id = ref
            else:
                number_holdings.append(_holding(row))
        elif via == ITSELF:
            agent_name = row[2]
        else:
            agent_holdings.append(_holding(row))
    if agent_name is None:
        return None
    return NumberAndAgent(number_id, number_holdings, agent_name, agent_holdings)


# One number's trunk rows through the (phone_number_id, channel) unique index: a key read, built
# once (GET/PATCH of one number; building the IN-list select per request showed in py-spy).
_TRUNKS_OF_NUMBER = key_read(
    select(Trunk)
    .where(Trunk.phone_number_id == bindparam("phone_number_id"))
    .order_by(Trunk.channel)
)


async def trunks_for_number(session: AsyncSession, phone_number_id: uuid.UUID) -> list[Trunk]:
    """The external trunk rows of one number, call before whatsapp."""
    rows = await session.execute(_TRUNKS_OF_NUMBER, {"phone_number_id": phone_number_id})
    return list(rows.scalars())


# A list page's trunk rows (the numbers and trunks lists): built once, with an expanding IN
# list, as Core rows with the model's column names (what the item needs to read), not ORM
# entities: 1.13 -> 0.81 ms of CPU for a page of 50 numbers (bench/list_cpu.py, in-process).
# Only the columns an item shows (phone_number.views) and the number's id: not the monitor's
# (next_check_at, lease_*, check_misses) nor the row's own id, whose timestamps and UUIDs cost a
# conversion each per row: the read of 50 trunks 1.25 -> 1.03 ms of CPU on SQLite (min of 15
# alternating blocks in one process), 1.89 -> 1.65 ms on PostgreSQL (median).
_T = Trunk.__table__.c
_NOT_LISTED = ("workspace_id", "id", "next_check_at", "lease_owner", "lease_until", "check_misses")
_TRUNKS_OF_NUMBERS = (
    select(*(c for c in _T if c.name not in _NOT_LISTED))
    .where(_T.phone_number_id.in_(bindparam("phone_number_ids", expanding=True)))
    .order_by(_T.phone_number_id, _T.channel)
)


async def trunks_for_numbers(
    session: AsyncSession, phone_number_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Row[Any]]]:
    """The external trunk rows of each number (Core rows), call before whatsapp, in one query."""
    if not phone_number_ids:
        return {}
    rows = await session.execute(_TRUNKS_OF_NUMBERS, {"phone_number_ids": list(phone_number_ids)})
    out: dict[uuid.UUID, list[Row[Any]]] = {}
    for trunk in rows:
        out.setdefault(trunk.phone_number_id, []).append(trunk)
    return out


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


async def agent_name(
    session: AsyncSession, agent_id: uuid.UUID, workspace_id: uuid.UUID | None = None
) -> str | None:
    """The agent's name (scoped to ``workspace_id`` when given), or None."""
    stmt = select(Agent.name).where(Agent.id == agent_id)
    if workspace_id is not None:
        stmt = stmt.where(Agent.workspace_id == workspace_id)
    return await session.scalar(stmt)
