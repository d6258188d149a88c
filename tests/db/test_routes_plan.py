"""The inbound facts read (binding/routes.py) keeps its index plans once PostgreSQL switches
the prepared statement to a generic plan.

asyncpg prepares every statement once per connection and reuses it; after five executions
PostgreSQL plans it without looking at the parameters (a "generic plan") when that plan is not
dearer on average. With one carrier's gateway holding nearly every trunk, the generic estimate
of "the caller is one of these gateways" is "nearly every trunk": the gateway check of an
INVITE from a caller that is nobody's gateway (a SIP scanner) became a sequential scan of
``trunk`` — 21-27 ms of database time per INVITE at 100,000 trunks (bench/README.md, third and
fourth sessions). These tests run the statement as the call worker does on the skewed data:
it is one prepared statement for every INVITE whatever the lengths of its lists (so PostgreSQL
may switch it to a generic plan), and neither plan it may pick, asked for with
``plan_cache_mode = force_generic_plan`` and ``force_custom_plan``, scans a per-number table.
(Whether PostgreSQL does switch depends on its statistics of the whole database, so the tests
do not rely on it: they hold both plans to the rule.)

Runs on the PostgreSQL of TRUNKLINE_TEST_DATABASE_URL, and on a private PostgreSQL cluster
(tests/support/private_pg.py) when the suite runs on SQLite: never skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import delete, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.db.seed import call_trunks, external_numbers
from tests.support.private_pg import PrivateCluster, require_postgres_binaries
from trunkline.binding.routes import _routes_stmt, call_sources
from trunkline.config import Settings
from trunkline.db import create_engine, create_sessionmaker, session_scope
from trunkline.kit.clock import utcnow
from trunkline.migrate import upgrade
from trunkline.models import PhoneNumber, Trunk, Workspace

TRUNKS = 3_000
CARRIER = "10.99.0.1"  # the one gateway of every trunk (one carrier: the bench's shape)
SCANNER = "10.99.0.200"  # nobody's gateway
WORKSPACE = uuid.uuid4()


def on(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"db": settings.db.model_copy(update={"url": url})})


@pytest.fixture(scope="module")
async def pg(settings: Settings, backend: str, engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The suite's PostgreSQL (or a private cluster on a SQLite suite), holding one workspace
    whose call trunks all share one carrier gateway, its statistics up to date; the
    rows go again at the end (and the statistics with them)."""
    cluster = None
    if backend == "postgresql":
        url = settings.database_url_resolved
    else:
        cluster = PrivateCluster(require_postgres_binaries())
        await cluster.init()
        await cluster.start()
        url = cluster.url
    pg_engine = create_engine(on(settings, url))
    try:
        if cluster is not None:
            await upgrade(pg_engine)
        await _seed(pg_engine)
        yield pg_engine
        async with pg_engine.begin() as conn:  # cascades to the numbers and trunks
            await conn.execute(delete(Workspace).where(Workspace.id == WORKSPACE))
            await conn.execute(text("ANALYZE"))
    finally:
        await pg_engine.dispose()
        if cluster is not None:
            await cluster.cleanup()


async def _seed(engine: AsyncEngine) -> None:
    now = utcnow()
    numbers = external_numbers(WORKSPACE, 8_000_000, TRUNKS, now)
    trunks = call_trunks(numbers, lambda i: CARRIER, now)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Workspace), [{"id": WORKSPACE, "slug": f"plan-{WORKSPACE.hex[:12]}"}]
        )
        await conn.execute(insert(PhoneNumber), numbers)
        await conn.execute(insert(Trunk), trunks)
        await conn.execute(text("ANALYZE"))


def _literal(value: Any) -> str:
    """A bound value as a PostgreSQL literal (the test's own values only)."""
    if value is None:
        return "NULL"
    if isinstance(value, list):
        return "ARRAY[" + ", ".join(_literal(v) for v in value) + "]::varchar[]"
    return "'" + str(value).replace("'", "''") + "'"


async def _plan(engine: AsyncEngine, mode: str, params: dict[str, Any]) -> list[str]:
    """The plan PostgreSQL runs the prepared statement with under ``plan_cache_mode = mode``."""
    compiled = _routes_stmt(False, False, False).compile(dialect=engine.dialect)
    state = compiled.construct_expanded_state(params)  # the SQL asyncpg prepares
    values = state.parameters
    args = ", ".join(_literal(values[name]) for name in state.positiontup or [])
    async with engine.connect() as conn:
        await conn.exec_driver_sql(f"SET plan_cache_mode = {mode}")
        await conn.exec_driver_sql(f"PREPARE inbound_facts AS {state.statement}")
        rows = await conn.exec_driver_sql(f"EXPLAIN EXECUTE inbound_facts({args})")
        plan = [str(row[0]) for row in rows]
        await conn.exec_driver_sql("DEALLOCATE inbound_facts")
        await conn.exec_driver_sql("RESET plan_cache_mode")
    return plan


async def test_every_invite_runs_one_prepared_statement(pg: AsyncEngine) -> None:
    """As asyncpg runs it, the read is one prepared statement for INVITEs with lists of any
    length (PostgreSQL's arrays, not one statement per length), executed again and again: after
    five executions PostgreSQL may plan it generically, so both plans must keep the indexes."""
    sessions = create_sessionmaker(pg)
    async with session_scope(sessions) as session:
        for i in range(8):
            numbers = [f"+1312555{i:02d}{k:02d}" for k in range(1 + i % 3)]
            names = [SCANNER, f"10.99.1.{i}"][: 1 + i % 2]
            sources = await call_sources(session, numbers=numbers, names=names)
            assert sources.routes == [] and not sources.names_are_gateways
        carrier = await call_sources(session, numbers=["+14158000001"], names=[CARRIER])
        assert carrier.names_are_gateways and len(carrier.routes) == 0  # no binding seeded
        rows = await session.execute(
            text(
                "SELECT generic_plans + custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%route_trunk%' "
                "AND statement NOT LIKE '%pg_prepared_statements%'"  # this query's own text
            )
        )
        executions = [row[0] for row in rows]
    assert executions == [9], executions


@pytest.mark.parametrize("mode", ["force_generic_plan", "force_custom_plan"])
@pytest.mark.parametrize("caller", [SCANNER, CARRIER], ids=["scanner", "carrier"])
async def test_neither_plan_scans_the_trunks(pg: AsyncEngine, caller: str, mode: str) -> None:
    plan = await _plan(pg, mode, {"numbers": ["+13125550100"], "names": [caller]})
    assert plan, "no plan came back"
    scans = [
        line for line in plan if "Seq Scan" in line and ("trunk" in line or "phone_number" in line)
    ]
    assert scans == [], "\n".join(plan)
