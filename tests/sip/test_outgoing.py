"""SipEdge.invite against a scripted raw UDP/TCP callee: timers, ACKs, CANCEL races."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.sip.edge_support import Handler, RawPeer
from tests.support.sip_peers import free_port
from trunkline.sip.client import Target
from trunkline.sip.edge import SipEdge
from trunkline.sip.message import SipRequest, SipResponse
from trunkline.sip.outgoing import OutgoingCall
from trunkline.sip.sdp import build_offer

OFFER = build_offer("127.0.0.1", 30000, session_id="5")
ANSWER = (
    "v=0\r\no=callee 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 41000 RTP/AVP 8\r\n"
)


@pytest.fixture
async def edge() -> AsyncIterator[SipEdge]:
    edge = SipEdge(("127.0.0.1", 0), ("127.0.0.1", 0), Handler(), t1_s=0.02, t2_s=0.1)
    await edge.start()
    yield edge
    await edge.close()


@pytest.fixture
async def callee() -> AsyncIterator[RawPeer]:
    peer = await RawPeer.open()
    yield peer
    peer.close()


async def dial(edge: SipEdge, target: Target) -> OutgoingCall:
    uri = f"sip:100@{target.host}:{target.port}"
    return await edge.invite(
        target, request_uri=uri, from_uri="sip:agent@trunkline.test", to_uri=uri, sdp=OFFER
    )


def reply(
    req: SipRequest,
    status: int,
    reason: str,
    *,
    port: int = 1,
    tag: str = "callee1",
    body: str = "",
) -> bytes:
    """The callee's response; a 1xx/2xx names ``127.0.0.1:port`` as its Contact."""
    headers = [(n, v) for n, v in req.headers if n in ("Via", "From", "Call-ID", "CSeq")]
    to = req.get("to") or ""
    headers.append(("To", to if ";tag=" in to or status == 100 else f"{to};tag={tag}"))
    if status < 300 and status > 100:
        headers.append(("Contact", f"<sip:callee@127.0.0.1:{port}>"))
    if body:
        headers.append(("Content-Type", "application/sdp"))
    return SipResponse(status=status, reason=reason, headers=headers, body=body.encode()).to_bytes()


async def next_request(peer: RawPeer, method: str, timeout_s: float = 2.0) -> SipRequest:
    async with asyncio.timeout(timeout_s):
        while True:
            msg = await peer.recv(timeout_s)
            if isinstance(msg, SipRequest) and msg.method == method:
                return msg


def edge_addr(edge: SipEdge) -> tuple[str, int]:
    return edge.local_address


class TestTimers:
    async def test_timer_a_retransmits_and_timer_b_gives_408(
        self, edge: SipEdge, callee: RawPeer
    ) -> None:
        call = await dial(edge, Target("127.0.0.1", callee.port))
        final = await asyncio.wait_for(call.final, 3)
        assert (final.code, call.ended.result()) == (408, "timeout")
        copies = []
        while not callee.queue.empty():
            msg, _ = callee.queue.get_nowait()
            assert isinstance(msg, SipRequest)
            copies.append(msg.top_via_branch)
        # T1 = 20 ms doubling within 64*T1 = 1.28 s: sent at 0, .02, .06, .14, .30, .62, 1.26.
        assert len(copies) >= 6 and len(set(copies)) == 1

    async def test_no_retransmission_over_tcp(self, edge: SipEdge) -> None:
        frames: list[bytes] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while chunk := await reader.read(65536):
                frames.append(chunk)
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            call = await dial(edge, Target("127.0.0.1", port, "tcp"))
            final = await asyncio.wait_for(call.final, 3)
        finally:
            server.close()
            await server.wait_closed()
        assert final.code == 408  # Timer B still bounds the transaction
        assert b"".join(frames).count(b"INVITE sip:") == 1  # RFC 3261 §17.1.1.2: no Timer A

    async def test_tls_targets_are_refused_up_front(self, edge: SipEdge) -> None:
        with pytest.raises(ValueError, match="tls"):
            await dial(edge, Target("127.0.0.1", 5061, "tls"))

    async def test_refused_tcp_connection_is_503(self, edge: SipEdge) -> None:
        call = await dial(edge, Target("127.0.0.1", free_port(), "tcp"))
        final = await asyncio.wait_for(call.final, 3)
        assert final.code == 503 and call.ended.result() == "failed"


