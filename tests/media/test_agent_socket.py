"""media/agent_socket.py: the agent WebSocket's per-frame shortcuts, against real websockets.

These tests pin what the shortcuts rely on in websockets' asyncio implementation (pinned at
17.4 in pyproject.toml): if an upgrade changes the frame format it accepts, how
``data_received`` hands frames to ``process_event``, or the attributes ``can_write`` reads,
they fail here rather than as garbled or lost audio in a call.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.streams import StreamReader

from tests.media.conftest import wait_until
from tests.media.test_agent_stream import Agent as StreamAgent
from tests.media.test_agent_stream import bridged, running_agent
from trunkline.media import agent_socket
from trunkline.media.agent_socket import (
    AgentConnection,
    MaskKeys,
    can_write,
    masked_text_frame,
    write_text,
)
from trunkline.media.ports import PortPool


def _parse_as_server(data: bytes) -> Frame:
    """websockets' own parser, as the agent's server side runs it on what we write."""
    reader = StreamReader()
    reader.feed_data(data)
    parser = Frame.parse(reader.read_exact, mask=True)
    try:
        next(parser)
        while True:
            parser.send(None)
    except StopIteration as done:
        frame: Frame = done.value
    assert not reader.buffer, "bytes left after the frame"
    return frame


def test_websockets_is_the_pinned_version() -> None:
    # agent_socket.py relies on 17.4's internals: re-run these tests before changing the pin.
    assert websockets.__version__ == "17.4"


@pytest.mark.parametrize("length", [0, 1, 125, 126, 400, 65535, 65536, 70000])
def test_masked_frames_parse_as_the_same_text_frame(length: int) -> None:
    text = ("aé" * length).encode()[:length]
    frame = _parse_as_server(masked_text_frame(text, b"\x01\x02\xfe\xff"))
    assert (frame.opcode, frame.fin, bytes(frame.data)) == (Opcode.TEXT, True, text)


def test_the_payload_is_masked_on_the_wire() -> None:
    data = b'{"event":"media"}'
    wire = masked_text_frame(data, b"\xaa\xbb\xcc\xdd")
    assert wire[:2] == bytes([0x81, 0x80 | len(data)])
    assert wire[2:6] == b"\xaa\xbb\xcc\xdd"
    assert data not in wire


def test_mask_keys_come_from_urandom_one_call_per_refill(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real_urandom = os.urandom

    def urandom(size: int) -> bytes:
        calls.append(size)
        return real_urandom(size)

    monkeypatch.setattr(agent_socket.os, "urandom", urandom)
    keys = MaskKeys(keys_per_refill=4)
    drawn = [keys.next() for _ in range(9)]
    assert all(len(key) == 4 for key in drawn)
    assert calls == [16, 16, 16]  # 9 keys: three refills of four keys each
    assert len(set(drawn)) > 1


class Agent:
    """A websockets server that records text messages and sends what a test asks for."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.ws: ServerConnection | None = None
        self.done = asyncio.Event()

    async def handler(self, ws: ServerConnection) -> None:
        self.ws = ws
        try:
            async for message in ws:
                assert isinstance(message, str)
                self.received.append(message)
        finally:
            self.done.set()


