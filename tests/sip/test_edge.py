"""SipEdge as a UAS, driven by raw UDP/TCP sockets on loopback (no peer binaries needed)."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
from collections.abc import AsyncIterator, Callable

import pytest

from tests.sip.edge_support import OFFER, Handler, RawPeer, request, running_edge, tcp_exchange
from tests.sip.responders import reply_to
from trunkline.sip.edge import SipEdge
from trunkline.sip.message import SipRequest, SipResponse
from trunkline.sip.sdp import parse_sdp
from trunkline.sip.server_transaction import header_tag, parse_top_via


def to_tag(msg: SipResponse) -> str | None:
    return header_tag(msg.get("to") or "")


async def next_not(peer: RawPeer, status: int) -> SipResponse:
    """The next response whose status is not ``status`` (skips e.g. 100 Trying)."""
    while True:
        msg = await peer.response()
        if msg.status != status:
            return msg


def ack_for(response: SipResponse, edge_port: int, peer_port: int, *, cseq: int = 1) -> str:
    """ACK for a 2xx: a new branch, the To (with tag) of the response (RFC 3261 §13.2.2.4)."""
    tag = to_tag(response)
    return request("ACK", edge_port, peer_port, call_id=response.call_id, cseq=cseq, to_tag=tag)


@pytest.fixture
async def peer() -> AsyncIterator[RawPeer]:
    """A raw UDP peer on 127.0.0.1, closed after the test."""
    opened = await RawPeer.open()
    yield opened
    opened.close()


class TestOptions:
    async def test_out_of_dialog_options_gets_200_with_allow_and_rport(self, peer: RawPeer) -> None:
        async with running_edge(Handler()) as edge:
            port = edge.local_address[1]
            peer.send(request("OPTIONS", port, peer.port), ("127.0.0.1", port))
            res = await peer.response()
        assert res.status == 200
        assert "INVITE" in (res.get("allow") or "") and "BYE" in (res.get("allow") or "")
        assert "application/sdp" in (res.get("accept") or "")
        assert to_tag(res)
        via = parse_top_via(res.get("via") or "")
        assert via is not None
        # RFC 3581 §4: rport filled with the source port, received with the source IP.
        assert via.params["rport"] == str(peer.port) and via.params["received"] == "127.0.0.1"

    async def test_without_rport_the_response_goes_to_the_sent_by_port(self) -> None:
        sender, listener = await RawPeer.open(), await RawPeer.open()
        async with running_edge(Handler()) as edge:
            port = edge.local_address[1]
            # Via names the listener's port; no rport: RFC 3261 §18.2.2 answers to sent-by.
            sender.send(request("OPTIONS", port, listener.port, rport=False), ("127.0.0.1", port))
            res = await listener.response()
            assert await sender.silent(0.1)
        sender.close()
        listener.close()
        assert res.status == 200

    async def test_retransmitted_options_gets_the_same_response(self, peer: RawPeer) -> None:
        async with running_edge(Handler()) as edge:
            port, dest = edge.local_address[1], ("127.0.0.1", edge.local_address[1])
            options = request("OPTIONS", port, peer.port, branch="again")
            peer.send(options, dest)
            first = await peer.response()
            peer.send(options, dest)  # RFC 3261 §17.2.2: absorbed, the response sent again
            second = await peer.response()
        assert first.to_bytes() == second.to_bytes()

    async def test_ipv6_loopback(self) -> None:
        peer = await RawPeer.open("::1")
        edge = SipEdge(("::1", 0), ("::1", 0), Handler(), t1_s=0.05)
        await edge.start()
        try:
            port = edge.local_address[1]
            text = request("OPTIONS", port, peer.port).replace("127.0.0.1", "[::1]")
            peer.send(text, ("::1", port))
            res = await peer.response()
        finally:
            await edge.close()
            peer.close()
        via = parse_top_via(res.get("via") or "")
        assert res.status == 200 and via is not None
        assert (via.host, via.params["received"]) == ("::1", "::1")
        assert edge.contact("udp") == f"<sip:trunkline@[::1]:{port}>"

    async def test_over_tcp_answers_on_the_same_connection(self) -> None:
        async with running_edge(Handler()) as edge:
            port = edge.local_address[1]
            (res,) = await tcp_exchange(port, request("OPTIONS", port, 5999, transport="TCP"))
        assert res.status == 200


class TestInvite:
    async def test_full_call_with_ack_and_far_end_bye(self, peer: RawPeer) -> None:
        handler = Handler()
        async with running_edge(handler) as edge:
            port, dest = edge.local_address[1], ("127.0.0.1", edge.local_address[1])
            call_id = secrets.token_hex(6)
            peer.send(request("INVITE", port, peer.port, call_id=call_id, body=OFFER), dest)
            trying, ringing, ok = [await peer.response() for _ in range(3)]
            assert (trying.status, ringing.status, ok.status) == (100, 180, 200)
            # RFC 3261 §8.2.6.2: one To tag for the dialog, on every response but 100.
            assert to_tag(ringing) == to_tag(ok) and to_tag(ok)
            assert "sip:trunkline@127.0.0.1" in (ok.get("contact") or "")
            answer = parse_sdp(ok.body)
            assert answer.payload_types == (8, 101)  # PCMA first in the offer, events kept
            peer.send(ack_for(ok, port, peer.port), dest)
            await asyncio.sleep(0.1)
            assert handler.answered == [True]
            call = handler.calls[0]
            assert (call.call_id, call.to_user, call.from_user) == (
                call_id,
                "+15551234567",
                "+15557654321",
            )
            assert (call.from_display, call.request_uri_user, call.transport) == (
                "Carrier",
                "+15551234567",
                "udp",
            )
            while not peer.queue.empty():  # drop 200 retransmissions sent before the ACK
                peer.queue.get_nowait()
            bye = request("BYE", port, peer.port, call_id=call_id, cseq=2, to_tag=to_tag(ok))
            peer.send(bye, dest)
            res = await peer.response()
            assert (res.status, res.cseq) == (200, (2, "BYE"))
            assert await asyncio.wait_for(call.ended, 1) == "bye"
            # A retransmitted BYE matches its transaction and gets the same 200 (Timer J) ...
            peer.send(bye, dest)
            assert (await peer.response()).to_bytes() == res.to_bytes()
            # ... while a new BYE finds no dialog: 481 (RFC 3261 §12.2.2).
            peer.send(request("BYE", port, peer.port, call_id=call_id, cseq=3, to_tag=to_tag(ok)),
                      dest)  # fmt: skip
            assert (await peer.response()).status == 481

    async def test_200_is_retransmitted_until_the_ack(self, peer: RawPeer) -> None:
        handler = Handler()
        async with running_edge(handler, t1_s=0.05, t2_s=0.2) as edge:
            port, dest = edge.local_address[1], ("127.0.0.1", edge.local_address[1])
            peer.send(request("INVITE", port, peer.port, body=OFFER), dest)
            first = await next_not(peer, 100)
            first = first if first.status == 200 else await next_not(peer, 180)
            # RFC 3261 §13.3.1.4: T1, 2*T1, 4*T1, then T2 -> 0.05, 0.15, 0.35 s.
            retransmits = 0
            async with asyncio.timeout(1.0):
                while retransmits < 3:
                    assert (await peer.response()).status == 200
                    retransmits += 1
            peer.send(ack_for(first, port, peer.port), dest)
            await asyncio.sleep(0.05)
            while not peer.queue.empty():
                peer.queue.get_nowait()
            assert await peer.silent(0.5)
            assert handler.answered == [True]

    async def test_no_ack_times_out_and_sends_bye(self, peer: RawPeer) -> None:
        handler = Handler()
        async with running_edge(handler, t1_s=0.02, t2_s=0.1) as edge:
            port, dest = edge.local_address[1], ("127.0.0.1", edge.local_address[1])
            peer.send(request("INVITE", port, peer.port, body=OFFER), dest)
            bye: SipRequest | None = None
            async with asyncio.timeout(3.0):
                while bye is None:
                    msg = await peer.recv()
                    if isinstance(msg, SipRequest):
                        bye = msg
            assert bye.method == "BYE"
            call = handler.calls[0]
            assert await asyncio.wait_for(call.ended, 1) == "ack_timeout"
            await asyncio.sleep(0.01)
            assert handler.answered == [False]

    async def test_retransmitted_invite_is_absorbed(self, peer: RawPeer) -> None:
        handler = Handler(mode="ring")
        async with running_edge(handler) as edge:
            port, dest = edge.local_address[1], ("127.0.0.1", edge.local_address[1])
            invite = request("INVITE", port, peer.port, body=OFFER, branch="same1")
            peer.send(invite, dest)
            assert (await peer.response()).status == 100
            assert (await peer.response()).status == 180
            peer.send(invite, dest)
            again = await peer.response()
            assert again.status == 180  # the last response, sent again (RFC 3261 §17.2.1)
            assert len(handler.calls) == 1
            await handler.calls[0].hangup()
            assert (await peer.response()).status == 480
            assert handler.calls[0].ended.result() == "hangup"

    async def test_no_g711_is_rejected_488_and_retransmitted_until_ack(self, peer: RawPeer) -> None:
        handler = Handler()
        g729 = OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 18")
        async with running_edge(handler, t1_s=0.05, t2_s=0.2) as edge:
            port, dest = edge.local_address[1], ("127.0.0.1", edge.local_address[1])
            invite = request("INVITE", port, peer.port, body=g729, branch="rej1")
            peer.send(invite, dest)
            final = await next_not(peer, 100)
            final = final if final.status != 180 else await peer.response()
            assert final.status == 488
            assert final.get("reason") == 'Q.850;cause=65;text="codec"'
            again = await peer.response()  # Timer G
            assert again.status == 488 and to_tag(again) == to_tag(final)
            # The ACK of a non-2xx reuses the INVITE's branch (RFC 3261 §17.1.1.3).
            ack = request(
                "ACK", port, peer.port, call_id=final.call_id, branch="rej1", to_tag=to_tag(final)
            )
            peer.send(ack, dest)
            await asyncio.sleep(0.05)
            while not peer.queue.empty():
                peer.queue.get_nowait()
            assert await peer.silent(0.4)
            assert handler.calls[0].ended.result() == "rejected"

    async def test_cancel_gets_200_and_the_invite_487(self, peer: RawPeer) -> None:
        handler = Handler(mode="ring")
        async with running_edge(handler) as edge:
            port, dest = edge.local_address[1], ("127.0.0.1", edge.local_address[1])
            call_id = secrets.token_hex(6)
            invite = request("INVITE", port, peer.port, body=OFFER, branch="c1", call_id=call_id)
            peer.send(invite, dest)
            await peer.response()
            ringing = await peer.response()
            cancel = request("CANCEL", port, peer.port, branch="c1", call_id=call_id)
            peer.send(cancel, dest)
            replies = {(m.status, m.cseq[1]): m for m in [await peer.response() for _ in "ab"]}
            assert set(replies) == {(200, "CANCEL"), (487, "INVITE")}
            # RFC 3261 §9.2: the same To tag on the CANCEL's 200 and the INVITE's responses.
            assert to_tag(replies[(200, "CANCEL")]) == to_tag(ringing)
            assert to_tag(replies[(487, "INVITE")]) == to_tag(ringing)
            assert await asyncio.wait_for(handler.calls[0].ended, 1) == "cancel"
            # The ACK of the 487 (INVITE branch) stops Timer G: silence afterwards.
            ack = request(
                "ACK", port, peer.port, branch="c1", call_id=call_id, to_tag=to_tag(ringing)
            )
            peer.send(ack, dest)
            await asyncio.sleep(0.05)
            while not peer.queue.empty():  # Timer G copies sent before the ACK arrived
                late = peer.queue.get_nowait()[0]
                assert isinstance(late, SipResponse) and late.status == 487
            assert await peer.silent(0.4)
            # A CANCEL matching nothing is 481.
            peer.send(request("CANCEL", port, peer.port, branch="nothing"), dest)
            assert (await peer.response()).status == 481

    async def test_record_route_is_copied_and_our_bye_follows_it(self, peer: RawPeer) -> None:
        handler = Handler(mode="hangup_after_ack")
        async with running_edge(handler) as edge:
            port, dest = edge.local_address[1], ("127.0.0.1", edge.local_address[1])
            route = f"<sip:127.0.0.1:{peer.port};lr>"
            invite = request("INVITE", port, peer.port, body=OFFER, extra=f"Record-Route: {route}")
            # the Contact names a port where nobody listens: the BYE must go via the route
            invite = invite.replace(f"<sip:peer@127.0.0.1:{peer.port}>", "<sip:peer@127.0.0.1:9>")
            peer.send(invite, dest)
            ok = await next_not(peer, 100)
            ringing, ok = (ok, await peer.response()) if ok.status == 180 else (None, ok)
            assert ok.get_all("record-route") == [route]
            assert ringing is not None and ringing.get_all("record-route") == [route]
            peer.send(ack_for(ok, port, peer.port), dest)
            msg = await peer.recv()
            while not isinstance(msg, SipRequest):
                msg = await peer.recv()
            assert msg.method == "BYE" and msg.uri == "sip:peer@127.0.0.1:9"
            assert msg.get_all("route") == [route]  # RFC 3261 §12.2.1.1 loose routing

    async def test_we_hang_up_with_bye_after_the_ack(self, peer: RawPeer) -> None:
        handler = Handler(mode="hangup_after_ack")
        async with running_edge(handler) as edge:
            port, dest = edge.local_address[1], ("127.0.0.1", edge.local_address[1])
            peer.send(request("INVITE", port, peer.port, body=OFFER), dest)
            ok = await next_not(peer, 100)
            ok = ok if ok.status == 200 else await peer.response()
            peer.send(ack_for(ok, port, peer.port), dest)
            msg = await peer.recv()
            while not isinstance(msg, SipRequest):
                msg = await peer.recv()
            assert msg.method == "BYE"
            assert msg.cseq[1] == "BYE"
            assert header_tag(msg.get("from") or "") == to_tag(ok)  # our tag, now in From
            assert msg.uri == f"sip:peer@127.0.0.1:{peer.port}"  # the remote target (Contact)
            peer.send(reply_to(msg.to_bytes()), dest)
            call = handler.calls[0]
            assert await asyncio.wait_for(call.ended, 1) == "hangup"

    async def test_in_dialog_info_options_and_reinvite(self, peer: RawPeer) -> None:
        handler = Handler()
        async with running_edge(handler) as edge:
            port, dest = edge.local_address[1], ("127.0.0.1", edge.local_address[1])
            call_id = secrets.token_hex(6)
            peer.send(request("INVITE", port, peer.port, body=OFFER, call_id=call_id), dest)
            ok = await next_not(peer, 100)
            ok = ok if ok.status == 200 else await peer.response()
            tag = to_tag(ok)
            peer.send(ack_for(ok, port, peer.port), dest)
            await asyncio.sleep(0.05)
            while not peer.queue.empty():
                peer.queue.get_nowait()
            info = request(
                "INFO",
                port,
                peer.port,
                call_id=call_id,
                cseq=2,
                to_tag=tag,
                body="Signal=7\r\nDuration=1",
                content_type="application/dtmf-relay",
            )
            peer.send(info, dest)
            assert (await peer.response()).status == 200
            assert handler.infos == [("application/dtmf-relay", "Signal=7\r\nDuration=1")]
            opts = request("OPTIONS", port, peer.port, call_id=call_id, cseq=3, to_tag=tag)
            peer.send(opts, dest)
            assert (await peer.response()).status == 200
            hold = OFFER + "a=sendonly\r\n"
            reinvite = request(
                "INVITE", port, peer.port, call_id=call_id, cseq=4, to_tag=tag, body=hold
            )
            peer.send(reinvite, dest)
            res = await next_not(peer, 100)
            assert res.status == 200 and parse_sdp(res.body).direction == "recvonly"
            assert handler.reinvites == ["sendonly"]
            # An out-of-order CSeq is 500 (RFC 3261 §12.2.2).
            old = request("INFO", port, peer.port, call_id=call_id, cseq=2, to_tag=tag)
            peer.send(old, dest)
            while (res := await peer.response()).cseq[1] != "INFO":
                pass
            assert res.status == 500

    async def test_failing_handler_answers_500(self, peer: RawPeer) -> None:
        async with running_edge(Handler(mode="fail")) as edge:
            port, dest = edge.local_address[1], ("127.0.0.1", edge.local_address[1])
            peer.send(request("INVITE", port, peer.port, body=OFFER), dest)
            assert (await next_not(peer, 100)).status == 500

    async def test_invite_over_tcp(self) -> None:
        handler = Handler(mode="ring")
        async with running_edge(handler) as edge:
            port = edge.local_address[1]
            invite = request("INVITE", port, 5999, transport="TCP", body=OFFER)
            trying, ringing = await tcp_exchange(port, invite, responses=2)
        assert (trying.status, ringing.status) == (100, 180)
        assert handler.calls[0].transport == "tcp"
        assert handler.calls[0].ended.done()  # the edge closed under the ringing call


Build = Callable[[int, int], str | bytes]


class TestRejectedRequests:
    async def exchange(self, build: Build) -> SipResponse | None:
        """Send what ``build(edge_port, peer_port)`` makes; the response, or None (silence)."""
        peer = await RawPeer.open()
        async with running_edge(Handler()) as edge:
            port = edge.local_address[1]
            peer.send(build(port, peer.port), ("127.0.0.1", port))
            try:
                return await peer.response(timeout_s=0.3)
            except TimeoutError:
                return None
            finally:
                peer.close()

    async def test_require_100rel_gets_420_with_unsupported(self) -> None:
        res = await self.exchange(
            lambda e, p: request("INVITE", e, p, extra="Require: 100rel", body=OFFER)
        )
        assert res is not None and res.status == 420
        assert res.get("unsupported") == "100rel"

    async def test_unknown_method_gets_405_with_allow(self) -> None:
        res = await self.exchange(lambda e, p: request("SUBSCRIBE", e, p))
        assert res is not None and res.status == 405 and "INVITE" in (res.get("allow") or "")

    async def test_bye_for_an_unknown_dialog_gets_481(self) -> None:
        res = await self.exchange(lambda e, p: request("BYE", e, p, to_tag="x"))
        assert res is not None and res.status == 481

    async def test_info_outside_a_dialog_gets_481(self) -> None:
        res = await self.exchange(lambda e, p: request("INFO", e, p))
        assert res is not None and res.status == 481

    async def test_cseq_method_mismatch_gets_400(self) -> None:
        res = await self.exchange(lambda e, p: request("OPTIONS", e, p, cseq_method="INVITE"))
        assert res is not None and res.status == 400

    async def test_body_shorter_than_content_length_gets_400(self) -> None:
        res = await self.exchange(
            lambda e, p: request("OPTIONS", e, p).replace("Content-Length: 0", "Content-Length: 50")
        )
        assert res is not None and res.status == 400  # RFC 3261 §18.3

    async def test_malformed_sdp_gets_400(self) -> None:
        res = await self.exchange(lambda e, p: request("INVITE", e, p, body="v=0\r\nnonsense\r\n"))
        assert res is not None and res.status == 400

    async def test_a_body_other_than_sdp_gets_415(self) -> None:
        res = await self.exchange(
            lambda e, p: request("INVITE", e, p, body="hello", content_type="text/plain")
        )
        assert res is not None and res.status == 415

    async def test_missing_to_cannot_be_answered_and_is_dropped(self) -> None:
        def build(e: int, p: int) -> str:
            lines = request("OPTIONS", e, p).split("\r\n")
            return "\r\n".join(line for line in lines if not line.startswith("To:"))

        assert await self.exchange(build) is None

    async def test_invite_without_contact_gets_400(self) -> None:
        def build(e: int, p: int) -> str:
            text = request("INVITE", e, p, body=OFFER)
            return "\r\n".join(
                line for line in text.split("\r\n") if not line.startswith("Contact:")
            )

        res = await self.exchange(build)
        assert res is not None and res.status == 400

    async def test_oversize_datagram_is_dropped(self) -> None:
        res = await self.exchange(
            lambda e, p: request("OPTIONS", e, p, extra="X-Pad: " + "a" * 20000)
        )
        assert res is None


class TestFlood:
    async def test_listener_survives_garbage_then_answers_options(self, peer: RawPeer) -> None:
        rng = random.Random(1234)
        valid = request("OPTIONS", 1, 1)
        async with running_edge(Handler()) as edge:
            port, dest = edge.local_address[1], ("127.0.0.1", edge.local_address[1])
            for i in range(1500):
                kind = i % 3
                if kind == 0:
                    data = os.urandom(rng.randint(0, 1500))
                elif kind == 1:
                    raw = bytearray(valid.replace(":1", f":{peer.port}").encode())
                    for _ in range(rng.randint(1, 8)):
                        raw[rng.randrange(len(raw))] = rng.randrange(256)
                    data = bytes(raw)
                else:
                    data = valid.encode()[: rng.randint(0, len(valid))]
                peer.send(data, dest)
                if i % 100 == 0:
                    await asyncio.sleep(0)  # let the listener drain its socket
            await asyncio.sleep(0.2)
            while not peer.queue.empty():
                peer.queue.get_nowait()
            call_id = "after-the-flood"
            peer.send(request("OPTIONS", port, peer.port, call_id=call_id), dest)
            async with asyncio.timeout(2.0):
                while True:
                    res = await peer.response()
                    if res.call_id == call_id:
                        break
        assert res.status == 200
