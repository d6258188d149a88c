"""``db.hot``: a key read on the driver's own connection returns the rows a Core read returns
(every column type the hot reads carry: uuids, JSON, timestamps, numerics, enums as text), and
a driver failure discards the connection and answers through Core."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from trunkline.binding.holdings import Lookup, holdings_select
from trunkline.db.hot import HotRead, hot_connection
from trunkline.kit.clock import utcnow
from trunkline.models import Agent, Binding, PhoneNumber, Workspace
from trunkline.phone_number.rules import default_channel_settings

_N = PhoneNumber.__table__.c
BY_NUMBER = HotRead(
    select(*_N).where(
        _N.workspace_id == bindparam("workspace_id"), _N.number == bindparam("number")
    )
)
HOLDINGS = HotRead(holdings_select(Lookup.number, None))


async def seeded(engine: AsyncEngine) -> dict[str, Any]:
    """A workspace with one purchased number (every column set) bound on call to an agent."""
    ws, number_id, agent_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    number = f"+1415{uuid.uuid4().int % 10_000_000:07d}"
    now = utcnow()
    async with engine.begin() as conn:
        await conn.execute(insert(Workspace), [{"id": ws, "slug": f"hot-{ws.hex[:12]}"}])
        await conn.execute(
            insert(PhoneNumber),
            [
                {
                    "id": number_id,
                    "workspace_id": ws,
                    "number": number,
                    "country_code": "US",
                    "location": "Zürich — “quoted”",
                    "type": "local",
                    "source": "purchased",
                    "status": "active",
                    "capabilities": {"voice": True, "sms": False},
                    "channel_settings": default_channel_settings("US"),
                    "monthly_fee": Decimal("1.15"),
                    "currency": "EUR",
                    "compliance": {"status": "not_required", "requirements": []},
                    "address": {"street": "1 Main St"},
                    "requirements": None,
                    "purchased_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        await conn.execute(insert(Agent), [{"id": agent_id, "workspace_id": ws, "name": "Ågent"}])
        await conn.execute(
            insert(Binding),
            [
                {
                    "id": uuid.uuid4(),
                    "workspace_id": ws,
                    "phone_number_id": number_id,
                    "agent_id": agent_id,
                    "channel": "call",
                    "kind": "provision",
                }
            ],
        )
    return {"workspace_id": ws, "number": number}


async def core_rows(engine: AsyncEngine, read: HotRead, params: dict[str, Any]) -> list[Any]:
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(read.statement, params)]


class TestFetch:
    async def test_rows_are_the_core_rows(self, engine: AsyncEngine) -> None:
        params = await seeded(engine)
        async with hot_connection(engine) as conn:
            numbers = await conn.fetch(BY_NUMBER, params)
            holdings = await conn.fetch(HOLDINGS, params)
            assert conn.pooled is not None  # both read on the driver: Core was not needed

        assert [tuple(r) for r in numbers] == await core_rows(engine, BY_NUMBER, params)
        assert [tuple(r) for r in holdings] == await core_rows(engine, HOLDINGS, params)
        row = numbers[0]
        assert row.number == params["number"] and row.workspace_id == params["workspace_id"]
        assert isinstance(row.id, uuid.UUID) and row.created_at.tzinfo is not None
        assert row.capabilities == {"voice": True, "sms": False}
        assert [(h[2], h[3], h[4]) for h in holdings] == [("Ågent", "call", "provision")]

    async def test_no_row(self, engine: AsyncEngine) -> None:
        params = {"workspace_id": uuid.uuid4(), "number": "+14155550100"}
        async with hot_connection(engine) as conn:
            assert await conn.fetch(BY_NUMBER, params) == []
            assert conn.pooled is not None

    async def test_the_connection_goes_back_to_the_pool(self, engine: AsyncEngine) -> None:
        params = await seeded(engine)
        before = engine.pool.checkedout()  # type: ignore[attr-defined]
        async with hot_connection(engine) as conn:
            await conn.fetch(BY_NUMBER, params)
            assert engine.pool.checkedout() == before + 1  # type: ignore[attr-defined]
        assert engine.pool.checkedout() == before  # type: ignore[attr-defined]


class TestDriverFailure:
    async def test_a_broken_connection_is_discarded_and_core_answers(
        self, engine: AsyncEngine
    ) -> None:
        params = await seeded(engine)
        expected = await core_rows(engine, BY_NUMBER, params)
        async with hot_connection(engine) as conn:
            driver = conn.pooled.driver_connection
            # The driver's own connection closed under the pool's feet: its next statement fails.
            if engine.dialect.name == "sqlite":
                driver._conn.close()
            else:
                await driver.close()
            rows = await conn.fetch(BY_NUMBER, params)
            again = await conn.fetch(BY_NUMBER, params)

            assert conn.pooled is None  # discarded, not handed back to the pool
        assert [tuple(r) for r in rows] == expected == [tuple(r) for r in again]
        async with hot_connection(engine) as conn:  # the pool serves working connections
            assert [tuple(r) for r in await conn.fetch(BY_NUMBER, params)] == expected