@asynccontextmanager
async def agent_and_client() -> AsyncIterator[tuple[Agent, AgentConnection]]:
    agent = Agent()
    async with serve(agent.handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        ws = await connect(f"ws://127.0.0.1:{port}", create_connection=AgentConnection)
        assert isinstance(ws, AgentConnection)
        try:
            await wait_until(lambda: agent.ws is not None, "the server side")
            yield agent, ws
        finally:
            await ws.close()


async def test_written_frames_keep_their_order_with_websockets_own_sends() -> None:
    async with agent_and_client() as (agent, ws):
        assert can_write(ws)
        write_text(ws, "one")
        await ws.send("two")
        write_text(ws, "é" * 200)  # a 16-bit length, non-ASCII
        await ws.send("four")
        await wait_until(lambda: len(agent.received) == 4, "four messages")
        assert agent.received == ["one", "two", "é" * 200, "four"]


async def test_cannot_write_while_websockets_holds_bytes_or_a_fragmented_send() -> None:
    async with agent_and_client() as (_agent, ws):
        ws.protocol.send_ping(b"p")  # queued in protocol.writes, not yet on the socket
        assert not can_write(ws)
        ws.send_data()
        assert can_write(ws)
        ws.send_in_progress = asyncio.get_running_loop().create_future()
        assert not can_write(ws)
        ws.send_in_progress = None
        await ws.close()
        assert not can_write(ws)


async def test_text_messages_go_to_the_callback_in_order_and_control_frames_still_work() -> None:
    async with agent_and_client() as (agent, ws):
        got: list[bytes] = []
        ws.deliver_to(got.append)
        server = agent.ws
        assert server is not None
        await server.send("first")
        await server.send(b"binary is dropped")
        await server.send(["frag", "mented", " é"])  # one message in three frames
        pong = await server.ping()  # answered by websockets inside the client
        await asyncio.wait_for(pong, 5)
        own_pong = await ws.ping()  # the client's keepalive: the pong still reaches it
        await asyncio.wait_for(own_pong, 5)
        await server.send('{"event":"mark"}')
        await wait_until(lambda: len(got) == 3, "three text messages")
        assert got == [b"first", "fragmented é".encode(), b'{"event":"mark"}']
        await server.close()
        await asyncio.wait_for(ws.wait_closed(), 5)


async def test_messages_before_deliver_to_are_kept_then_handed_over_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(agent_socket, "MAX_EARLY_MESSAGES", 3)
    async with agent_and_client() as (agent, ws):
        server = agent.ws
        assert server is not None
        for n in range(5):
            await server.send(f"early {n}")
        await wait_until(lambda: ws.early_dropped == 2, "the early messages")
        got: list[bytes] = []
        ws.deliver_to(got.append)
        assert got == [b"early 0", b"early 1", b"early 2"]
        await server.send("late")
        await wait_until(lambda: len(got) == 4, "the late message")
        assert got[-1] == b"late"


# -- through AgentStream: what the direct delivery changes for a call ----------------------------


async def test_a_text_frame_that_is_not_utf8_is_a_protocol_error(port_pool: PortPool) -> None:
    async def bad_utf8(agent: StreamAgent, ws: ServerConnection) -> None:
        await agent.next_message(ws)
        await agent.next_message(ws)
        await ws.send(b'{"event":"mark","mark":{"name":"\xff"}}', text=True)
        async for raw in ws:
            agent.received.append(json.loads(raw))

    async with running_agent(bad_utf8) as (agent, url):
        async with bridged(url, port_pool) as call:
            assert await call.result() == "error"
            assert [kind for kind, _ in call.events] == ["agent_connected", "protocol_error"]
        await asyncio.wait_for(agent.closed.wait(), 10)
        assert agent.events()[-1] == "stop"


async def test_audio_the_agent_sends_before_start_is_played_first(port_pool: PortPool) -> None:
    early = bytes([7]) * 160

    async def eager(agent: StreamAgent, ws: ServerConnection) -> None:
        payload = base64.b64encode(early).decode()
        await ws.send(json.dumps({"event": "media", "media": {"payload": payload}}))
        async for raw in ws:
            agent.received.append(json.loads(raw))

    async with running_agent(eager) as (_agent, url), bridged(url, port_pool) as call:
        await wait_until(
            lambda: any(p.payload == early for p in call.far.packets), "the early audio"
        )
        played = [p.payload for p in call.far.packets if p.payload != bytes([0xFF]) * 160]
        assert played == [early]  # once, and nothing else but silence


# -- the read fast path: whole text frames parsed here when websockets stands between frames ----


def _server_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    head = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        return bytes((head, n)) + payload
    if n < 65536:
        return bytes((head, 126)) + n.to_bytes(2, "big") + payload
    return bytes((head, 127)) + n.to_bytes(8, "big") + payload


STREAM = b"".join(
    [
        _server_frame(1, b'{"event":"media"}'),
        _server_frame(1, ("é" * 150).encode()),  # a 16-bit length
        _server_frame(2, b"binary, dropped"),
        _server_frame(9, b"ping"),  # answered by websockets
        _server_frame(1, b"frag", fin=False),
        _server_frame(0, b"mented", fin=False),
        _server_frame(0, b"", fin=True),
        _server_frame(1, b""),  # an empty text message
        _server_frame(1, b"last"),
    ]
)
EXPECTED = [b'{"event":"media"}', ("é" * 150).encode(), b"fragmented", b"", b"last"]


async def test_the_parser_is_seen_between_frames_and_not_inside_one() -> None:
    async with agent_and_client() as (_agent, ws):
        got: list[bytes] = []
        ws.deliver_to(got.append)
        # Pins websockets' parser layout (a generator waiting in StreamReader.at_eof between
        # frames): were it to change, the fast path would silently never run.
        assert ws._at_frame_boundary()
        ws.data_received(_server_frame(1, b"x" * 300)[:5])  # a header, part of a payload
        assert not ws._at_frame_boundary()
        ws.data_received(_server_frame(1, b"x" * 300)[5:])
        assert ws._at_frame_boundary()
        assert got == [b"x" * 300]


async def test_every_split_of_the_byte_stream_gives_the_same_messages() -> None:
    async with agent_and_client() as (_agent, ws):
        got: list[bytes] = []
        ws.deliver_to(got.append)
        for cut in range(len(STREAM) + 1):
            got.clear()
            ws.data_received(STREAM[:cut])
            ws.data_received(STREAM[cut:])
            assert got == EXPECTED, cut
        for size in (1, 2, 3, 7):  # dribbled in small pieces
            got.clear()
            for at in range(0, len(STREAM), size):
                ws.data_received(STREAM[at : at + size])
            assert got == EXPECTED, size
        got.clear()
        big = b"y" * 70_000  # a 64-bit length: websockets parses it
        ws.data_received(_server_frame(1, big) + STREAM)
        assert got == [big, *EXPECTED]
        assert ws.protocol.state is State.OPEN


async def test_a_text_frame_over_max_size_still_fails_the_connection() -> None:
    agent = Agent()
    async with serve(agent.handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        ws = await connect(
            f"ws://127.0.0.1:{port}", create_connection=AgentConnection, max_size=100
        )
        assert isinstance(ws, AgentConnection)
        got: list[bytes] = []
        ws.deliver_to(got.append)
        ws.data_received(_server_frame(1, b"ok") + _server_frame(1, b"z" * 101))
        assert got == [b"ok"]
        assert ws.protocol.state is not State.OPEN
        assert ws.protocol.close_sent is not None and ws.protocol.close_sent.code == 1009
        await asyncio.wait_for(ws.wait_closed(), 10)
