"""SipEdge.invite (the UAC side) against SIPp callees: answer, digest, busy, CANCEL, far BYE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.sip.edge_support import Handler
from tests.support.sip_fixtures import require_peer_binary
from tests.support.sip_peers import PEERS_DIR, SippRun, SippServer
from trunkline.sip.edge import SipEdge
from trunkline.sip.outgoing import OutgoingCall
from trunkline.sip.register import Credentials
from trunkline.sip.sdp import build_offer, negotiate_answer, parse_sdp

pytestmark = pytest.mark.peer

OFFER = build_offer("127.0.0.1", 30000, session_id="77")


@pytest.fixture(autouse=True)
def _needs_sipp() -> None:
    require_peer_binary("sipp")


@pytest.fixture
async def edge() -> AsyncIterator[SipEdge]:
    edge = SipEdge(("127.0.0.1", 0), ("127.0.0.1", 0), Handler())  # RFC 3261 default timers
    await edge.start()
    yield edge
    await edge.close()


@contextmanager
def callee(tmp_path: Path, args: list[str], transport: str = "u1") -> Iterator[SippServer]:
    server = SippServer([*args, "-m", "1"], transport=transport, workdir=tmp_path)
    with server:
        yield server


def scenario(name: str) -> list[str]:
    return ["-sf", str(PEERS_DIR / name)]


def final_scenario(tmp_path: Path, code: int, reason: str) -> list[str]:
    """sipp_uas_final.xml with its status line filled in (SIPp reads codes at load time)."""
    text = (PEERS_DIR / "sipp_uas_final.xml").read_text()
    path = tmp_path / f"uas_final_{code}.xml"
    path.write_text(text.replace("__CODE__", str(code)).replace("__REASON__", reason))
    return ["-sf", str(path)]


async def dial(
    edge: SipEdge,
    server: SippServer,
    *,
    credentials: Credentials | None = None,
    provisionals: list[tuple[int, str]] | None = None,
) -> OutgoingCall:
    uri = f"sip:15551234567@127.0.0.1:{server.port}"
    seen = provisionals if provisionals is not None else []
    return await edge.invite(
        server.target(),
        request_uri=uri,
        from_uri="sip:+15557654321@trunkline.test",
        from_display="Trunkline Agent",
        to_uri=uri,
        sdp=OFFER,
        headers={"P-Asserted-Identity": "<sip:+15557654321@trunkline.test>"},
        credentials=credentials,
        on_provisional=lambda code, reason: seen.append((code, reason)),
    )


async def finished(server: SippServer) -> SippRun:
    return await asyncio.to_thread(server.finish)


class TestAnswered:
    @pytest.mark.parametrize("transport", ["u1", "t1"])
    async def test_answer_then_our_bye(self, edge: SipEdge, tmp_path: Path, transport: str) -> None:
        with callee(tmp_path, ["-sn", "uas"], transport=transport) as server:
            provisionals: list[tuple[int, str]] = []
            call = await dial(edge, server, provisionals=provisionals)
            final = await asyncio.wait_for(call.final, 5)
            assert (final.code, provisionals) == (200, [(180, "Ringing")])
            assert final.answer is not None
            media = negotiate_answer(parse_sdp(OFFER), final.answer)
            assert media is not None and media.codec.name == "PCMU"
            await call.hangup()
            assert call.ended.result() == "hangup"
            run = await finished(server)
        assert run.returncode == 0, run.screen
        assert [line.split(" ")[0] for d, line in run.messages() if d == "received"] == [
            "INVITE",
            "ACK",
            "BYE",
        ]
        invite = run.message_texts("received", "INVITE")[0]
        assert 'From: "Trunkline Agent" <sip:+15557654321@trunkline.test>;tag=' in invite
        assert "P-Asserted-Identity: <sip:+15557654321@trunkline.test>" in invite

    async def test_far_end_bye(self, edge: SipEdge, tmp_path: Path) -> None:
        with callee(tmp_path, scenario("sipp_uas_far_bye.xml")) as server:
            call = await dial(edge, server)
            assert (await asyncio.wait_for(call.final, 5)).code == 200
            assert await asyncio.wait_for(call.ended, 5) == "bye"
            run = await finished(server)
        assert run.returncode == 0, run.screen


class TestDigest:
    async def test_md5_challenge_answered_once(self, edge: SipEdge, tmp_path: Path) -> None:
        args = [*scenario("sipp_uas_auth.xml"), "-set", "user", "trunk1", "-set", "pass", "pw1"]
        with callee(tmp_path, args) as server:
            call = await dial(edge, server, credentials=Credentials("trunk1", "pw1"))
            assert (await asyncio.wait_for(call.final, 5)).code == 200
            await call.hangup()
            run = await finished(server)
        assert run.returncode == 0, run.screen  # SIPp's verifyauth accepted the digest
        first, second = run.message_texts("received", "INVITE")
        assert "Authorization" not in first
        assert "algorithm=MD5" in second and "qop=auth" in second and "CSeq: 2 INVITE" in second
        assert call.invites_sent == 2

    async def test_wrong_password_is_final(self, edge: SipEdge, tmp_path: Path) -> None:
        args = [*scenario("sipp_uas_auth.xml"), "-set", "user", "trunk1", "-set", "pass", "pw1"]
        with callee(tmp_path, args) as server:
            call = await dial(edge, server, credentials=Credentials("trunk1", "nope"))
            final = await asyncio.wait_for(call.final, 5)
            run = await finished(server)
        assert final.code == 403 and call.ended.result() == "rejected"
        assert run.returncode == 0, run.screen
        assert run.count("received", "INVITE") == 2

    async def test_second_challenge_is_final_not_a_loop(
        self, edge: SipEdge, tmp_path: Path
    ) -> None:
        with callee(tmp_path, scenario("sipp_uas_always_401.xml")) as server:
            call = await dial(edge, server, credentials=Credentials("trunk1", "pw1"))
            final = await asyncio.wait_for(call.final, 5)
            await asyncio.sleep(0.3)  # a third INVITE, if any, would arrive now
            run = await finished(server)
        assert final.code == 401
        assert run.returncode == 0, run.screen
        assert run.count("received", "INVITE") == 2 and run.count("received", "ACK") == 2

    async def test_challenge_without_credentials_is_final(
        self, edge: SipEdge, tmp_path: Path
    ) -> None:
        args = [*scenario("sipp_uas_auth.xml"), "-set", "user", "u", "-set", "pass", "p"]
        with callee(tmp_path, args) as server:
            call = await dial(edge, server)
            assert (await asyncio.wait_for(call.final, 5)).code == 401
            server.stop()  # its scenario waits for a retry that never comes
        assert call.invites_sent == 1


class TestRejected:
    @pytest.mark.parametrize(("code", "reason"), [(486, "Busy Here"), (503, "Service Unavailable")])
    async def test_final_is_acked_and_not_retried(
        self, edge: SipEdge, tmp_path: Path, code: int, reason: str
    ) -> None:
        with callee(tmp_path, final_scenario(tmp_path, code, reason)) as server:
            call = await dial(edge, server, credentials=Credentials("trunk1", "pw1"))
            final = await asyncio.wait_for(call.final, 5)
            run = await finished(server)
        assert (final.code, final.reason, final.answer) == (code, reason, None)
        assert call.ended.result() == "rejected"
        assert run.returncode == 0, run.screen
        assert run.count("received", "INVITE") == 1 and run.count("received", "ACK") == 1

    async def test_cancel_while_ringing_gets_487(self, edge: SipEdge, tmp_path: Path) -> None:
        with callee(tmp_path, scenario("sipp_uas_ring_forever.xml")) as server:
            call = await dial(edge, server)
            # Asked before any provisional: RFC 3261 §9.1 holds the CANCEL until one arrives.
            await call.cancel()
            final = await asyncio.wait_for(call.final, 5)
            run = await finished(server)
        assert final.code == 487 and call.ended.result() == "cancel"
        assert run.returncode == 0, run.screen
        order = [line.split(" ")[0] if d == "received" else line for d, line in run.messages()]
        assert order == [
            "INVITE",
            "SIP/2.0 180 Ringing",
            "CANCEL",
            "SIP/2.0 200 OK",
            "SIP/2.0 487 Request Terminated",
            "ACK",
        ]
