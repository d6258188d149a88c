"""Pagination for every list (docs/api-decisions.md §2.3)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, UnaryExpression
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import operators

T = TypeVar("T")

MAX_PER_PAGE = 200
MAX_PAGE = 10_000_000


@dataclass(frozen=True)
class PageParams:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


async def page_params(
    # Bounded so OFFSET never overflows a 64-bit integer in the database driver.
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")] = 1,
    per_page: Annotated[
        int, Query(ge=1, le=MAX_PER_PAGE, description="Items per page (1-200)")
    ] = 50,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


def total_from_page(params: PageParams, count: int) -> int | None:
    """The list's exact total when a page of ``count`` items tells it, else None: a page that is
    neither full nor empty ends the list (total = offset + count), and an empty first page is an
    empty list. Counting walks every matching index entry, so lists count only when this is None.
    """
    if 0 < count < params.per_page or (count == 0 and params.page == 1):
        return params.offset + count
    return None


Count = Select[Any] | Callable[[], Awaitable[int]]
Order = ColumnElement[Any] | InstrumentedAttribute[Any]

# From this OFFSET on, a page asks the total first, and when its rows lie nearer the end of the
# list than the start, walks from the end: an OFFSET walks every entry it skips (on SQLite ~0.1
# ms per 1,000 index entries, on the server's thread), so no page of a list walks more than half
# of it, and the last page costs what the first does. Below it, the walk is cheaper than asking
# a total that a partial page would have told for free.
DEEP_OFFSET = 1_000


def _reverse(column: Order) -> ColumnElement[Any]:
    """``column`` in the opposite direction: ASC <-> DESC (NULLs flip sides with it, on both
    databases, so the reversed order is exactly the list's order read backwards)."""
    if isinstance(column, UnaryExpression):
        if column.modifier is operators.desc_op:
            return column.element.asc()
        if column.modifier is operators.asc_op:
            return column.element.desc()
    return column.desc()


async def page_of(
    session: AsyncSession,
    rows: Select[*tuple[Any, ...]],
    count: Count,
    params: PageParams,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    key: ColumnElement[Any] | InstrumentedAttribute[Any] | None = None,
    order: Sequence[Order] = (),
    scalars: bool = True,
) -> tuple[list[Any], int]:
    """One page of ``rows`` filtered by ``where`` in ``order`` (or a select already in list
    order), and the list's exact total: the one page-plus-count every list uses.

    The total comes from ``count`` only when the page cannot tell it (``total_from_page``):
    ``count`` is a ``SELECT count(*)`` of the same filter, or a coroutine function that knows
    the total cheaper (a tally kept by triggers).

    ``key`` (the table's primary key) makes it a deferred join: the page's keys are picked by
    the filter and the order alone (``key IN (SELECT key ... WHERE .. ORDER BY .. LIMIT ..
    OFFSET ..)``, which an index of the filter and order columns answers without reading a
    row) and only the page's rows are read whole, so a deep page walks index entries, not the
    rows it skips. The filter must then be in ``where``, not in ``rows``: repeated in the outer
    statement it lets the planner walk the filter's index again to check the IN list.
    With ``key`` and ``order`` (a total order: it ends with a unique column), a page from
    ``DEEP_OFFSET`` on that lies in the second half of the list picks its keys walking from the
    end (the order reversed, the offset counted from the end); the rows still come back in list
    order. ``scalars=False`` keeps whole rows (Core columns, or a model with joined columns)."""
    total: int | None = None
    offset, limit, reverse = params.offset, params.per_page, False
    if key is not None and order and params.offset >= DEEP_OFFSET:
        total = await _total(session, count)
        from_end = total - params.offset - params.per_page  # rows after this page
        if params.offset >= total:
            return [], total  # past the end: nothing to walk
        if from_end < params.offset:
            offset, limit = max(0, from_end), min(params.per_page, total - params.offset)
            reverse = True
    if order:
        rows = rows.order_by(*order)
    if key is not None:
        picked = rows.with_only_columns(key).where(*where)
        if reverse:
            picked = picked.order_by(None).order_by(*(_reverse(c) for c in order))
        stmt = rows.where(key.in_(picked.offset(offset).limit(limit)))
    else:
        stmt = rows.where(*where).offset(offset).limit(limit)
    result = await session.execute(stmt)
    items = list(result.scalars() if scalars else result.all())
    if total is None:
        total = total_from_page(params, len(items))
    if total is None:
        total = await _total(session, count)
    return items, total


async def _total(session: AsyncSession, count: Count) -> int:
    return int(await count() if callable(count) else await session.scalar(count) or 0)


class Pagination(BaseModel):
    current_page: int
    per_page: int
    total: int
    last_page: int
    from_: int | None = Field(alias="from", serialization_alias="from")
    to: int | None
    has_more: bool

    model_config = {"populate_by_name": True}


class Page(BaseModel, Generic[T]):
    items: list[T]
    pagination: Pagination


def make_page(items: list[T], total: int, params: PageParams) -> Page[T]:
    last_page = max(1, -(-total // params.per_page))
    first = params.offset + 1 if items else None
    last = params.offset + len(items) if items else None
    return Page[T](
        items=items,
        pagination=Pagination(
            current_page=params.page,
            per_page=params.per_page,
            total=total,
            last_page=last_page,
            from_=first,
            to=last,
            has_more=params.page < last_page,
        ),
    )
