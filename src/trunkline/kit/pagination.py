"""Pagination for every list (docs/api-decisions.md §2.3)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

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


async def page_of(
    session: AsyncSession,
    rows: Select[*tuple[Any, ...]],
    count: Count,
    params: PageParams,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    key: ColumnElement[Any] | InstrumentedAttribute[Any] | None = None,
    scalars: bool = True,
) -> tuple[list[Any], int]:
    """One page of ``rows`` (a select already in list order) filtered by ``where``, and the
    list's exact total: the one page-plus-count every list uses.

    The total comes from ``count`` only when the page cannot tell it (``total_from_page``):
    ``count`` is a ``SELECT count(*)`` of the same filter, or a coroutine function that knows
    the total cheaper (a tally kept by triggers).

    ``key`` (the table's primary key) makes it a deferred join: the page's keys are picked by
    the filter and the order alone (``key IN (SELECT key ... WHERE .. ORDER BY .. LIMIT ..
    OFFSET ..)``, which an index of the filter and order columns answers without reading a
    row) and only the page's rows are read whole, so a deep page walks index entries, not the
    rows it skips. The filter must then be in ``where``, not in ``rows``: repeated in the outer
    statement it lets the planner walk the filter's index again to check the IN list.
    ``scalars=False`` keeps whole rows (Core columns, or a model with joined columns)."""
    if key is not None:
        picked = rows.with_only_columns(key).where(*where)
        stmt = rows.where(key.in_(picked.offset(params.offset).limit(params.per_page)))
    else:
        stmt = rows.where(*where).offset(params.offset).limit(params.per_page)
    result = await session.execute(stmt)
    items = list(result.scalars() if scalars else result.all())
    total = total_from_page(params, len(items))
    if total is None:
        total = int(await count() if callable(count) else await session.scalar(count) or 0)
    return items, total


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
