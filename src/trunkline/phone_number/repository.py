"""Queries for phone numbers (one statement per function)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from trunkline.binding.holdings import has_trunk_row, held_condition
from trunkline.binding.rules import Channel, NumberStatus, Source
from trunkline.db import insert_ignoring_conflicts, key_read
from trunkline.kit.pagination import PageParams, Pager
from trunkline.models import PhoneNumber, PhoneNumberTally
from trunkline.phone_number.schemas import NumberFilters

# The key lookups run on most requests: built once and executed with parameters, which spares
# building the statement and its cache key on every call (~0.4 ms of a snapshot GET). They are
# key reads: on SQLite they run on the loop thread (db.key_read).
_BY_ID = key_read(
    select(PhoneNumber).where(
        PhoneNumber.id == bindparam("phone_number_id"),
        PhoneNumber.workspace_id == bindparam("workspace_id"),
    )
)
_BY_NUMBER = key_read(
    select(PhoneNumber).where(
        PhoneNumber.workspace_id == bindparam("workspace_id"),
        PhoneNumber.number == bindparam("number"),
    )
)


async def get(
    session: AsyncSession, workspace_id: uuid.UUID, phone_number_id: uuid.UUID
) -> PhoneNumber | None:
    result = await session.execute(
        _BY_ID, {"phone_number_id": phone_number_id, "workspace_id": workspace_id}
    )
    return result.scalar_one_or_none()


async def get_by_number(
    session: AsyncSession, workspace_id: uuid.UUID, e164: str
) -> PhoneNumber | None:
    result = await session.execute(_BY_NUMBER, {"workspace_id": workspace_id, "number": e164})
    return result.scalar_one_or_none()


async def insert_if_absent(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert a number row unless (workspace, number) exists — concurrent creators all succeed;
    True when this insert made the row."""
    result = await session.execute(insert_ignoring_conflicts(session, PhoneNumber), values)
    return bool(getattr(result, "rowcount", 0))


async def remove(session: AsyncSession, phone_number_id: uuid.UUID) -> None:
    await session.execute(delete(PhoneNumber).where(PhoneNumber.id == phone_number_id))


# --- lists ----------------------------------------------------------------------------------


# The table's columns, not the model's attributes: the list statements are Core, without the
# ORM's compile and loading steps (1.62 -> 1.50 ms of CPU for the page statement).
_C = PhoneNumber.__table__.c


# The list's columns: Core rows, not ORM entities. A page builds 50-200 items from them, and
# ORM loading (identity map, instrumented attributes read ~40 times per item) cost more than
# the rest of building an item (bench/README.md "2026-12-01 (third session)"). Every column
# but workspace_id, which the page's filter already fixed.
_ROW = select(*(c for c in PhoneNumber.__table__.c if c.name != "workspace_id"))
_ORDER = (PhoneNumber.__table__.c.created_at, PhoneNumber.__table__.c.id)  # oldest first
_T = PhoneNumberTally.__table__.c
_WS: BindParameter[Any] = bindparam("workspace_id")


@dataclass(frozen=True)
class _Shape:
    """Which filters a list request uses (their values are bound per request): one Pager each."""

    source: bool
    status: bool
    digits: bool
    trunk_channel: Channel | None
    channel: Channel | None
    agent: bool


def _shape(f: NumberFilters) -> _Shape:
    return _Shape(
        f.source is not None,
        f.status is not None,
        f.number_digits is not None,
        f.trunk_channel,
        f.channel,
        f.agent_id is not None,
    )


def _values(workspace_id: uuid.UUID, f: NumberFilters) -> dict[str, Any]:
    values: dict[str, Any] = {"workspace_id": workspace_id}
    if f.source is not None:
        values["source"] = f.source.value
    if f.status is not None:
        values["status"] = f.status.value
    if f.number_digits is not None:
        values["number_prefix"] = f"+{f.number_digits}%"
    if f.agent_id is not None:
        values["agent_id"] = f.agent_id
    return values


