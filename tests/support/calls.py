"""Call-path test peers: SIPp as the carrier, a Pipecat agent process, and an app serving with
a call worker on loopback.

- ``Carrier`` runs SIPp scenarios against the call worker's SIP edge (``uac_pcap``: a real call
  playing SIPp's bundled PCMA recording and an RFC 2833 digit; ``refused``: an INVITE expected
  to be turned down, whose answer is read back from SIPp's message trace).
- ``PipecatAgent`` runs tests/support/agents/pipecat_echo.py as its own process.
- ``serving_calls`` serves the real app with a call worker (SIP on a free port).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from tests.support.server import Server, free_port
from tests.support.sip_peers import PEERS_DIR, find_binary
from trunkline.app import create_app
from trunkline.config import Settings

# Debian's sip-tester ships the pcaps directly here; SIPp looks for them under ./pcap.
SIPP_PCAP_DIR = Path("/usr/share/sip-tester")
REFUSED_XML = PEERS_DIR / "sipp_uac_refused.xml"
ROOT = Path(__file__).resolve().parents[2]
# A caller address no test ever makes a gateway of a trunk, connection or PBX connector: the
# trust check looks at every source in the (session-shared) database, so a stranger at an
# address some other test used as a gateway would be trusted, depending on the test order.
STRANGER_IP = "127.0.0.66"


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class SippResult:
    returncode: int
    messages: str  # -message_file: every message sent and received
    log: str

    def responses(self) -> list[str]:
        """Each SIP response SIPp received, as its raw text (from the status line on)."""
        blocks = re.split(r"^-{5,}.*$", self.messages, flags=re.MULTILINE)
        found = []
        for block in blocks:
            if "message received" not in block:
                continue
            start = block.find("SIP/2.0 ")
            if start >= 0:
                found.append(block[start:].strip())
        return found

    def final(self) -> tuple[int, str | None]:
        """The final response's code and its Reason header."""
        finals = [r for r in self.responses() if not r.startswith("SIP/2.0 1")]
        if not finals:
            raise AssertionError(f"no final response in:\n{self.messages[-3000:]}")
        head = finals[0]
        code = int(head.split()[1])
        match = re.search(r"^Reason:\s*(.+?)\s*$", head, re.MULTILINE | re.IGNORECASE)
        return code, match.group(1) if match else None

    def count(self, method: str) -> int:
        return len(re.findall(rf"^{method} sip:", self.messages, re.MULTILINE))


class Carrier:
    """SIPp as the customer's carrier, calling the edge at ``target`` from ``local_ip``."""

    def __init__(self, workdir: Path, target: tuple[str, int], local_ip: str = "127.0.0.1"):
        if find_binary("sipp") is None:
            raise RuntimeError("sipp is not installed")
        self.workdir = workdir
        self.target = target
        self.local_ip = local_ip
        workdir.mkdir(parents=True, exist_ok=True)
        pcap = workdir / "pcap"
        # SIPp finds pcap files relative to its working directory.
        if not pcap.exists():
            pcap.symlink_to(SIPP_PCAP_DIR)
        self._runs = 0

    def _argv(
        self, scenario: list[str], service: str, extra: list[str]
    ) -> tuple[list[str], Path, Path]:
        self._runs += 1
        messages = self.workdir / f"messages-{self._runs}.log"
        errors = self.workdir / f"errors-{self._runs}.log"
        host, port = self.target
        argv = [
            find_binary("sipp") or "sipp",
            *scenario,
            f"{host}:{port}",
            "-s",
            service,
            "-i",
            self.local_ip,
            "-p",
            str(free_udp_port(self.local_ip)),
            "-mp",
            str(free_udp_port(self.local_ip) & ~1),
            "-m",
            "1",
            "-nd",
            "-timeout",
            "40s",
            "-timeout_error",
            "-trace_msg",
            "-message_file",
            str(messages),
            "-trace_err",
            "-error_file",
            str(errors),
            *extra,
        ]
        return argv, messages, errors

    async def run(self, scenario: list[str], service: str, extra: list[str] = ()) -> SippResult:  # type: ignore[assignment]
        argv, messages, errors = self._argv(scenario, service, list(extra))
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        assert proc.returncode is not None
        text = messages.read_text(errors="replace") if messages.exists() else ""
        err = errors.read_text(errors="replace") if errors.exists() else ""
        return SippResult(proc.returncode, text, out.decode(errors="replace") + err)

    async def call_pcap(self, number: str) -> SippResult:
        """A whole call: INVITE, answered, ≈ 7 s of PCMA (30 ms packets) and a digit, BYE."""
        return await self.run(["-sn", "uac_pcap"], number)

    async def call_external_media(self, number: str, rtp_port: int, hold_ms: int) -> SippResult:
        """A call whose audio the test's own RTP socket (at ``rtp_port``) sends and records."""
        extra = ["-key", "rtp_port", str(rtp_port), "-d", str(hold_ms)]
        return await self.run(["-sf", str(EXTERNAL_MEDIA_XML)], number, extra)

    async def cancel_while_ringing(self, number: str) -> SippResult:
        """INVITE, then CANCEL once it rings: expects 200 (CANCEL) and 487 (INVITE)."""
        return await self.run(["-sf", str(PEERS_DIR / "sipp_uac_cancel.xml")], number)

    async def wait_for_bye(self, number: str) -> SippResult:
        """An answered call that the far end (Trunkline) hangs up: SIPp answers its BYE."""
        return await self.run(["-sf", str(PEERS_DIR / "sipp_uac_wait_bye.xml")], number)

    async def refused(self, number: str, codec: int = 8, codec_name: str = "PCMA") -> SippResult:
        """An INVITE expected to be turned down (403/404/480/486/487/488), then ACKed."""
        keys = ["-key", "codec", str(codec), "-key", "codec_name", codec_name]
        return await self.run(["-sf", str(REFUSED_XML)], number, keys)


