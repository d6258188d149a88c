"""agent_tally: the exact total of GET /agents, kept by triggers whatever writes the rows."""

from __future__ import annotations

import uuid

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api
from tests.support.rows import workspace_id
from trunkline.models import Agent, AgentTally


async def tally_and_rows(sm: async_sessionmaker[AsyncSession], ws: uuid.UUID) -> tuple[int, int]:
    """(what the tally says, what counting the rows says)."""
    async with sm() as session:
        tallied = await session.scalar(
            select(func.coalesce(func.sum(AgentTally.n), 0)).where(AgentTally.workspace_id == ws)
        )
        counted = await session.scalar(
            select(func.count()).select_from(Agent).where(Agent.workspace_id == ws)
        )
    return int(tallied or 0), int(counted or 0)


class TestTheAgentTallyFollowsTheRows:
    async def test_through_creates_deletes_and_bulk_inserts(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        ws = await workspace_id(sessionmaker, api.slug)
        assert await tally_and_rows(sessionmaker, ws) == (0, 0)
        agents = [await api.agent(f"a{i}") for i in range(3)]
        assert await tally_and_rows(sessionmaker, ws) == (3, 3)
        bound = agents[0]["agent_uuid"]
        await api.trunk(bound)
        gone = await api.delete(f"/agents/{agents[1]['agent_uuid']}")
        forced = await api.delete(f"/agents/{bound}", params={"force": "true"})
        assert gone.status_code == 200 and forced.status_code == 200
        assert await tally_and_rows(sessionmaker, ws) == (1, 1)
        # Rows written without the app (a bulk load, another tool) are counted too.
        async with sessionmaker() as session, session.begin():
            await session.execute(
                insert(Agent), [{"workspace_id": ws, "name": f"bulk {i}"} for i in range(5)]
            )
        assert await tally_and_rows(sessionmaker, ws) == (6, 6)

    async def test_the_list_total_is_the_tally(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        for i in range(5):
            await api.agent(f"a{i}")
        ws = await workspace_id(sessionmaker, api.slug)
        # A full page cannot tell the total, so it comes from the tally, not from a count.
        async with sessionmaker() as session, session.begin():
            await session.execute(
                AgentTally.__table__.update()
                .where(AgentTally.workspace_id == ws)
                .values(n=AgentTally.n + 1000)
            )
        full = await api.get("/agents", params={"per_page": 2})
        assert full.status_code == 200
        assert full.json()["data"]["pagination"]["total"] > 1000
        # A partial page tells the total itself (total_from_page): no tally read.
        partial = await api.get("/agents", params={"per_page": 50})
        assert partial.json()["data"]["pagination"]["total"] == 5
        assert len(partial.json()["data"]["items"]) == 5
