"""A call worker killed with SIGKILL mid-call: its lease expires, and the number's channel is
free again within the lease's lifetime (docs/calls.md §6). Nothing else is lost, and a lease
lifetime later the killed call ends as abandoned instead of showing live for ever."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.callworker.test_inbound import inbound_trunk, streaming_agent
from tests.support.api import Api
from tests.support.calls import Carrier, PipecatAgent
from tests.support.workers import WorkerProcess
from trunkline.call.leases import lease_service
from trunkline.config import Settings
from trunkline.db import session_scope
from trunkline.kit.clock import utcnow

pytestmark = pytest.mark.peer

LEASE_TTL_S = 6.0


@pytest.fixture
def crashing_worker(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(settings, tmp_path, lease_ttl_s=LEASE_TTL_S)
    worker.start()
    yield worker
    worker.stop()


async def test_killed_workers_lease_expires(
    call_api: Api,
    crashing_worker: WorkerProcess,
    carrier: Carrier,
    pipecat_agent: PipecatAgent,
    tmp_path: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    agent = await streaming_agent(call_api, pipecat_agent.url)
    number = await inbound_trunk(call_api, agent["agent_uuid"])
    uuid_ = (await call_api.get("/phone-numbers/channels", params={"number": number})).json()
    r = await call_api.patch(
        f"/phone-numbers/{uuid_['data']['phone_number_uuid']}",
        {"channel_settings": {"inbound": {"channel_limit": 1}}},
    )
    assert r.status_code == 200, r.text

    # a long call on the worker that is about to die
    doomed = Carrier(tmp_path / "doomed", ("127.0.0.1", crashing_worker.port))
    first = asyncio.create_task(doomed.call_pcap(number.lstrip("+")))
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        calls = (await call_api.get("/calls")).json()["data"]["items"]
        if calls and calls[0]["status"] == "in_progress":
            break
        assert asyncio.get_running_loop().time() < deadline, calls
        await asyncio.sleep(0.1)
    crashing_worker.kill()
    killed_at = time.monotonic()
    first.cancel()

    # the dead worker's lease still holds the only channel: the next call is refused...
    busy = await carrier.refused(number.lstrip("+"))
    if time.monotonic() - killed_at < LEASE_TTL_S - 0.5:
        assert busy.final() == (486, 'SIP ;cause=486 ;text="channel_limit_reached"')
    # ...until the lease expires: then a call gets through again
    await asyncio.sleep(max(0.0, killed_at + LEASE_TTL_S + 0.5 - time.monotonic()))
    result = await carrier.call_pcap(number.lstrip("+"))
    assert result.returncode == 0, result.log[-3000:]
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        done = (await call_api.get("/calls", params={"status": "completed"})).json()["data"]
        if done["pagination"]["total"] == 1 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    assert done["items"][0]["end_reason"] == "caller_hangup"
    # the killed call and the refused one are still on record
    statuses = sorted(c["status"] for c in (await call_api.get("/calls")).json()["data"]["items"])
    assert statuses[0] == "completed" and "rejected" in statuses and len(statuses) == 3

    # A lease lifetime later, a worker's heartbeat ends the killed call as abandoned (run here
    # with the killed worker's lifetime as the grace, rather than waiting for the live one's).
    async with session_scope(sessionmaker) as session:
        ended = await lease_service.end_abandoned(
            session, LEASE_TTL_S, now=utcnow() + timedelta(seconds=LEASE_TTL_S)
        )
    calls = (await call_api.get("/calls")).json()["data"]["items"]
    killed = [c for c in calls if c["end_reason"] == "error"]
    assert len(killed) == 1 and killed[0]["status"] == "completed", calls
    assert uuid.UUID(killed[0]["call_uuid"]) in ended
    events = (await call_api.get(f"/calls/{killed[0]['call_uuid']}/events")).json()["data"]
    assert [e["kind"] for e in events["items"]][-2:] == ["lease_expired", "ended"]
