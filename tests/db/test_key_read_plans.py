"""Every statement marked as a key read (``trunkline.db.key_read``) reads through an index.

The mark sends a statement to SQLite's event-loop thread, where a scan would hold up every other
request; so the mark is checked, not trusted: each marked statement's plan is asked of the
suite's database (SQLite: ``EXPLAIN QUERY PLAN``, failing on a ``SCAN`` of a table; PostgreSQL:
``EXPLAIN`` with ``enable_seqscan`` off, failing on a ``Seq Scan``: with sequential scans priced
out, a Seq Scan left in the plan means no index can serve the statement). The planners decide
with statistics of a realistic shape: one workspace holds thousands of numbers and agents
(``ANALYZE`` after seeding), so a plan that walks a workspace's rows to find one is not the
cheap choice it is on empty tables.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Executable, bindparam, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

import trunkline
from tests.db.seed import call_trunks, external_numbers
from trunkline.binding.routes import _routes_stmt
from trunkline.call import repository as call_repo
from trunkline.config import Settings
from trunkline.db import key_read
from trunkline.db.statements import KEY_READS
from trunkline.keys import load_secret_box
from trunkline.kit.clock import utcnow
from trunkline.kit.crypto import aad_for
from trunkline.models import (
    Agent,
    PbxConnector,
    PhoneNumber,
    SipConnection,
    SipConnectionAssignment,
    Trunk,
    Workspace,
)

# Importing every module marks every key read (they are marked at import).
for _module in pkgutil.walk_packages(trunkline.__path__, "trunkline."):
    if ".migrations." not in _module.name and not _module.name.endswith("__main__"):
        importlib.import_module(_module.name)

SEEDED = 3_000
BIG_WORKSPACE = uuid.uuid4()

# Values for the named parameters key reads use; any other bound value is a literal already set.
VALUES: dict[str, Any] = {
    "workspace_id": BIG_WORKSPACE,
    "phone_number_id": uuid.uuid4(),
    "agent_id": uuid.uuid4(),
    "call_id": uuid.uuid4(),
    "line_ids": [uuid.uuid4(), uuid.uuid4()],
    "now": utcnow(),
    "numbers": ["+14155550100", "+4414155550100"],
    "names": ["10.0.0.1"],
    "number": "+14155550100",
    "channel": "call",
    "token_hash": "0" * 64,
}

# A table scan: "SCAN phone_number", "SCAN t USING COVERING INDEX ix" (every entry of an index);
# not a search ("SEARCH t USING INDEX ix (a=?)") nor the scan of a UNION's own result rows.
_SQLITE_SCAN = re.compile(r"^SCAN (?!CONSTANT ROW)(?!\(subquery)")


@pytest.fixture(scope="module")
async def analyzed(engine: AsyncEngine, settings: Settings) -> AsyncEngine:
    """The suite's database with one big workspace, its statistics up to date."""
    now = utcnow()
    # Real sealed secrets: `trunkline keys rotate` (tests/cli) re-seals every secret of the
    # database, these included.
    box = load_secret_box(settings)
    numbers = external_numbers(BIG_WORKSPACE, 7_000_000, SEEDED, now)
    agents = [
        {"id": uuid.uuid4(), "workspace_id": BIG_WORKSPACE, "name": f"a{i}", "status": "active"}
        for i in range(SEEDED)
    ]
    # Each number's call trunk, from one of many carriers' gateways (the inbound trust check
    # looks a gateway up across every trunk).
    trunks = call_trunks(numbers, lambda i: f"10.9.{i // 200}.{i % 200}", now)
    # PBX extension connectors of many PBXes (the inbound read finds a dialled number's
    # connectors across workspaces by number). IP literals, as the trunks: the call worker
    # resolves every gateway name it knows. Without them the statistics would say whatever
    # the tests before this module left in the table (a dozen rows: scanning them is the
    # cheaper plan), so this module's verdict would depend on the order it runs in. Never due
    # for a check: the monitor tests that run later must not meet them.
    connectors = [
        {
            "id": (connector_id := uuid.uuid4()),
            "workspace_id": BIG_WORKSPACE,
            "agent_id": agent["id"],
            "name": f"x{i}",
            "phone_number": f"+1628{7_000_000 + i}",
            "registrar_server": f"10.7.{i // 200}.{i % 200}",
            "port": 5060,
            "username_extension": f"{1000 + i}",
            "pbx_password_secret": box.encrypt(
                "pbx", aad_for("pbx_connector", "pbx_password_secret", connector_id)
            ),
            "normalizer": {},
            "next_check_at": now + timedelta(days=3650),
            "created_at": now,
            "updated_at": now,
        }
        for i, agent in enumerate(agents)
    ]
    # SIP trunk connections (one per provider account), each assigned to an agent: the same
    # reason as the connectors (the holdings reads join the assignments).
    connections = [
        {
            "id": (connection_id := uuid.uuid4()),
            "workspace_id": BIG_WORKSPACE,
            "name": f"c{i}",
            "phone_number": f"+1737{7_000_000 + i}",
            "phone_number_e164": f"+1737{7_000_000 + i}",
            "gateway": f"10.6.{i // 200}.{i % 200}",
            "username_secret": box.encrypt(
                "u", aad_for("sip_connection", "username_secret", connection_id)
            ),
            "password_secret": box.encrypt(
                "p", aad_for("sip_connection", "password_secret", connection_id)
            ),
            "next_check_at": now + timedelta(days=3650),
            "created_at": now,
            "updated_at": now,
        }
        for i in range(SEEDED // 10)
    ]
    assignments = [
        {
            "id": uuid.uuid4(),
            "workspace_id": BIG_WORKSPACE,
            "connection_id": connection["id"],
            "agent_id": agent["id"],
            "created_at": now,
        }
        for connection, agent in zip(connections, agents, strict=False)
    ]
    async with engine.begin() as conn:
        # Many tenants besides the big one, as on a shared install (the suite alone may have
        # made only a few: scanning those would be the cheaper plan to join a token to).
        await conn.execute(
            insert(Workspace),
            [{"id": BIG_WORKSPACE, "slug": f"plans-{BIG_WORKSPACE.hex[:12]}"}]
            + [{"id": (w := uuid.uuid4()), "slug": f"plans-{w.hex[:12]}"} for _ in range(999)],
        )
        await conn.execute(insert(PhoneNumber), numbers)
        await conn.execute(insert(Agent), agents)
        await conn.execute(insert(Trunk), trunks)
        await conn.execute(insert(PbxConnector), connectors)
        await conn.execute(insert(SipConnection), connections)
        await conn.execute(insert(SipConnectionAssignment), assignments)
        await conn.execute(text("ANALYZE"))
    return engine


def _explainable(engine: AsyncEngine, stmt: Executable) -> tuple[str, tuple[Any, ...]]:
    """The statement's SQL for this dialect and its positional parameters, bind-processed
    (expanding ``IN`` lists expanded with the values above)."""
    compiled = stmt.compile(dialect=engine.dialect)
    state = compiled.construct_expanded_state(
        {k: v for k, v in VALUES.items() if k in compiled.binds}
    )
    ordered = []
    for name in state.positiontup or []:
        value = state.parameters[name]
        processor = state.processors.get(name) or compiled._bind_processors.get(name)
        ordered.append(processor(value) if processor else value)
    return state.statement, tuple(ordered)


async def plan(engine: AsyncEngine, stmt: Executable) -> list[str]:
    sql, params = _explainable(engine, stmt)
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            rows = await conn.exec_driver_sql(f"EXPLAIN {sql}", params)
            return [row[0] for row in rows]
        rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
        return [row[3] for row in rows]


def scans(engine: AsyncEngine, lines: list[str]) -> list[str]:
    if engine.dialect.name == "postgresql":
        return [line for line in lines if "Seq Scan" in line]
    return [line for line in lines if _SQLITE_SCAN.match(line.strip())]


def _label(stmt: Executable) -> str:
    return " ".join(str(stmt).split())[:120]


def test_the_key_reads_are_known() -> None:
    # The token lookup, a number by id and by E.164, and a number's holdings on each channel
    # (and on all of them): a key read added or lost should be a decision, not an accident.
    assert len(KEY_READS) >= 7


@pytest.mark.parametrize("stmt", KEY_READS, ids=[_label(s) for s in KEY_READS])
async def test_a_key_read_never_scans(analyzed: AsyncEngine, stmt: Executable) -> None:
    lines = await plan(analyzed, stmt)
    assert lines, "no plan came back"
    assert scans(analyzed, lines) == [], "\n".join(lines)


async def test_the_check_catches_a_scan(analyzed: AsyncEngine) -> None:
    """A read with no index to use (``location`` has none) is flagged: the check means it."""
    unindexed = key_read(select(PhoneNumber).where(PhoneNumber.location == bindparam("number")))
    KEY_READS.remove(unindexed)  # a probe of the check, not a statement of the app
    lines = await plan(analyzed, unindexed)
    assert scans(analyzed, lines), "\n".join(lines)


async def test_the_inbound_facts_read_never_scans(analyzed: AsyncEngine) -> None:
    """Every INVITE's one read (binding/routes.py) finds its call sources and the gateway
    marker through indexes, across workspaces: with the number indexed only after the
    workspace and the gateways not at all, each INVITE scanned every binding and trunk. Not
    checked: a national form's suffix search (it reads the numbers of the caller's gateway) and
    an INVITE sent to a registration's contact (its OR over the trunk row still scans), and SIP
    connections: one per provider account, not per number (an index on their number across
    workspaces turned the holdings key reads' plans into scans of the assignments)."""
    lines = await plan(analyzed, _routes_stmt(False, False, False))
    assert lines, "no plan came back"
    per_number = [line for line in scans(analyzed, lines) if "sip_connection" not in line]
    assert per_number == [], "\n".join(lines)


@pytest.mark.parametrize(
    "stmt",
    [
        call_repo.abandoned_calls_stmt(datetime(2026, 12, 1, tzinfo=UTC), 100),
        call_repo.queued_outbound_stmt(datetime(2026, 12, 1, tzinfo=UTC), 20),
    ],
    ids=["abandoned calls", "queued outbound calls"],
)
async def test_the_heartbeat_reads_walk_live_calls_only(
    analyzed: AsyncEngine, stmt: Executable
) -> None:
    """Every call worker's heartbeat asks for live calls (to end abandoned ones, to claim queued
    ones): through the partial ``ix_call_live`` index, never a walk of every call ever made."""
    lines = await plan(analyzed, stmt)
    assert lines, "no plan came back"
    assert scans(analyzed, [line for line in lines if "ix_call_live" not in line]) == [], "\n".join(
        lines
    )
    assert any("ix_call_live" in line for line in lines), "\n".join(lines)
