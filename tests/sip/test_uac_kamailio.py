"""SipEdge.invite answering Kamailio's INVITE challenges: 407 + Proxy-Authorization, MD5/SHA-256.

Kamailio (kamailio-invite-auth.cfg) checks the digest against its own nonce and answers a good
one with 486 "Busy Here (authenticated)", a wrong password with 403.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import pytest

from tests.sip.edge_support import Handler
from tests.support.sip_fixtures import require_peer_binary
from tests.support.sip_peers import KAMAILIO_INVITE_AUTH_CFG, KamailioPeer
from trunkline.sip import Credentials, SipEdge, build_offer

pytestmark = pytest.mark.peer


@pytest.fixture
async def edge() -> AsyncIterator[SipEdge]:
    edge = SipEdge(("127.0.0.1", 0), ("127.0.0.1", 0), Handler())  # RFC 3261 default timers
    await edge.start()
    yield edge
    await edge.close()


@pytest.mark.parametrize("algo", ["MD5", "SHA-256"])
@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize(
    ("password", "code", "reason"),
    [("pw1", 486, "Busy Here (authenticated)"), ("wrong", 403, "Forbidden")],
)
async def test_invite_digest(
    edge: SipEdge,
    tmp_path: Path,
    algo: Literal["MD5", "SHA-256"],
    transport: Literal["udp", "tcp"],
    password: str,
    code: int,
    reason: str,
) -> None:
    require_peer_binary("kamailio")
    peer = KamailioPeer(
        algo=algo,
        ipv6=False,
        users={"trunk1": "pw1"},
        config=KAMAILIO_INVITE_AUTH_CFG,
        workdir=tmp_path,
    )
    with peer:
        uri = f"sip:15551234567@127.0.0.1:{peer.port}"
        call = await edge.invite(
            peer.target(transport),
            request_uri=uri,
            from_uri="sip:trunk1@siplab.test",
            to_uri=uri,
            sdp=build_offer("127.0.0.1", 30000, session_id="3"),
            credentials=Credentials("trunk1", password),
        )
        final = await asyncio.wait_for(call.final, 5)
        seen = peer.received(method="INVITE", call_id=call.call_id)
    assert (final.code, final.reason) == (code, reason)
    # One challenge, exactly one answer to it: never a loop (RFC 3261 §22.2).
    assert [entry["cseq"] for entry in seen] == ["1", "2"]
    assert call.invites_sent == 2
