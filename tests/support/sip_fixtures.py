"""Pytest fixtures for real SIP peers (Kamailio, SIPp) and a SipClient.

Session-scoped peers are shared by every test that asks for them. Where a peer binary is
missing the fixture skips, unless ``TRUNKLINE_REQUIRE_PEERS=1`` (CI), where it fails.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.sip_peers import DEFAULT_USERS, KamailioPeer, SippRegistrar, find_binary
from trunkline.sip import SipClient

__all__ = [
    "kamailio_md5",
    "kamailio_sha256",
    "require_module",
    "require_peer_binary",
    "sip_client",
    "sipp_registrar",
]


def require_peer_binary(name: str) -> None:
    """Skip (or fail under TRUNKLINE_REQUIRE_PEERS=1) when a peer binary is missing."""
    if find_binary(name) is not None:
        return
    message = f"{name} is not installed (apt-get install kamailio kamailio-tls-modules sip-tester)"
    if os.environ.get("TRUNKLINE_REQUIRE_PEERS") == "1":
        pytest.fail(f"TRUNKLINE_REQUIRE_PEERS=1 but {message}")
    pytest.skip(message)


def require_module(name: str, install: str) -> None:
    """Skip (or fail under TRUNKLINE_REQUIRE_PEERS=1) when a test-only Python package (a real
    agent framework) is not installed."""
    if importlib.util.find_spec(name) is not None:
        return
    message = f"{name} is not installed ({install})"
    if os.environ.get("TRUNKLINE_REQUIRE_PEERS") == "1":
        pytest.fail(f"TRUNKLINE_REQUIRE_PEERS=1 but {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def kamailio_md5(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KamailioPeer]:
    """Kamailio registrar with MD5 digest: UDP+TCP on 127.0.0.1 and ::1, TLS on 127.0.0.1."""
    require_peer_binary("kamailio")
    peer = KamailioPeer(
        algo="MD5", tls=True, users=DEFAULT_USERS, workdir=tmp_path_factory.mktemp("kam-md5")
    )
    with peer:
        yield peer


@pytest.fixture(scope="session")
def kamailio_sha256(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KamailioPeer]:
    """Kamailio registrar with SHA-256 digest (RFC 8760): UDP+TCP, TLS on 127.0.0.1."""
    require_peer_binary("kamailio")
    peer = KamailioPeer(
        algo="SHA-256", tls=True, users=DEFAULT_USERS, workdir=tmp_path_factory.mktemp("kam-sha")
    )
    with peer:
        yield peer


@pytest.fixture(scope="session")
def sipp_registrar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SippRegistrar]:
    """SIPp MD5 registrar on UDP accepting trunk1 / s3cret-pw."""
    require_peer_binary("sipp")
    peer = SippRegistrar(
        user="trunk1", password=DEFAULT_USERS["trunk1"], workdir=tmp_path_factory.mktemp("sipp")
    )
    with peer:
        yield peer


@pytest.fixture
async def sip_client() -> AsyncIterator[SipClient]:
    """A SipClient with short timers (T1 50 ms) so failing cases finish quickly."""
    async with SipClient(t1_s=0.05, t2_s=0.4, timeout_s=2.0) as client:
        yield client
