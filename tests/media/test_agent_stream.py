"""AgentStream against a real `websockets` server on 127.0.0.1 and a real UDP far end."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from tests.media.conftest import FarEnd, audio_packet, wait_until
from tests.support.sip_peers import write_self_signed_cert
from trunkline.media.agent_stream import AgentStream, AgentUnreachable
from trunkline.media.g711 import ULAW_SILENCE
from trunkline.media.ports import PortPool
from trunkline.media.rtp import RtpPacket
from trunkline.media.session import Codec, RtpSession
from trunkline.media.twilio import StreamWriter, new_sid

SILENT_FRAME = bytes([ULAW_SILENCE]) * 160
Script = Callable[["Agent", ServerConnection], Awaitable[None]]


class Agent:
    """A Media Streams agent: records what it receives; its behaviour is a script."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.received: list[dict[str, Any]] = []
        self.headers: Headers | None = None
        self.closed = asyncio.Event()
        self.new_message = asyncio.Event()

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.headers = ws.request.headers
        try:
            await self.script(self, ws)
        finally:
            self.closed.set()

    async def next_message(self, ws: ServerConnection) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await ws.recv())
        self.received.append(message)
        return message

    def events(self) -> list[str]:
        return [m["event"] for m in self.received]


async def echo(agent: Agent, ws: ServerConnection) -> None:
    """Sends caller audio straight back, as Pipecat-style agents do with their TTS."""
    async for raw in ws:
        message = json.loads(raw)
        agent.received.append(message)
        if message["event"] == "media":
            payload = message["media"]["payload"]
            await ws.send(json.dumps({"event": "media", "media": {"payload": payload}}))


@asynccontextmanager
async def running_agent(script: Script, **serve_kwargs: Any) -> AsyncIterator[tuple[Agent, str]]:
    agent = Agent(script)
    async with serve(agent.handler, "127.0.0.1", 0, **serve_kwargs) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield agent, f"ws://127.0.0.1:{port}/stream"


def _writer() -> StreamWriter:
    return StreamWriter(new_sid("AC"), new_sid("CA"), new_sid("MZ"), {"call_uuid": "u-1"})


class Call:
    """A session bridged to an agent: the pieces a call worker would hold."""

    def __init__(self, session: RtpSession, stream: AgentStream, far: FarEnd) -> None:
        self.session, self.stream, self.far = session, stream, far
        self.events: list[tuple[str, dict[str, object]]] = []
        self.writer = _writer()
        self.packets_out_at: dict[str, int] = {}
        self.task: asyncio.Task[str] | None = None

    def on_event(self, kind: str, detail: dict[str, object]) -> None:
        self.events.append((kind, detail))
        self.packets_out_at.setdefault(kind, self.session.stats.packets_out)

    def run(self) -> None:
        self.task = asyncio.create_task(self.stream.run(self.session, self.writer, self.on_event))

    async def result(self) -> str:
        assert self.task is not None
        return await asyncio.wait_for(self.task, 10)

    def send_audio(self, seq: int, payload: bytes) -> None:
        self.far.send(audio_packet(seq, payload), ("127.0.0.1", self.session.local_port))


@asynccontextmanager
async def bridged(
    url: str,
    port_pool: PortPool,
    *,
    token: str | None = None,
    media_timeout_s: float = 60.0,
) -> AsyncIterator[Call]:
    far = await FarEnd.open()
    session = await RtpSession.open("127.0.0.1", port_pool)
    stream = await AgentStream.connect(url, auth_token=token, timeout_s=5)
    session.start(
        remote=far.address,
        codec=Codec.PCMU,
        dtmf_payload_type=101,
        listener=stream,
        media_timeout_s=media_timeout_s,
    )
    call = Call(session, stream, far)
    call.run()
    try:
        yield call
    finally:
        await stream.stop()
        await session.close()
        far.close()


