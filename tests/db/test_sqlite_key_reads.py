"""On SQLite, the requests that only look rows up by key never wait for the driver's worker
thread: their statements are key reads (db.key_read), run on the event loop's
thread, and a request that only read commits without a trip. Pages and counts, which may scan,
stay on the worker so they never hold up the loop.

The app runs on its own SQLite database here, whatever the suite's backend: this is a property
of the SQLite driver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.api import Api, unique_us_number
from tests.support.server import serving
from trunkline.binding.holdings import Lookup
from trunkline.binding.repository import _for_number_stmt
from trunkline.binding.rules import Channel
from trunkline.config import Settings
from trunkline.db import create_engine, create_sessionmaker, session_scope
from trunkline.db.sqlite_driver import KEY_READ
from trunkline.kit.crypto import generate_key
from trunkline.migrate import upgrade
from trunkline.workspace.service import workspace_service


@pytest.fixture
async def sqlite_api(tmp_path: Path) -> AsyncIterator[Api]:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'key_reads.db'}",
        encryption_keys=generate_key(),
        monitor={"enabled": False},
        # No call worker: its heartbeat's trips would land in the counts, and its SIP edge
        # would take the well-known 5060 another run on this machine may hold.
        calls={"enabled": False},
        _env_file=None,
    )
    engine = create_engine(settings)
    try:
        await upgrade(engine)
        async with session_scope(create_sessionmaker(engine)) as session:
            issued = await workspace_service.create_token(session, "key-reads")
    finally:
        await engine.dispose()
    async with serving(settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield Api(http, issued.token, "key-reads")


async def test_snapshot_and_number_reads_make_no_worker_trip(
    sqlite_api: Api, worker_trips: list[Any]
) -> None:
    agent = await sqlite_api.agent("Key reader")
    number = unique_us_number()
    trunk = await sqlite_api.trunk(agent["agent_uuid"], number)
    phone_number_uuid = trunk["phone_number_uuid"]
    assert worker_trips, "the registration's writes and commit go to the worker"

    workspace_service.auth_cache.clear()  # so the token lookup runs (and is counted) too
    worker_trips.clear()
    by_number = await sqlite_api.get("/phone-numbers/channels", params={"number": number})
    by_uuid = await sqlite_api.get(f"/phone-numbers/{phone_number_uuid}/channels")
    missing = await sqlite_api.get("/phone-numbers/channels", params={"number": "+14155550100"})
    assert worker_trips == []

    assert by_number.status_code == 200, by_number.text
    assert by_number.json()["data"] == by_uuid.json()["data"]
    snapshot = by_number.json()["data"]
    assert snapshot["phone_number_uuid"] == phone_number_uuid
    assert snapshot["channels"]["call"]["agent_uuid"] == agent["agent_uuid"]
    assert missing.status_code == 404


async def test_a_page_of_the_inventory_stays_on_the_worker(
    sqlite_api: Api, worker_trips: list[Any]
) -> None:
    agent = await sqlite_api.agent("Pager")
    await sqlite_api.trunk(agent["agent_uuid"])
    worker_trips.clear()
    page = await sqlite_api.get("/phone-numbers/trunks", params={"page": 1, "per_page": 10})
    assert page.status_code == 200, page.text
    assert len(page.json()["data"]["items"]) == 1
    assert worker_trips, "a page may scan: it must not run on the loop's thread"


def test_the_verbatim_number_holdings_read_is_not_a_key_read() -> None:
    """A number that is not E.164 matches connections stored verbatim, found by walking the
    workspace's unparsed connections: that read may grow, so it stays on the worker."""
    for channel in (None, *Channel):
        e164 = _for_number_stmt(Lookup.number, channel).get_execution_options()
        verbatim = _for_number_stmt(Lookup.verbatim, channel).get_execution_options()
        assert e164.get(KEY_READ) is True
        assert KEY_READ not in verbatim
