"""Two call workers behind the shipped Kamailio dispatcher (deploy/kamailio/): the carrier sees
one address, a ``channel_limit`` of 1 holds across both workers (the lease rows, docs/calls.md
§6), the carrier's real address reaches the trust check through the proxy's
X-Trunkline-Source header — and only through a trusted proxy — and a killed worker leaves the
rotation once its OPTIONS probes go unanswered."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.callworker.test_inbound import call_events, inbound_trunk, streaming_agent
from tests.support.api import Api
from tests.support.calls import ROOT, STRANGER_IP, Carrier, PipecatAgent, SippResult
from tests.support.sip_fixtures import require_peer_binary
from tests.support.sip_peers import PEERS_DIR, KamailioPeer
from tests.support.workers import WorkerProcess
from trunkline.config import Settings
from trunkline.db import session_scope
from trunkline.models import Call

pytestmark = pytest.mark.peer

DEPLOY_CFG = ROOT / "deploy" / "kamailio" / "kamailio.cfg"
VIA_PROXY_XML = PEERS_DIR / "sipp_uac_via_proxy.xml"
SPOOFED_XML = PEERS_DIR / "sipp_uac_spoofed_source.xml"
# Loopback has every 127/8 address: the carrier, a stranger and the proxy each get their own,
# so the trust check can tell them apart.
CARRIER_IP = "127.0.0.2"
PROXY_IP = "127.0.0.1"
LIMIT_REFUSED = (486, 'SIP ;cause=486 ;text="channel_limit_reached"')
UNTRUSTED = (403, 'SIP ;cause=403 ;text="untrusted_source"')


@dataclass
class Dispatched:
    workers: list[WorkerProcess]
    kamailio: KamailioPeer

    @property
    def address(self) -> tuple[str, int]:
        return (PROXY_IP, self.kamailio.port)

    def worker_of(self, worker_id: str | None) -> int:
        """Which of ``workers`` a call's ``worker_id`` (host:pid:suffix) names."""
        assert worker_id is not None
        pid = int(worker_id.split(":")[1])
        pids = [w.proc.pid for w in self.workers if w.proc is not None]
        assert pid in pids, (worker_id, pids)
        return pids.index(pid)

    def dispatched_to(self) -> list[str]:
        """The worker each INVITE went to, in order (the proxy's TRUNKLINE-DS log lines)."""
        return re.findall(r"TRUNKLINE-DS INVITE callid=\S+ src=\S+ to=(\S+)", self.log())

    def log(self) -> str:
        return self.kamailio.log_text()


@contextmanager
def dispatching(settings: Settings, tmp_path: Path, ping_interval_s: int) -> Iterator[Dispatched]:
    """Two ``trunkline call-worker`` processes on the test database, trusting the proxy's
    address, and Kamailio with the shipped config (test ports) in front."""
    require_peer_binary("kamailio")
    trust = {"TRUNKLINE_SIP__TRUSTED_PROXIES": PROXY_IP}
    workers = [
        WorkerProcess(settings, tmp_path, rtp_ports=ports, env=trust)
        for ports in ("33200-33299", "33300-33399")
    ]
    kamailio: KamailioPeer | None = None
    try:
        for worker in workers:
            worker.launch()
        for worker in workers:
            worker.wait_ready()
        dslist = tmp_path / "dispatcher.list"
        dslist.write_text("".join(f"1 sip:127.0.0.1:{w.port} 0 0\n" for w in workers))
        (tmp_path / "kamailio").mkdir()
        kamailio = KamailioPeer(
            config=DEPLOY_CFG,
            ipv6=False,
            workdir=tmp_path / "kamailio",
            defines={
                "NO_CFG_LISTEN": "1",
                "DSLIST": f'"{dslist}"',
                "PING_INTERVAL": str(ping_interval_s),
                "PING_FAILS": "1",
                "FR_TIMER_MS": "1000",
            },
        )
        kamailio.start()
        yield Dispatched(workers, kamailio)
    finally:
        if kamailio is not None:
            kamailio.stop()
        for worker in workers:
            worker.stop()


@pytest.fixture
def dispatched(settings: Settings, tmp_path: Path) -> Iterator[Dispatched]:
    """Workers probed every second."""
    with dispatching(settings, tmp_path, ping_interval_s=1) as found:
        yield found