class TestAcks:
    async def test_2xx_retransmissions_are_acked_again(
        self, edge: SipEdge, callee: RawPeer
    ) -> None:
        call = await dial(edge, Target("127.0.0.1", callee.port))
        invite = await next_request(callee, "INVITE")
        ok = reply(invite, 200, "OK", port=callee.port, body=ANSWER)
        callee.send(ok, edge_addr(edge))
        final = await asyncio.wait_for(call.final, 2)
        assert final.code == 200 and final.answer is not None
        first_ack = await next_request(callee, "ACK")
        callee.send(ok, edge_addr(edge))  # as if our ACK had been lost
        second_ack = await next_request(callee, "ACK")
        # RFC 3261 §13.2.2.4: the 2xx ACK is its own transaction (new branch), same CSeq number.
        assert first_ack.top_via_branch == second_ack.top_via_branch != invite.top_via_branch
        assert first_ack.cseq == (invite.cseq[0], "ACK")
        assert first_ack.uri == f"sip:callee@127.0.0.1:{callee.port}"  # the 2xx's Contact
        assert call.dialog is not None

    async def test_non_2xx_is_acked_on_the_invite_branch(
        self, edge: SipEdge, callee: RawPeer
    ) -> None:
        call = await dial(edge, Target("127.0.0.1", callee.port))
        invite = await next_request(callee, "INVITE")
        busy = reply(invite, 486, "Busy Here")
        callee.send(busy, edge_addr(edge))
        ack = await next_request(callee, "ACK")
        callee.send(busy, edge_addr(edge))  # retransmitted final: ACKed again, reported once
        again = await next_request(callee, "ACK")
        assert ack.top_via_branch == again.top_via_branch == invite.top_via_branch
        assert ack.uri == invite.uri and ";tag=callee1" in (ack.get("to") or "")
        assert (await call.final).code == 486


class TestCancel:
    async def test_no_final_after_cancel_gives_up(self, edge: SipEdge, callee: RawPeer) -> None:
        call = await dial(edge, Target("127.0.0.1", callee.port))
        invite = await next_request(callee, "INVITE")
        callee.send(reply(invite, 180, "Ringing", port=callee.port), edge_addr(edge))
        await asyncio.sleep(1.5)  # past 64*T1: Timer B no longer applies once Proceeding
        assert not call.final.done()
        cancel_task = asyncio.ensure_future(call.cancel())
        cancel = await next_request(callee, "CANCEL")
        callee.send(reply(cancel, 200, "OK"), edge_addr(edge))
        await cancel_task
        final = await asyncio.wait_for(call.final, 3)  # §9.1: 64*T1 after the CANCEL
        assert (final.code, call.ended.result()) == (408, "cancel")

    async def test_cancel_waits_for_a_provisional(self, edge: SipEdge, callee: RawPeer) -> None:
        call = await dial(edge, Target("127.0.0.1", callee.port))
        invite = await next_request(callee, "INVITE")
        callee.send(reply(invite, 100, "Trying"), edge_addr(edge))
        await asyncio.sleep(0.05)
        # 100 Trying is a provisional: the CANCEL may go now (§9.1).
        hangup = asyncio.ensure_future(call.hangup())
        cancel = await next_request(callee, "CANCEL")
        assert cancel.top_via_branch == invite.top_via_branch
        assert cancel.cseq == (invite.cseq[0], "CANCEL") and cancel.uri == invite.uri
        callee.send(reply(cancel, 200, "OK"), edge_addr(edge))
        callee.send(reply(invite, 487, "Request Terminated"), edge_addr(edge))
        assert (await asyncio.wait_for(call.final, 2)).code == 487
        await asyncio.wait_for(hangup, 2)  # returns once the CANCEL was answered
        assert call.ended.result() == "hangup"
        await next_request(callee, "ACK")

    async def test_2xx_racing_our_cancel_is_acked_then_byed(
        self, edge: SipEdge, callee: RawPeer
    ) -> None:
        call = await dial(edge, Target("127.0.0.1", callee.port))
        invite = await next_request(callee, "INVITE")
        await call.cancel()  # nothing provisional yet: held back
        await asyncio.sleep(0.05)
        assert callee.queue.empty() or all(
            isinstance(m, SipRequest) and m.method == "INVITE"
            for m, _ in callee.queue._queue  # type: ignore[attr-defined]
        )
        callee.send(reply(invite, 200, "OK", port=callee.port, body=ANSWER), edge_addr(edge))
        await next_request(callee, "ACK")
        final = await asyncio.wait_for(call.final, 2)
        assert final.code == 200 and call.ended.result() == "cancel"
        # §9.1 / §15: the answered call is ended at once with BYE (sent to the 2xx Contact).
        bye = await next_request(callee, "BYE")
        assert bye.cseq == (invite.cseq[0] + 1, "BYE")
