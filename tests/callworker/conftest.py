"""An app serving with a call worker (SIP edge on a free loopback port), SIPp as the carrier
and a Pipecat agent process, for the call-path tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import new_workspace
from tests.support.api import Api
from tests.support.calls import CallServer, Carrier, PipecatAgent, serving_calls
from tests.support.sip_fixtures import require_module, require_peer_binary
from trunkline.config import Settings


@pytest.fixture(scope="session")
def call_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "calls": settings.calls.model_copy(
                update={"enabled": True, "agent_connect_timeout_s": 3.0, "heartbeat_s": 1.0}
            ),
            "sip": settings.sip.model_copy(update={"listen": "127.0.0.1:0"}),
            "media": settings.media.model_copy(update={"rtp_ports": "31000-31999"}),
        }
    )


# Per module: its worker's heartbeat statements must not reach other tests' statement counts.
@pytest.fixture(scope="module")
async def call_server(call_settings: Settings, engine: object) -> AsyncIterator[CallServer]:
    async with serving_calls(call_settings) as served:
        yield served


@pytest.fixture
async def call_api(
    call_server: CallServer, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Api]:
    """An API client of the app that carries the calls, bound to a fresh workspace."""
    slug, token = await new_workspace(sessionmaker)
    async with httpx.AsyncClient(base_url=call_server.url, timeout=30) as http:
        yield Api(http, token, slug)


@pytest.fixture
def sip_edge(call_server: CallServer) -> tuple[str, int]:
    return call_server.sip


@pytest.fixture
def carrier(tmp_path: Path, sip_edge: tuple[str, int]) -> Carrier:
    require_peer_binary("sipp")
    return Carrier(tmp_path / "sipp", sip_edge)


PIPECAT = "pip install -e '.[agents]'"


@pytest.fixture(scope="session")
def pipecat_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipecatAgent]:
    require_module("pipecat", PIPECAT)
    with PipecatAgent(tmp_path_factory.mktemp("agent")) as agent:
        yield agent
