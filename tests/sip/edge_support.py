"""Helpers for SipEdge tests: call handlers and a raw UDP/TCP peer on loopback."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from trunkline.sip.edge import SipEdge
from trunkline.sip.incoming import IncomingCall
from trunkline.sip.message import SipRequest, SipResponse, frame_length, parse_message
from trunkline.sip.sdp import answer

OFFER = (
    "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
)


@dataclass
class Handler:
    """Rings, then answers (``mode="answer"``), rejects with 488 when no G.711, or only rings."""

    mode: str = "answer"  # "answer" | "ring" | "hangup_after_ack" | "fail"
    calls: list[IncomingCall] = field(default_factory=list)
    answered: list[bool] = field(default_factory=list)
    infos: list[tuple[str, str]] = field(default_factory=list)
    reinvites: list[str] = field(default_factory=list)
    new_call: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_invite(self, call: IncomingCall) -> None:
        self.calls.append(call)
        self.new_call.set()
        if self.mode == "fail":
            raise RuntimeError("handler blew up")
        call.on_info = lambda ct, body: self.infos.append((ct, body))

        def on_reinvite(offer: object) -> str:
            from trunkline.sip.sdp import SessionDescription

            assert isinstance(offer, SessionDescription)
            self.reinvites.append(offer.direction)
            result = answer(
                offer, local_ip="127.0.0.1", local_port=30000, session_id="9", version=2
            )
            assert result is not None
            return result.sdp

        call.on_reinvite = on_reinvite
        call.ringing()
        if self.mode == "ring":
            return
        if call.sdp_offer is None:
            call.reject(488, "Not Acceptable Here")
            return
        result = answer(
            call.sdp_offer, local_ip="127.0.0.1", local_port=30000, session_id="9", version=1
        )
        if result is None:
            call.reject(488, "Not Acceptable Here", reason_header='Q.850;cause=65;text="codec"')
            return
        ok = await call.answer(result.sdp)
        self.answered.append(ok)
        if ok and self.mode == "hangup_after_ack":
            await call.hangup()


@asynccontextmanager
async def running_edge(
    handler: Handler, *, t1_s: float = 0.05, t2_s: float = 0.4
) -> AsyncIterator[SipEdge]:
    edge = SipEdge(("127.0.0.1", 0), ("127.0.0.1", 0), handler, t1_s=t1_s, t2_s=t2_s)
    await edge.start()
    try:
        yield edge
    finally:
        await edge.close()


class RawPeer(asyncio.DatagramProtocol):
    """A UDP socket that sends text and queues whatever comes back, parsed."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[SipRequest | SipResponse, tuple[str, int]]] = (
            asyncio.Queue()
        )
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0

    @classmethod
    async def open(cls, host: str = "127.0.0.1") -> RawPeer:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(cls, local_addr=(host, 0))
        proto.transport = transport
        proto.port = transport.get_extra_info("sockname")[1]
        return proto

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.queue.put_nowait((parse_message(data), (str(addr[0]), int(addr[1]))))

    def send(self, data: bytes | str, to: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data.encode() if isinstance(data, str) else data, to)

    async def recv(self, timeout_s: float = 2.0) -> SipRequest | SipResponse:
        msg, _ = await asyncio.wait_for(self.queue.get(), timeout_s)
        return msg

    async def response(self, timeout_s: float = 2.0) -> SipResponse:
        msg = await self.recv(timeout_s)
        assert isinstance(msg, SipResponse), msg
        return msg

    async def silent(self, for_s: float) -> bool:
        """True when nothing arrives within ``for_s``."""
        try:
            await asyncio.wait_for(self.queue.get(), for_s)
        except TimeoutError:
            return True
        return False

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def request(
    method: str,
    edge_port: int,
    peer_port: int,
    *,
    call_id: str | None = None,
    branch: str | None = None,
    cseq: int = 1,
    to_tag: str | None = None,
    from_tag: str = "peer1",
    transport: str = "UDP",
    extra: str = "",
    body: str = "",
    rport: bool = True,
    cseq_method: str | None = None,
    content_type: str = "application/sdp",
) -> str:
    """A request as a peer would send it; Content-Length matches ``body``."""
    to = f"<sip:+15551234567@127.0.0.1:{edge_port}>" + (f";tag={to_tag}" if to_tag else "")
    via_params = (";rport" if rport else "") + f";branch=z9hG4bK{branch or secrets.token_hex(6)}"
    lines = [
        f"{method} sip:+15551234567@127.0.0.1:{edge_port} SIP/2.0",
        f"Via: SIP/2.0/{transport} 127.0.0.1:{peer_port}{via_params}",
        "Max-Forwards: 70",
        f'From: "Carrier" <sip:+15557654321@127.0.0.1:{peer_port}>;tag={from_tag}',
        f"To: {to}",
        f"Call-ID: {call_id or secrets.token_hex(8)}",
        f"CSeq: {cseq} {cseq_method or method}",
        f"Contact: <sip:peer@127.0.0.1:{peer_port}>",
    ]
    if extra:
        lines.append(extra.rstrip("\r\n"))
    if body:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body.encode())}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


async def tcp_exchange(
    port: int, data: str, *, responses: int = 1, timeout_s: float = 2.0
) -> list[SipResponse]:
    """Send ``data`` on a new TCP connection and read ``responses`` framed responses."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out: list[SipResponse] = []
    try:
        writer.write(data.encode())
        buffer = b""
        async with asyncio.timeout(timeout_s):
            while len(out) < responses:
                size = frame_length(buffer)
                if size is None:
                    chunk = await reader.read(4096)
                    assert chunk, "connection closed"
                    buffer += chunk
                    continue
                msg = parse_message(buffer[:size])
                buffer = buffer[size:]
                assert isinstance(msg, SipResponse)
                out.append(msg)
    finally:
        writer.close()
        await writer.wait_closed()
    return out
