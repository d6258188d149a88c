"""Pagination for every list (docs/api-decisions.md §2.3)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Protocol, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Integer, Row, Select, UnaryExpression, bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import operators
from starlette.responses import Response

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


# The OFFSET and LIMIT of a prebuilt page statement, bound per request.
_OFFSET = bindparam("page_offset", type_=Integer)
_LIMIT = bindparam("page_limit", type_=Integer)
# The label of the total a Pager's page statement carries on each of its rows.
TOTAL = "page_total"


class Pager:
    """One list's page statements, built once (at import, or once per filter shape) and executed
    with the request's values bound by name: what ``page_of`` does, without building a
    statement per request. Building the deferred join, and generating its cache key, cost more
    than running it: a page of 50 numbers, in-process on SQLite, 6.3 -> 1.7 ms of CPU (shared
    machine under load; the statement itself takes 0.4 ms inside SQLite).

    ``rows`` are the list's columns, ``where`` its filter (with bind parameters), ``key`` the
    primary key and ``order`` a total order (as ``page_of`` takes them). ``total``, a cheap
    count of the same filter (a tally: a handful of rows), rides on the first pages' statement
    as a scalar subquery (``TOTAL``, computed once per statement), which spares a page its
    second round trip; a list without a cheap count passes ``count`` to ``fetch`` instead."""

    def __init__(
        self,
        rows: Select[Any],
        *,
        key: ColumnElement[Any],
        order: Sequence[Order],
        where: Sequence[ColumnElement[bool]],
        total: Select[Any] | None = None,
    ) -> None:
        picked = rows.with_only_columns(key).where(*where)
        forward = picked.order_by(*order).offset(_OFFSET).limit(_LIMIT)
        backward = picked.order_by(*(_reverse(c) for c in order)).offset(_OFFSET).limit(_LIMIT)
        self._total = total
        self._forward = rows.where(key.in_(forward)).order_by(*order)
        self._backward = rows.where(key.in_(backward)).order_by(*order)
        self._counted = (
            self._forward.add_columns(total.scalar_subquery().label(TOTAL))
            if total is not None
            else None
        )

    async def fetch(
        self,
        session: AsyncSession,
        params: PageParams,
        values: dict[str, Any],
        count: Callable[[], Awaitable[int]] | None = None,
    ) -> tuple[list[Row[Any]], int]:
        """One page (Core rows) and the list's exact total, for the filter ``values``; the
        rules of ``page_of``: a deep page in the second half of the list walks from the end."""
        conn = await session.connection()  # Core statements: no ORM execution step

        async def total() -> int:
            if self._total is not None:
                return int((await conn.execute(self._total, values)).scalar() or 0)
            assert count is not None, "a Pager without a total needs count"
            return await count()

        offset, limit = params.offset, params.per_page
        if params.offset >= DEEP_OFFSET:
            known = await total()
            from_end = known - params.offset - params.per_page  # rows after this page
            if params.offset >= known:
                return [], known  # past the end: nothing to walk
            stmt = self._forward
            if from_end < params.offset:
                offset, limit = max(0, from_end), min(params.per_page, known - params.offset)
                stmt = self._backward
            page = {**values, "page_offset": offset, "page_limit": limit}
            return list((await conn.execute(stmt, page)).all()), known
        page = {**values, "page_offset": offset, "page_limit": limit}
        stmt = self._forward if self._counted is None else self._counted
        rows = list((await conn.execute(stmt, page)).all())
        told = total_from_page(params, len(rows))  # a partial page tells it exactly
        if told is not None:
            return rows, told
        if self._counted is not None and rows:
            return rows, int(rows[0][-1] or 0)
        return rows, await total()


class Columns(Protocol):
    def __getitem__(self, name: str, /) -> Any: ...


class _Attributes:
    """An object's attributes read by name (``by_name``)."""

    __slots__ = ("_obj",)

    def __init__(self, obj: object) -> None:
        self._obj = obj

    def __getitem__(self, name: str) -> Any:
        return getattr(self._obj, name)


def by_name(row: Any) -> Columns:
    """The columns of a list page's row, read as ``row["name"]``: a Core ``Row``'s mapping,
    else the object's attributes (a model, or a test's namespace). A Row's column read as an
    attribute goes through a failed attribute lookup, then ``Row.__getattr__``: ~540 ns a
    read against ~80 ns through its mapping (SQLAlchemy 2.1, measured on the shared 2-core
    machine); a list item reads 15-35 columns, 50-200 items a page."""
    return row._mapping if isinstance(row, Row) else _Attributes(row)


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


def _pagination(count: int, total: int, params: PageParams) -> dict[str, Any]:
    """The ``pagination`` object of a page of ``count`` items, keyed as clients see it."""
    last_page = max(1, -(-total // params.per_page))
    return {
        "current_page": params.page,
        "per_page": params.per_page,
        "total": total,
        "last_page": last_page,
        "from": params.offset + 1 if count else None,
        "to": params.offset + count if count else None,
        "has_more": params.page < last_page,
    }


def make_page(items: list[T], total: int, params: PageParams) -> Page[T]:
    return Page[T](
        items=items, pagination=Pagination.model_validate(_pagination(len(items), total, params))
    )


def page_response(
    items: list[dict[str, Any]], total: int, params: PageParams, message: str
) -> Response:
    """The success envelope of a page (``Envelope[Page[...]]``) as a finished JSON response,
    for lists whose items are built JSON-ready (what the item model's ``model_dump(mode=
    "json")`` gives; each builder has a test that holds it to that). The same bytes as FastAPI's
    ``response_model`` serialization (tests compare), without validating and serializing the
    items through Pydantic a second time: ~50 ``model_validate`` calls and a ``dump_json`` that
    calls the timestamp serializer 300 times (trunks page 1: 4.1 + 2.2 ms of CPU on the loaded
    machine, vs 0.15 ms for orjson)."""
    body = {
        "success": True,
        "message": message,
        "data": {"items": items, "pagination": _pagination(len(items), total, params)},
    }
    return Response(orjson.dumps(body), media_type="application/json")
