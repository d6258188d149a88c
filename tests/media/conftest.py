"""Real-socket helpers for media tests: a far-end RTP peer and a recording listener."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from tests.support.sip_peers import free_port
from trunkline.media.ports import PortPool
from trunkline.media.rtp import RtpError, RtpPacket
from trunkline.media.session import Codec, RtpSession

WAIT_S = 10.0  # generous: a loaded 2-core machine must never flake these


async def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


class FarEnd(asyncio.DatagramProtocol):
    """A UDP socket playing the caller's RTP endpoint; records what it receives."""

    def __init__(self) -> None:
        self.packets: list[RtpPacket] = []
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls, host: str = "127.0.0.1") -> FarEnd:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(cls, local_addr=(host, 0))
        protocol.transport = transport
        return protocol

    @property
    def address(self) -> tuple[str, int]:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        try:
            self.packets.append(RtpPacket.parse(data))
        except RtpError:
            raise AssertionError(f"far end received a malformed packet: {data!r}") from None

    def send(self, packet: RtpPacket | bytes, to: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(packet if isinstance(packet, bytes) else packet.to_bytes(), to)

    async def wait_packets(self, count: int) -> None:
        await wait_until(lambda: len(self.packets) >= count, f"{count} packets at the far end")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Recorder:
    """A MediaListener that records every callback in order."""

    def __init__(self) -> None:
        self.audio: list[bytes] = []
        self.digits: list[str] = []
        self.marks: list[str] = []
        self.timeouts = 0
        self.dropped: list[int] = []
        self.on_mark_hook: Callable[[str], None] | None = None

    def on_audio(self, ulaw: bytes) -> None:
        self.audio.append(ulaw)

    def on_dtmf(self, digit: str) -> None:
        self.digits.append(digit)

    def on_mark(self, name: str) -> None:
        if self.on_mark_hook is not None:
            self.on_mark_hook(name)
        self.marks.append(name)

    def on_media_timeout(self) -> None:
        self.timeouts += 1

    def on_audio_dropped(self, dropped_ms: int) -> None:
        self.dropped.append(dropped_ms)


@pytest.fixture
def port_pool() -> PortPool:
    base = min(free_port() & ~1, 65000)
    return PortPool(base, base + 199)


@pytest.fixture
async def far_end() -> AsyncIterator[FarEnd]:
    peer = await FarEnd.open()
    yield peer
    peer.close()


@pytest.fixture
async def session(port_pool: PortPool) -> AsyncIterator[RtpSession]:
    rtp = await RtpSession.open("127.0.0.1", port_pool)
    yield rtp
    await rtp.close()


def audio_packet(
    seq: int, payload: bytes, *, codec: Codec = Codec.PCMU, ssrc: int = 4242
) -> RtpPacket:
    return RtpPacket(
        codec.payload_type, seq & 0xFFFF, (seq * len(payload)) & 0xFFFFFFFF, ssrc, False, payload
    )
