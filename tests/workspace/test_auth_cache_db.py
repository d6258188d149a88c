"""The token cache against the real server and database: a warm token is read from the database
at most once per TTL, and a flood of wrong tokens neither grows the cache nor evicts the warm
ones (nor is ever accepted)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.support.api import Api
from trunkline.workspace.service import AUTH_CACHE_TTL_S, hash_token, workspace_service


@pytest.fixture
def token_reads() -> Iterator[list[float]]:
    """When each statement that reads a token by its hash ran (every engine of the process:
    the server's is built in its lifespan)."""
    reads: list[float] = []

    def record(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if "FROM api_token" in statement and "token_hash" in statement:
            reads.append(time.monotonic())

    event.listen(Engine, "before_cursor_execute", record)
    yield reads
    event.remove(Engine, "before_cursor_execute", record)


async def test_a_warm_token_is_read_at_most_once_per_ttl(
    api: Api, token_reads: list[float]
) -> None:
    answered = 0
    deadline = time.monotonic() + 3 * AUTH_CACHE_TTL_S
    while time.monotonic() < deadline:
        assert (await api.get("/agents")).status_code == 200
        answered += 1
    gaps = [later - earlier for earlier, later in itertools.pairwise(token_reads)]

    assert answered > len(token_reads) >= 1  # most requests were answered from the cache
    assert all(gap >= AUTH_CACHE_TTL_S for gap in gaps), gaps


async def test_a_flood_of_wrong_tokens_neither_grows_nor_evicts_the_cache(
    api: Api, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = workspace_service.auth_cache
    # Entries made now outlive the flood, so only an eviction could take the warm one away
    # (and are forgotten when the test ends: no later test may meet a 60 s entry).
    monkeypatch.setattr(cache, "ttl_s", 60.0)
    monkeypatch.setattr(cache, "_entries", {})
    monkeypatch.setattr(cache, "_currencies", {})
    assert (await api.get("/agents")).status_code == 200  # warm
    before = len(cache._entries)

    async def wrong(i: int) -> int:
        headers = {"Authorization": f"Bearer tl_wrong{i:040d}"}
        return (await http.get("/api/v1/agents", headers=headers)).status_code

    statuses: list[int] = []
    for start in range(0, 200, 10):  # 10 at a time: the pool, not the cache, is not under test
        statuses += await asyncio.gather(*(wrong(i) for i in range(start, start + 10)))

    assert set(statuses) == {401}, statuses
    assert len(cache._entries) <= before
    assert cache.get(hash_token(api.token)) is not None  # the warm token was not evicted
    assert all(cache.get(hash_token(f"tl_wrong{i:040d}")) is None for i in range(200))