class TestConnect:
    async def test_bearer_token_is_sent_on_the_upgrade(self, port_pool: PortPool) -> None:
        async with running_agent(echo) as (agent, url), bridged(url, port_pool, token="s3cret"):
            await wait_until(lambda: agent.headers is not None, "the upgrade")
            assert agent.headers is not None
            assert agent.headers["Authorization"] == "Bearer s3cret"

    async def test_no_token_no_header(self, port_pool: PortPool) -> None:
        async with running_agent(echo) as (agent, url), bridged(url, port_pool):
            await wait_until(lambda: agent.headers is not None, "the upgrade")
            assert agent.headers is not None
            assert "Authorization" not in agent.headers

    async def test_nothing_listening(self) -> None:
        async with running_agent(echo) as (_, url):
            pass  # the port is closed again
        with pytest.raises(AgentUnreachable, match="refused"):
            await AgentStream.connect(url, auth_token=None, timeout_s=5)

    async def test_silent_server_times_out(self) -> None:
        async def accept_and_say_nothing(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            await reader.read()  # until the client gives up
            writer.close()

        server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            with pytest.raises(AgentUnreachable, match=r"no answer within 0\.3 s"):
                await AgentStream.connect(f"ws://127.0.0.1:{port}/", auth_token=None, timeout_s=0.3)
        finally:
            server.close()
            await server.wait_closed()

    async def test_refused_upgrade(self) -> None:
        def forbid(connection: ServerConnection, request: Request) -> Response:
            return connection.respond(403, "no\n")

        async with running_agent(echo, process_request=forbid) as (_, url):
            with pytest.raises(AgentUnreachable, match="HTTP 403"):
                await AgentStream.connect(url, auth_token="x", timeout_s=5)

    @pytest.mark.parametrize("url", ["http://127.0.0.1:1/", "not a url"])
    async def test_invalid_url(self, url: str) -> None:
        with pytest.raises(AgentUnreachable, match="invalid stream URL"):
            await AgentStream.connect(url, auth_token=None, timeout_s=1)


class TestBridge:
    async def test_echo_agent_caller_audio_comes_back(self, port_pool: PortPool) -> None:
        async with running_agent(echo) as (agent, url), bridged(url, port_pool) as call:
            frames = [bytes([k]) * 160 for k in range(1, 11)]
            for seq, frame in enumerate(frames):
                call.send_audio(seq, frame)
                await asyncio.sleep(0.02)
            await wait_until(
                lambda: (
                    [p.payload for p in call.far.packets if p.payload != SILENT_FRAME] == frames
                ),
                "the echoed audio at the caller",
            )
            assert agent.events()[:2] == ["connected", "start"]
            start = agent.received[1]
            assert start["start"]["callSid"] == call.writer.call_sid
            assert start["start"]["customParameters"] == {"call_uuid": "u-1"}
            media = [m for m in agent.received if m["event"] == "media"]
            assert [base64.b64decode(m["media"]["payload"]) for m in media] == frames
            assert [m["media"]["chunk"] for m in media] == [str(n) for n in range(1, 11)]
            assert [m["media"]["timestamp"] for m in media] == [str(20 * n) for n in range(10)]
            numbers = [int(m["sequenceNumber"]) for m in agent.received[1:]]
            assert numbers == list(range(1, len(numbers) + 1))
            assert call.events[0] == ("agent_connected", {"stream_sid": call.writer.stream_sid})

    async def test_caller_hangup_sends_stop_and_closes(self, port_pool: PortPool) -> None:
        async with running_agent(echo) as (agent, url), bridged(url, port_pool) as call:
            call.send_audio(1, b"\x01" * 160)
            await wait_until(lambda: "media" in agent.events(), "caller audio at the agent")
            await call.stream.stop()
            assert await call.result() == "caller_hangup"
            await asyncio.wait_for(agent.closed.wait(), 10)
            assert agent.events()[-1] == "stop"
            assert agent.received[-1]["stop"] == {
                "accountSid": call.writer.account_sid,
                "callSid": call.writer.call_sid,
            }

    async def test_agent_closing_is_agent_hangup(self, port_pool: PortPool) -> None:
        async def hang_up_after_start(agent: Agent, ws: ServerConnection) -> None:
            while (await agent.next_message(ws))["event"] != "start":
                pass
            await ws.close()

        async with running_agent(hang_up_after_start) as (agent, url):
            async with bridged(url, port_pool) as call:
                assert await call.result() == "agent_hangup"
            assert "stop" not in agent.events()

    async def test_marks_are_echoed_after_their_audio_is_played(self, port_pool: PortPool) -> None:
        async def speak_then_mark(agent: Agent, ws: ServerConnection) -> None:
            await agent.next_message(ws)  # connected
            await agent.next_message(ws)  # start
            audio = base64.b64encode(bytes([9]) * 480).decode()  # 60 ms
            await ws.send(json.dumps({"event": "media", "media": {"payload": audio}}))
            await ws.send(json.dumps({"event": "mark", "mark": {"name": "said-it"}}))
            while (await agent.next_message(ws))["event"] != "mark":
                pass

        async with running_agent(speak_then_mark) as (agent, url), bridged(url, port_pool) as call:
            await asyncio.wait_for(agent.closed.wait(), 10)
            assert await call.result() == "agent_hangup"
            marks = [m for m in agent.received if m["event"] == "mark"]
            assert [m["mark"]["name"] for m in marks] == ["said-it"]
            # The mark fired once the packet with the last of its audio had been sent.
            sent_before_mark = call.packets_out_at["mark"]
            await call.far.wait_packets(sent_before_mark)
            payloads = [p.payload for p in call.far.packets[:sent_before_mark]]
            assert payloads.count(bytes([9]) * 160) == 3
            assert payloads[-1] == bytes([9]) * 160
            assert call.events[1] == ("mark", {"name": "said-it"})

    async def test_clear_stops_queued_audio_within_one_packet(self, port_pool: PortPool) -> None:
        async def talk_then_clear(agent: Agent, ws: ServerConnection) -> None:
            await agent.next_message(ws)  # connected
            await agent.next_message(ws)  # start
            audio = base64.b64encode(bytes([7]) * 8000 * 5).decode()  # 5 s
            await ws.send(json.dumps({"event": "media", "media": {"payload": audio}}))
            await ws.send(json.dumps({"event": "mark", "mark": {"name": "end-of-speech"}}))
            while (await agent.next_message(ws))["event"] != "media":
                pass  # the caller spoke: barge-in
            await ws.send(json.dumps({"event": "clear", "streamSid": "MZ"}))
            while (await agent.next_message(ws))["event"] != "mark":
                pass
            await ws.wait_closed()

        async with running_agent(talk_then_clear) as (agent, url), bridged(url, port_pool) as call:
            await wait_until(lambda: len(call.far.packets) >= 5, "agent audio playing")
            call.send_audio(1, b"\x01" * 160)
            await wait_until(lambda: "mark" in agent.events(), "the mark echo")
            cleared_at = call.packets_out_at["clear"]
            await call.far.wait_packets(cleared_at + 5)
            assert {p.payload for p in call.far.packets[cleared_at:]} == {SILENT_FRAME}
            before = [p.payload for p in call.far.packets[:cleared_at]]
            while before and before[0] == SILENT_FRAME:
                before.pop(0)  # the session ran before the agent's first audio arrived
            assert before and set(before) == {bytes([7]) * 160}
            kinds = [kind for kind, _ in call.events]
            assert kinds.index("clear") < kinds.index("mark")
            assert call.session.queued_ms == 0

    async def test_dtmf_reaches_the_agent(self, port_pool: PortPool) -> None:
        async with running_agent(echo) as (agent, url), bridged(url, port_pool) as call:
            local = ("127.0.0.1", call.session.local_port)
            for seq, end in enumerate((False, False, True, True, True)):
                payload = struct.pack("!BBH", 11, 0x80 * end | 10, 160 * (seq + 1))
                call.far.send(RtpPacket(101, seq, 8000, 5, False, payload), local)
            await wait_until(lambda: "dtmf" in agent.events(), "the dtmf frame")
            dtmf = [m for m in agent.received if m["event"] == "dtmf"]
            assert [m["dtmf"] for m in dtmf] == [{"track": "inbound_track", "digit": "#"}]
            assert ("dtmf", {"digit": "#"}) in call.events

    async def test_frames_reach_the_agent_in_the_order_they_happened(
        self, port_pool: PortPool
    ) -> None:
        # Caller audio goes straight onto the socket while nothing waits before it; a digit
        # goes through the sending task, and audio right behind it must not overtake it.
        async with running_agent(echo) as (agent, url), bridged(url, port_pool) as call:
            await wait_until(lambda: len(agent.received) >= 2, "connected and start")
            call.stream.on_audio(b"\x01" * 160)
            call.stream.on_dtmf("5")
            call.stream.on_audio(b"\x02" * 160)
            call.stream.on_audio(b"\x03" * 160)
            await wait_until(lambda: len(agent.received) >= 6, "four more frames")
            order = [
                m["dtmf"]["digit"]
                if m["event"] == "dtmf"
                else base64.b64decode(m["media"]["payload"])[:1].hex()
                for m in agent.received[2:6]
            ]
            assert order == ["01", "5", "02", "03"]
            # Sequence numbers count every frame after `connected`; chunks and timestamps
            # count the audio alone, whichever path each frame took.
            assert [m["sequenceNumber"] for m in agent.received[1:6]] == ["1", "2", "3", "4", "5"]
            media = [m["media"] for m in agent.received[2:6] if m["event"] == "media"]
            assert [(m["chunk"], m["timestamp"]) for m in media] == [
                ("1", "0"),
                ("2", "20"),
                ("3", "40"),
            ]

    async def test_protocol_error_ends_with_error_and_stop(self, port_pool: PortPool) -> None:
        async def garbage(agent: Agent, ws: ServerConnection) -> None:
            await agent.next_message(ws)
            await agent.next_message(ws)
            await ws.send("this is not json")
            async for raw in ws:
                agent.received.append(json.loads(raw))

        async with running_agent(garbage) as (agent, url):
            async with bridged(url, port_pool) as call:
                assert await call.result() == "error"
            await asyncio.wait_for(agent.closed.wait(), 10)
            assert agent.events()[-1] == "stop"

    async def test_media_timeout_ends_the_bridge(self, port_pool: PortPool) -> None:
        async with running_agent(echo) as (agent, url):
            async with bridged(url, port_pool, media_timeout_s=0.2) as call:
                assert await call.result() == "media_timeout"
            await asyncio.wait_for(agent.closed.wait(), 10)
            assert agent.events()[-1] == "stop"
            assert ("media_timeout", {}) in call.events


class TestTls:
    @pytest.fixture
    def certificate(self, tmp_path: Path) -> tuple[Path, Path]:
        return write_self_signed_cert(tmp_path)

    async def test_wss_with_a_trusted_certificate(self, certificate: tuple[Path, Path]) -> None:
        cert, key = certificate
        server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_tls.load_cert_chain(cert, key)
        async with running_agent(echo, ssl=server_tls) as (agent, url):
            trusted = ssl.create_default_context(cafile=str(cert))
            stream = await AgentStream.connect(
                url.replace("ws://", "wss://"), auth_token="t", timeout_s=5, ssl_context=trusted
            )
            await stream.stop()
            await asyncio.wait_for(agent.closed.wait(), 10)
            assert agent.headers is not None and agent.headers["Authorization"] == "Bearer t"

    async def test_untrusted_certificate_is_unreachable(
        self, certificate: tuple[Path, Path]
    ) -> None:
        cert, key = certificate
        server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_tls.load_cert_chain(cert, key)
        async with running_agent(echo, ssl=server_tls) as (_, url):
            with pytest.raises(AgentUnreachable, match="TLS failed: CERTIFICATE_VERIFY_FAILED"):
                await AgentStream.connect(
                    url.replace("ws://", "wss://"), auth_token=None, timeout_s=5
                )


class TestBounds:
    async def test_agent_audio_beyond_60s_drops_the_oldest_and_says_so(
        self, port_pool: PortPool
    ) -> None:
        async def monologue(agent: Agent, ws: ServerConnection) -> None:
            await agent.next_message(ws)  # connected
            await agent.next_message(ws)  # start
            audio = base64.b64encode(bytes([3]) * 8000 * 70).decode()  # 70 s in one message
            await ws.send(json.dumps({"event": "media", "media": {"payload": audio}}))
            await ws.wait_closed()

        async with running_agent(monologue) as (_, url), bridged(url, port_pool) as call:
            await wait_until(lambda: any(k == "audio_dropped" for k, _ in call.events), "a drop")
            assert ("audio_dropped", {"dropped_ms": 10_000}) in call.events
            assert 59_000 <= call.session.queued_ms <= 60_000
            assert call.session.stats.dropped_ms == 10_000

    async def test_caller_audio_for_a_stalled_agent_is_bounded(self, port_pool: PortPool) -> None:
        async with running_agent(echo) as (_, url):
            stream = await AgentStream.connect(url, auth_token=None, timeout_s=5)
            try:
                # Before run() nothing drains the outbox: it holds 10 s of frames, no more.
                for _ in range(600):
                    stream.on_audio(b"\x01" * 160)
                assert stream.dropped_frames == 100
            finally:
                await stream.stop()
