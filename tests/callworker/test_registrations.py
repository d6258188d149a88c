"""Calls that reach Trunkline through registrations it holds: Kamailio as the provider's (or
PBX's) registrar and proxy. Trunkline registers with the SIP edge as its Contact; Kamailio
routes a call for the registered user to that contact (``lookup("location")`` + ``t_relay()``)
and the call reaches the agent (docs/calls.md §4, check 1)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.callworker.test_inbound import settle, streaming_agent
from tests.support.api import Api, unique_us_number
from tests.support.calls import CallServer, Carrier, PipecatAgent
from tests.support.sip_fixtures import require_peer_binary
from tests.support.sip_peers import KamailioPeer
from trunkline.db import session_scope
from trunkline.kit.sip_status import TargetKind
from trunkline.models import PbxConnector

pytestmark = pytest.mark.peer

# Users of their own: the monitor's tests register the shared registrar's users elsewhere.
USERS = {"calls-conn": "conn-pw-3", "calls-pbx": "pbx-pw-4"}


@pytest.fixture(scope="module")
def registrar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KamailioPeer]:
    """Kamailio as the provider's (and the PBX's) registrar and proxy."""
    require_peer_binary("kamailio")
    workdir = tmp_path_factory.mktemp("registrar")
    with KamailioPeer(algo="MD5", users=USERS, ipv6=False, workdir=workdir) as peer:
        yield peer


def kamailio_address(kam: KamailioPeer) -> tuple[str, int]:
    target = kam.target("udp")
    assert target.port is not None
    return target.host, target.port


async def answered_through(
    api: Api, kam: KamailioPeer, user: str, tmp_path: Path, agent: PipecatAgent
) -> dict[str, Any]:
    """SIPp calls ``user`` at Kamailio, which relays to the contact Trunkline registered."""
    caller = Carrier(tmp_path / f"via-kamailio-{user}", kamailio_address(kam))
    result = await caller.call_pcap(user)
    assert result.returncode == 0, result.log[-3000:]
    return await settle(api, lambda c: c["status"] == "completed")


class TestThroughRegistrations:
    async def test_connection_registration(
        self,
        call_api: Api,
        call_server: CallServer,
        registrar: KamailioPeer,
        pipecat_agent: PipecatAgent,
        tmp_path: Path,
    ) -> None:
        agent = await streaming_agent(call_api, pipecat_agent.url)
        host, port = kamailio_address(registrar)
        r = await call_api.post(
            "/channels/sip-trunk/connections",
            {
                "name": "provider",
                "phone_number": unique_us_number(),
                "gateway": host,
                "port": port,
                "username": "calls-conn",
                "password": USERS["calls-conn"],
            },
        )
        assert r.status_code == 201, r.text
        connection = r.json()["data"]["uuid"]
        r = await call_api.post(
            f"/agents/{agent['agent_uuid']}/channels/call/sip-trunk",
            {"connection_uuid": connection},
        )
        assert r.status_code == 200, r.text
        check = await call_api.post(f"/channels/sip-trunk/connections/{connection}/check")
        assert check.json()["data"]["status"] == "active", check.text
        register = next(
            t["text"] for t in check.json()["data"]["trace"] if t["text"].startswith("REGISTER")
        )
        edge_host, edge_port = call_server.sip
        # the edge is the Contact (its user, tl-<connection>, is redacted in traces)
        assert f"Contact: <sip:***@{edge_host}:{edge_port}>" in register

        call = await answered_through(call_api, registrar, "calls-conn", tmp_path, pipecat_agent)
        assert call["via"] == {"kind": "connection", "uuid": connection}
        assert call["agent_uuid"] == agent["agent_uuid"]
        assert call["end_reason"] == "caller_hangup"

    async def test_pbx_extension_registration(
        self,
        call_api: Api,
        call_server: CallServer,
        registrar: KamailioPeer,
        pipecat_agent: PipecatAgent,
        sessionmaker: async_sessionmaker[AsyncSession],
        tmp_path: Path,
    ) -> None:
        agent = await streaming_agent(call_api, pipecat_agent.url)
        host, port = kamailio_address(registrar)
        r = await call_api.post(
            "/pbx_extension_connectors",
            {
                "agent_uuid": agent["agent_uuid"],
                "phone_number": unique_us_number(),
                "registrar_server": host,
                "port": port,
                "username_extension": "calls-pbx",
                "pbx_password": USERS["calls-pbx"],
            },
        )
        assert r.status_code == 201, r.text
        connector = r.json()["data"]["pbx_extension_connector_uuid"]
        # the monitor registers the extension (as its loop would), with the edge as Contact
        monitor = call_server.app.state.trunkline.monitor
        async with session_scope(sessionmaker) as session:
            row = await session.get(PbxConnector, uuid.UUID(connector))
            report = await monitor.check_now(session, TargetKind.pbx, row)
        assert report.status == "active", report.status_detail

        call = await answered_through(call_api, registrar, "calls-pbx", tmp_path, pipecat_agent)
        assert call["via"] == {"kind": "pbx", "uuid": connector}
        assert call["agent_uuid"] == agent["agent_uuid"]