@dataclass(frozen=True)
class _List:
    """The statements of one filter shape: its pages, and its count when no tally keeps it."""

    pager: Pager
    count: Select[Any] | None


@functools.cache
def _list(shape: _Shape) -> _List:
    """The statements of one filter shape, built once. The filters only by source and status
    (what phone_number_tally counts) carry their total from the tally on the page statement
    itself; the others count their rows when the page cannot tell the total."""
    conds: list[Any] = [_C.workspace_id == _WS]
    if shape.source:
        conds.append(_C.source == bindparam("source"))
    if shape.status:
        conds.append(_C.status == bindparam("status"))
    if shape.digits:
        # Digits only (validated), so no LIKE wildcard can sneak in.
        conds.append(_C.number.like(bindparam("number_prefix")))
    if shape.trunk_channel is not None:
        conds.append(has_trunk_row(shape.trunk_channel))
    if shape.channel is not None or shape.agent:
        agent: BindParameter[Any] | None = bindparam("agent_id") if shape.agent else None
        conds.append(held_condition(_WS, shape.channel, agent))
    if shape.digits or shape.agent or shape.trunk_channel or shape.channel:
        counted = select(func.count()).select_from(PhoneNumber.__table__).where(*conds)
        return _List(Pager(_ROW, key=_C.id, order=_ORDER, where=conds), counted)
    total = select(func.coalesce(func.sum(_T.n), 0)).where(_T.workspace_id == _WS)
    if shape.source:
        total = total.where(_T.source == bindparam("source"))
    if shape.status:
        total = total.where(_T.status == bindparam("status"))
    return _List(Pager(_ROW, key=_C.id, order=_ORDER, where=conds, total=total), None)


async def page(
    session: AsyncSession, workspace_id: uuid.UUID, f: NumberFilters, params: PageParams
) -> tuple[list[Row[Any]], int]:
    """One page of rows (Core rows with the model's column names), oldest first, and the exact
    filtered total (from the tally on the page statement itself, else counted, only when the
    page cannot tell it). The page's ids are picked from the (workspace_id[, source],
    created_at, id) index alone and only its rows are read (``kit.pagination.Pager``'s
    deferred join), so deep pages stay cheap."""
    statements = _list(_shape(f))
    values = _values(workspace_id, f)

    async def count() -> int:
        assert statements.count is not None  # asked only of a list without a tally
        return int((await session.execute(statements.count, values)).scalar() or 0)

    return await statements.pager.fetch(session, params, values, count)


# --- purchases ------------------------------------------------------------------------------


async def count_active_purchased(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.count())
        .select_from(PhoneNumber)
        .where(
            PhoneNumber.workspace_id == workspace_id,
            PhoneNumber.source == Source.purchased,
            PhoneNumber.status == NumberStatus.active,
        )
    )
    return int(total or 0)


async def active_matching(
    session: AsyncSession, workspace_id: uuid.UUID, *, prefix: str, contains: str | None
) -> set[str]:
    """The workspace's active numbers (purchased or external) that start with ``prefix`` and,
    when given, contain the digits ``contains``."""
    query = select(PhoneNumber.number).where(
        PhoneNumber.workspace_id == workspace_id,
        PhoneNumber.number.startswith(prefix, autoescape=True),
        PhoneNumber.status == NumberStatus.active,
    )
    if contains:
        query = query.where(PhoneNumber.number.contains(contains, autoescape=True))
    return set(await session.scalars(query))


async def active_ids_by_number(
    session: AsyncSession, workspace_id: uuid.UUID, numbers: Sequence[str]
) -> dict[str, uuid.UUID]:
    """Inventory ids of the active numbers among ``numbers``."""
    if not numbers:
        return {}
    rows = await session.execute(
        select(PhoneNumber.number, PhoneNumber.id).where(
            PhoneNumber.workspace_id == workspace_id,
            PhoneNumber.number.in_(numbers),
            PhoneNumber.status == NumberStatus.active,
        )
    )
    return {number: pid for number, pid in rows}
