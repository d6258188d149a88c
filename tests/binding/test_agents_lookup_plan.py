"""The holdings of a page of agents (``Lookup.agents``, every GET /agents page) are found from
the agents' ids, not by walking the workspace's agents.

Checked on a fresh SQLite database with no planner statistics (nothing runs ANALYZE in
production): there, an indexable ``agent.workspace_id = ?`` made SQLite walk the
(workspace_id, created_at, id) index — every agent of the workspace — for each UNION branch.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from trunkline.binding.holdings import Lookup, holdings_select
from trunkline.migrate import upgrade
from trunkline.models import Agent, Workspace


async def sqlite_plan(engine: AsyncEngine, stmt: Any, values: dict[str, Any]) -> list[str]:
    compiled = stmt.compile(dialect=engine.dialect)
    state = compiled.construct_expanded_state(values)
    params = []
    for name in state.positiontup or []:
        value = state.parameters[name]
        processor = state.processors.get(name) or compiled._bind_processors.get(name)
        params.append(processor(value) if processor else value)
    async with engine.connect() as conn:
        rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {state.statement}", tuple(params))
        return [row[3] for row in rows]


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncEngine:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    await upgrade(engine)
    return engine


async def test_a_page_of_agents_holdings_are_found_by_the_agents_ids(fresh: AsyncEngine) -> None:
    ws = uuid.uuid4()
    agents = [{"id": uuid.uuid4(), "workspace_id": ws, "name": f"a{i}"} for i in range(2_000)]
    async with fresh.begin() as conn:
        await conn.execute(insert(Workspace), [{"id": ws, "slug": "plans"}])
        await conn.execute(insert(Agent), agents)
        stats = await conn.execute(text("SELECT name FROM sqlite_master WHERE name='sqlite_stat1'"))
        assert stats.first() is None  # no statistics, as in production
    values = {"workspace_id": ws, "agent_ids": [a["id"] for a in agents[:50]]}
    try:
        lines = await sqlite_plan(fresh, holdings_select(Lookup.agents, None), values)
    finally:
        await fresh.dispose()
    agent_steps = [line for line in lines if " agent " in f"{line} "]
    assert agent_steps, "\n".join(lines)
    # Each branch finds its agents by primary key; none walks the workspace's agent index.
    assert all("sqlite_autoindex_agent_1 (id=?)" in line for line in agent_steps), "\n".join(lines)