class PipecatAgent:
    """The Pipecat echo agent (tests/support/agents/pipecat_echo.py) as its own process."""

    def __init__(self, workdir: Path, mode: str = "echo", interrupt_after_s: float = 1.0):
        self.port = free_port()
        self.report_path = workdir / f"agent-{self.port}.json"
        self.log_path = workdir / f"agent-{self.port}.log"
        self.mode = mode
        self.interrupt_after_s = interrupt_after_s
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def __enter__(self) -> PipecatAgent:
        argv = [
            sys.executable,
            "-m",
            "tests.support.agents.pipecat_echo",
            "--port",
            str(self.port),
            "--report",
            str(self.report_path),
            "--mode",
            self.mode,
            "--interrupt-after-s",
            str(self.interrupt_after_s),
        ]
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"agent exited: {self.log_path.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return self
            time.sleep(0.1)
        raise RuntimeError("agent did not start")

    def __exit__(self, *_: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()

    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.report_path.read_text())
        return data

    async def ended_call(self, call_uuid: str, timeout_s: float = 10.0) -> dict[str, Any]:
        """What the agent saw of one call, once its stream has ended (the agent process writes
        its report when the WebSocket closes, a moment after Trunkline records the end)."""
        sid = f"CA{uuid.UUID(call_uuid).hex}"
        deadline = time.monotonic() + timeout_s
        while True:
            seen: dict[str, Any] | None = self.report()["calls"].get(sid)
            if seen is not None and seen["ended"]:
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(f"the agent never saw {sid} end: {seen}")
            await asyncio.sleep(0.05)


@dataclass
class CallServer:
    url: str
    sip: tuple[str, int]
    app: Any


@asynccontextmanager
async def serving_calls(settings: Settings) -> AsyncIterator[CallServer]:
    """Serve the app with a call worker: its base URL, SIP edge address and the app itself."""
    port = free_port()
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    srv = Server(config)
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        worker = app.state.call_worker
        assert worker is not None, "calls are disabled in these settings"
        yield CallServer(f"http://127.0.0.1:{port}", worker.sip_address, app)
    finally:
        srv.should_exit = True
        await task


EXTERNAL_MEDIA_XML = PEERS_DIR / "sipp_uac_external_media.xml"


@asynccontextmanager
async def silent_agent() -> AsyncIterator[str]:
    """A WebSocket URL whose server accepts TCP and never answers the upgrade."""
    held: list[asyncio.StreamWriter] = []
    done = False

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if done:
            # A connection the kernel accepted before the listener closed (a worker whose
            # dial was cancelled by a CANCEL) reaches us only now: close it, do not leak it.
            writer.close()
            return
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        done = True
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def hanging_up_agent() -> AsyncIterator[str]:
    """A Twilio Media Streams agent that reads ``connected`` and ``start``, then closes."""
    from websockets.asyncio.server import ServerConnection, serve

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()  # connected
        await ws.recv()  # start
        await asyncio.sleep(0.5)
        await ws.close()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws"


class RtpCaller(asyncio.DatagramProtocol):
    """The carrier's media, played and recorded by the test: an RTP socket on an even port.

    It sends to wherever the call's RTP comes from (Trunkline sends from the first moment,
    so the first packet tells where to send — symmetric RTP, as carriers do)."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.remote: tuple[str, int] | None = None
        self.received: list[tuple[float, bytes]] = []  # (arrival, payload)
        self.heard = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(data) < 12:
            return
        if self.remote is None:
            self.remote = (str(addr[0]), int(addr[1]))
            self.heard.set()
        self.received.append((time.monotonic(), data[12:]))

    @classmethod
    async def open(cls) -> tuple[RtpCaller, int]:
        loop = asyncio.get_running_loop()
        for _ in range(50):
            port = free_udp_port() & ~1
            try:
                transport, proto = await loop.create_datagram_endpoint(
                    cls, local_addr=("127.0.0.1", port)
                )
            except OSError:
                continue
            proto.transport = transport
            return proto, port
        raise RuntimeError("no free even UDP port")

    async def play_alaw(self, audio: bytes, frame: int = 160) -> None:
        """Send A-law audio as PCMA (payload type 8), one 20 ms packet every 20 ms."""
        await asyncio.wait_for(self.heard.wait(), 10)
        assert self.transport is not None and self.remote is not None
        loop = asyncio.get_running_loop()
        start = loop.time()
        ssrc, seq, ts = 0x1234ABCD, 1000, 5000
        for n, offset in enumerate(range(0, len(audio), frame)):
            header = struct.pack("!BBHII", 0x80, 8, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
            self.transport.sendto(header + audio[offset : offset + frame], self.remote)
            seq, ts = seq + 1, ts + frame
            await asyncio.sleep(max(0.0, start + (n + 1) * 0.02 - loop.time()))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)