@pytest.fixture
def unprobed(settings: Settings, tmp_path: Path) -> Iterator[Dispatched]:
    """Workers whose first probe is a minute away: only failover can route around one."""
    with dispatching(settings, tmp_path, ping_interval_s=60) as found:
        yield found


async def number_with_limit_1(api: Api, agent_url: str) -> str:
    """A BYO number of the carrier at CARRIER_IP, one call at a time (``channel_limit`` 1)."""
    agent = await streaming_agent(api, agent_url)
    number = await inbound_trunk(api, agent["agent_uuid"], gateway=CARRIER_IP)
    found = (await api.get("/phone-numbers/channels", params={"number": number})).json()
    r = await api.patch(
        f"/phone-numbers/{found['data']['phone_number_uuid']}",
        {"channel_settings": {"voice": {"channel_limit": 1}}},
    )
    assert r.status_code == 200, r.text
    return number


async def call_through(carrier: Carrier, number: str, hold_ms: int) -> SippResult:
    """A whole call through the proxy (its Record-Route honoured), hung up after ``hold_ms``."""
    return await carrier.run(["-sf", str(VIA_PROXY_XML)], number, ["-d", str(hold_ms)])


async def calls_of(
    sessionmaker: async_sessionmaker[AsyncSession], number: str, statuses: list[str]
) -> list[dict[str, Any]]:
    """Every call to ``number`` with the worker that carried it (not in the API), oldest first,
    once their statuses are ``statuses`` (a worker process writes a call's end just after the
    BYE is answered)."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        async with session_scope(sessionmaker) as session:
            # refusals before a route is chosen keep the number as dialled (no "+")
            dialled = Call.to_number.in_([number, number.lstrip("+")])
            rows = (await session.scalars(select(Call).where(dialled))).all()
            found = sorted(
                (
                    {"status": r.status, "worker_id": r.worker_id, "created_at": r.created_at}
                    for r in rows
                ),
                key=lambda c: c["created_at"],
            )
        if [c["status"] for c in found] == statuses:
            return found
        assert asyncio.get_running_loop().time() < deadline, found
        await asyncio.sleep(0.1)


async def wait_in_progress(api: Api, timeout_s: float = 15.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        items = (await api.get("/calls")).json()["data"]["items"]
        if items and items[0]["status"] == "in_progress":
            return dict(items[0])
        assert asyncio.get_running_loop().time() < deadline, items
        await asyncio.sleep(0.1)


class TestChannelLimitAcrossWorkers:
    async def test_one_channel_holds_across_two_workers(
        self,
        call_api: Api,
        dispatched: Dispatched,
        pipecat_agent: PipecatAgent,
        sessionmaker: async_sessionmaker[AsyncSession],
        tmp_path: Path,
    ) -> None:
        number = await number_with_limit_1(call_api, pipecat_agent.url)
        carrier = Carrier(tmp_path / "carrier", dispatched.address, local_ip=CARRIER_IP)

        first = asyncio.create_task(call_through(carrier, number.lstrip("+"), 6000))
        live = await wait_in_progress(call_api)
        # Round-robin: of two INVITEs in a row one goes to the worker that does not carry the
        # live call, so the refusal below is decided by a lease another process holds.
        refusals = [await carrier.refused(number.lstrip("+")) for _ in range(2)]
        assert [r.final() for r in refusals] == [LIMIT_REFUSED, LIMIT_REFUSED]

        result = await first
        assert result.returncode == 0, result.log[-3000:]
        rows = await calls_of(sessionmaker, number, ["completed", "rejected", "rejected"])
        carried_by = dispatched.worker_of(rows[0]["worker_id"])
        refused_by = {dispatched.worker_of(r["worker_id"]) for r in rows[1:]}
        assert refused_by == {0, 1}, (carried_by, refused_by)
        # the carrier's own address passed the trust check, not the proxy's
        events = await call_events(call_api, live["call_uuid"])
        trust = [e for e in events if e["detail"].get("check") == "trusted_source"]
        assert trust and f"{CARRIER_IP} is a known gateway" in str(trust[0]["detail"]), events

        # the channel is free again: the next call is accepted, on either worker
        again = await call_through(carrier, number.lstrip("+"), 300)
        assert again.returncode == 0, again.log[-3000:]
        done = await settle_count(call_api, "completed", 2)
        assert all(c["end_reason"] == "caller_hangup" for c in done)
        assert len(dispatched.dispatched_to()) == 4


async def settle_count(
    api: Api, status: str, count: int, timeout_s: float = 10.0
) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        items = (await api.get("/calls", params={"status": status})).json()["data"]["items"]
        if len(items) >= count or asyncio.get_running_loop().time() > deadline:
            assert len(items) == count, items
            return list(items)
        await asyncio.sleep(0.1)


class TestSourceHeader:
    async def test_spoofed_header_is_ignored(
        self,
        call_api: Api,
        dispatched: Dispatched,
        pipecat_agent: PipecatAgent,
        tmp_path: Path,
    ) -> None:
        """A stranger claiming the carrier's address in the header itself is refused, whether
        it calls a worker directly (not a trusted proxy) or through the proxy (which replaces
        the header with the stranger's real address)."""
        number = await number_with_limit_1(call_api, pipecat_agent.url)
        keys = ["-key", "spoofed_source", f"{CARRIER_IP}:5060", "-key", "codec", "8"]
        keys += ["-key", "codec_name", "PCMA"]
        for target in (dispatched.workers[0].address, dispatched.address):
            stranger = Carrier(tmp_path / f"stranger-{target[1]}", target, local_ip=STRANGER_IP)
            result = await stranger.run(["-sf", str(SPOOFED_XML)], number.lstrip("+"), keys)
            assert result.final() == UNTRUSTED, result.messages[-3000:]

        # the carrier itself, through the proxy, is trusted
        carrier = Carrier(tmp_path / "carrier", dispatched.address, local_ip=CARRIER_IP)
        result = await call_through(carrier, number.lstrip("+"), 300)
        assert result.returncode == 0, result.log[-3000:]
        await settle_count(call_api, "completed", 1)
        rejected = await settle_count(call_api, "rejected", 0)
        assert rejected == []  # untrusted refusals belong to no workspace


class TestProbing:
    async def test_killed_worker_leaves_the_rotation(
        self,
        call_api: Api,
        dispatched: Dispatched,
        pipecat_agent: PipecatAgent,
        tmp_path: Path,
    ) -> None:
        number = await number_with_limit_1(call_api, pipecat_agent.url)
        carrier = Carrier(tmp_path / "carrier", dispatched.address, local_ip=CARRIER_IP)
        alive, doomed = dispatched.workers
        doomed.kill()
        down = f"TRUNKLINE-DS down sip:127.0.0.1:{doomed.port}"
        deadline = time.monotonic() + 15
        while down not in dispatched.log():
            assert time.monotonic() < deadline, dispatched.log()[-3000:]
            await asyncio.sleep(0.2)
        before = len(dispatched.dispatched_to())

        for _ in range(3):
            result = await call_through(carrier, number.lstrip("+"), 200)
            assert result.returncode == 0, result.log[-3000:]
            await settle_count(call_api, "completed", _ + 1)

        # every INVITE after the probe failed went straight to the live worker: no failover
        assert dispatched.dispatched_to()[before:] == [f"sip:127.0.0.1:{alive.port}"] * 3
        assert "failover" not in dispatched.log().split(down, 1)[1]

    async def test_a_dead_worker_fails_over_before_any_probe(
        self,
        call_api: Api,
        unprobed: Dispatched,
        pipecat_agent: PipecatAgent,
        tmp_path: Path,
    ) -> None:
        """A worker that does not answer an INVITE within FR_TIMER_MS is marked down and the
        INVITE goes to the next worker: the carrier never notices."""
        number = await number_with_limit_1(call_api, pipecat_agent.url)
        carrier = Carrier(tmp_path / "carrier", unprobed.address, local_ip=CARRIER_IP)
        alive, doomed = unprobed.workers
        doomed.kill()

        for n in range(2):  # round-robin: one of the two INVITEs is sent to the dead worker
            result = await call_through(carrier, number.lstrip("+"), 200)
            assert result.returncode == 0, result.log[-3000:]
            await settle_count(call_api, "completed", n + 1)

        dead, live = f"sip:127.0.0.1:{doomed.port}", f"sip:127.0.0.1:{alive.port}"
        assert "failover callid=" in unprobed.log() and f"from={dead}" in unprobed.log()
        assert unprobed.dispatched_to().count(dead) == 1  # then it was out of the rotation
        assert unprobed.dispatched_to().count(live) == 2
