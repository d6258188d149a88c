"""More concurrent requests than pooled connections: every one is answered, none deadlocks.

On SQLite a session queues for the in-process write gate before its first write. A session that
reached the gate before it held a connection used to wait for the pool while every pooled
connection belonged to a session that had read first and now queued at the gate behind it: no
request moved until the pool timeout failed one with a 500.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api
from tests.support.server import serving
from trunkline.config import Settings
from trunkline.db import session_scope
from trunkline.models import Agent
from trunkline.workspace.service import workspace_service

N = 12


async def test_readers_then_writers_and_plain_writers_beyond_the_pool(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Two pooled connections in all, and a pool wait short enough to fail the test, not hang it.
    db = settings.db.model_copy(update={"pool_size": 1, "pool_timeout_s": 5.0})
    small = settings.model_copy(update={"db": db})
    slug = f"pool-{uuid.uuid4().hex[:8]}"
    async with session_scope(sessionmaker) as session:
        issued = await workspace_service.create_token(session, slug)
    async with serving(small) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        api = Api(http, issued.token, slug)
        agents = [await api.agent(f"A{i}") for i in range(N)]

        responses = await asyncio.gather(
            # Read, then write: each holds a connection before it reaches the gate.
            *(
                api.patch(f"/agents/{a['agent_uuid']}", {"name": f"renamed {i}"})
                for i, a in enumerate(agents)
            ),
            # Write first: each reaches the gate before it reads anything.
            *(api.post("/agents", {"name": f"B{i}"}) for i in range(N)),
        )

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: N, 201: N}, [r.text for r in responses if r.status_code >= 300]
    async with sessionmaker() as session:
        names = set(
            await session.scalars(
                select(Agent.name).where(Agent.workspace_id == issued.workspace_id)
            )
        )
        total = await session.scalar(
            select(func.count()).select_from(Agent).where(Agent.workspace_id == issued.workspace_id)
        )
    assert total == 2 * N
    assert {f"renamed {i}" for i in range(N)} | {f"B{i}" for i in range(N)} == names
