"""Benchmark: N concurrent calls bridged RTP ↔ agent WebSocket, measured from the outside.

Run: .venv/bin/python -m bench.media_bridge --calls 200 --seconds 10

Two processes, so the figures are those of the media process alone:

* this one plays the call worker: N ``RtpSession`` + ``AgentStream`` bridges (trunkline.media);
* a peer process (``--peer``, started by this one) plays N callers and the agent: one UDP socket
  per caller sending a 20 ms PCMU packet every 20 ms, and one ``websockets`` echo agent that
  sends every caller frame straight back as agent audio.

Each caller frame carries a tag; when it comes back in the session's RTP the peer computes the
round trip caller → session → agent → session → caller from the kernel's receive timestamp
(SO_TIMESTAMPNS) and the send time. The gaps between the kernel timestamps of consecutive
packets from the session are its send pacing (loopback delivers at once), reported as the
deviation from 20 ms. CPU is ``getrusage`` of each process over the run. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import resource
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "src"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from websockets.asyncio.server import ServerConnection, serve  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from trunkline.media import (  # noqa: E402
    AgentStream,
    Codec,
    PortPool,
    RtpSession,
    StreamWriter,
    new_sid,
)

FRAME_S = 0.020
TAG = 0x01  # first payload byte of a caller frame (silence frames start with 0xFF)
TAG_BYTES = 7  # TAG, caller index (16 bits), frame number (32 bits)
HOST = "127.0.0.1"
# Linux: kernel receive timestamps as a struct timespec (Python 3.11 lacks the constant).
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_split() -> tuple[float, float]:
    """(user, system) CPU seconds of this process: the kernel's share is the sockets' work."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _run(main: Awaitable[Any], loop: str) -> Any:
    """Run ``main`` on the chosen event loop (the call worker runs on uvloop)."""
    if loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main)  # type: ignore[arg-type]
    return asyncio.run(main)  # type: ignore[arg-type]


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- the peer process: callers and the echo agent ----------------------------------------------


class Tags:
    """When each tagged frame left its caller and left the agent (peer process, one clock)."""

    def __init__(self) -> None:
        self.caller_sent: dict[bytes, float] = {}
        self.agent_sent: dict[bytes, float] = {}
        self.to_agent_ms: list[float] = []


class Caller:
    """One caller's RTP socket: sends tagged 20 ms frames, timestamps what comes back."""

    def __init__(self, loop: asyncio.AbstractEventLoop, index: int, tags: Tags) -> None:
        self.index = index
        self.tags = tags
        self.loop = loop
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.bind((HOST, 0))
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])
        self.remote: tuple[str, int] = (HOST, 0)
        self.ssrc = random.getrandbits(32)
        self.sent = 0
        self.received = 0
        self.echoed = 0
        self.latencies_ms: list[float] = []
        self.from_agent_ms: list[float] = []
        self.gaps_ms: list[float] = []
        self._last_rx: float | None = None
        self._stop_at = 0.0
        self._t0 = 0.0
        loop.add_reader(self.sock.fileno(), self._readable)

    def start(self, remote: tuple[str, int], t0: float, seconds: float) -> None:
        self.remote = remote
        self._t0 = t0 + random.random() * FRAME_S  # callers are not in phase with each other
        self._stop_at = t0 + seconds
        self.loop.call_at(self._t0, self._send)

    def _send(self) -> None:
        now = self.loop.time()
        if now >= self._stop_at:
            return
        n = self.sent
        tag = struct.pack("!BHI", TAG, self.index, n)
        header = struct.pack("!BBHII", 0x80, 0, n & 0xFFFF, (n * 160) & 0xFFFFFFFF, self.ssrc)
        self.tags.caller_sent[tag] = time.time()
        self.sock.sendto(header + tag + b"\x55" * (160 - len(tag)), self.remote)
        self.sent += 1
        self.loop.call_at(self._t0 + self.sent * FRAME_S, self._send)

    def _readable(self) -> None:
        while True:
            try:
                data, ancdata, _, _ = self.sock.recvmsg(2048, socket.CMSG_SPACE(16))
            except BlockingIOError:
                return
            rx = time.time()
            for level, kind, value in ancdata:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", value[:16])
                    rx = sec + nsec / 1e9
            self.received += 1
            if self._last_rx is not None:
                self.gaps_ms.append((rx - self._last_rx) * 1000)
            self._last_rx = rx
            tag = data[12 : 12 + TAG_BYTES]
            sent = self.tags.caller_sent.pop(tag, None)
            if sent is not None:
                self.echoed += 1
                self.latencies_ms.append((rx - sent) * 1000)
                self.from_agent_ms.append((rx - self.tags.agent_sent.pop(tag)) * 1000)

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


def _echo(tags: Tags) -> Callable[[ServerConnection], Awaitable[None]]:
    prefix = '{"event":"media","media":{"payload":"'

    async def handler(ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                message = json.loads(raw)
                if message.get("event") != "media":
                    continue
                payload = message["media"]["payload"]
                tag = base64.b64decode(payload)[:TAG_BYTES]
                now = time.time()
                sent = tags.caller_sent.get(tag)
                if sent is not None:
                    tags.to_agent_ms.append((now - sent) * 1000)
                    tags.agent_sent[tag] = now
                await ws.send(prefix + payload + '"}}')

    return handler


async def peer_main(calls: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tags = Tags()
    callers = [Caller(loop, index, tags) for index in range(calls)]
    async with serve(_echo(tags), HOST, 0, compression=None, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        hello = {"url": f"ws://{HOST}:{port}/agent", "callers": [c.port for c in callers]}
        print(json.dumps(hello), flush=True)
        plan = json.loads(await reader.readline())
        seconds = float(plan["seconds"])
        cpu0, t0 = _cpu_s(), loop.time()
        for caller, session_port in zip(callers, plan["sessions"], strict=True):
            caller.start((HOST, session_port), t0, seconds)
        await asyncio.sleep(seconds + 0.5)  # the last echoes come back
        cpu = _cpu_s() - cpu0
        result = {
            "cpu_s": cpu,
            "to_agent_ms": tags.to_agent_ms,
            "calls": [
                {
                    "sent": c.sent,
                    "received": c.received,
                    "echoed": c.echoed,
                    "latencies_ms": c.latencies_ms,
                    "from_agent_ms": c.from_agent_ms,
                    "gaps_ms": c.gaps_ms,
                }
                for c in callers
            ],
        }
        for caller in callers:
            caller.close()
        print(json.dumps(result), flush=True)
        await reader.readline()  # the media side hangs up first (its bridges end caller_hangup)


# -- the media process: sessions and agent streams ---------------------------------------------


async def _open_call(
    pool: PortPool, url: str, caller_port: int, bridges: list[asyncio.Task[str]]
) -> tuple[RtpSession, AgentStream]:
    session = await RtpSession.open(HOST, pool)
    stream = await AgentStream.connect(url, auth_token="bench", timeout_s=30)
    session.start(
        remote=(HOST, caller_port),
        codec=Codec.PCMU,
        dtmf_payload_type=101,
        listener=stream,
    )
    writer = StreamWriter(new_sid("AC"), new_sid("CA"), new_sid("MZ"), {"call_uuid": "bench"})
    bridges.append(asyncio.create_task(stream.run(session, writer)))
    return session, stream


async def media_main(calls: int, seconds: float, first_port: int) -> dict[str, Any]:
    peer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.media_bridge",
        "--peer",
        "--calls",
        str(calls),
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        limit=256 * 1024 * 1024,  # the peer's result is one JSON line with every sample
    )
    assert peer.stdin is not None and peer.stdout is not None
    hello = json.loads(await peer.stdout.readline())
    pool = PortPool(first_port, first_port + 2 * calls + 200)
    bridges: list[asyncio.Task[str]] = []
    opened: list[tuple[RtpSession, AgentStream]] = []
    for start in range(0, calls, 50):  # open in batches: the agent accepts 50 at a time
        batch = hello["callers"][start : start + 50]
        opened += await asyncio.gather(
            *(_open_call(pool, hello["url"], port, bridges) for port in batch)
        )
    plan = {"sessions": [s.local_port for s, _ in opened], "seconds": seconds}
    load_before = os.getloadavg()[0]
    user0, sys0 = _cpu_split()
    wall0 = time.monotonic()
    peer.stdin.write((json.dumps(plan) + "\n").encode())
    await peer.stdin.drain()
    result = json.loads(await peer.stdout.readline())
    user1, sys1 = _cpu_split()
    wall = time.monotonic() - wall0
    stats = [session.stats for session, _ in opened]
    for session, stream in opened:
        await stream.stop()
        await session.close()
    reasons = await asyncio.gather(*bridges)
    peer.stdin.write(b"bye\n")
    peer.stdin.close()
    await peer.wait()
    return {
        "calls": calls,
        "seconds": seconds,
        "wall_s": wall,
        "cpu_s": (user1 - user0) + (sys1 - sys0),
        "cpu_user_s": user1 - user0,
        "cpu_sys_s": sys1 - sys0,
        "loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
        "peer": result,
        "stats": stats,
        "reasons": reasons,
        "load": (load_before, os.getloadavg()[0]),
    }


def report(run: dict[str, Any]) -> None:
    calls, seconds = run["calls"], run["seconds"]
    peer_calls = run["peer"]["calls"]
    stats = run["stats"]
    latencies = [x for c in peer_calls for x in c["latencies_ms"]]
    jitter = [abs(g - FRAME_S * 1000) for c in peer_calls for g in c["gaps_ms"]]

    def per_call(values: list[float]) -> str:
        return f"{min(values):>8.0f} {sum(values) / len(values):>8.1f} {max(values):>8.0f}"

    print(f"== media bridge: {calls} calls x {seconds:g} s (PCMU, echo agent in another process)")
    print(f"{'per call':<44}{'min':>8} {'mean':>8} {'max':>8}")
    rows = [
        ("caller packets sent", [c["sent"] for c in peer_calls]),
        ("session packets in (from caller)", [s.packets_in for s in stats]),
        ("session packets out (to caller)", [s.packets_out for s in stats]),
        ("caller frames echoed back (agent round trip)", [c["echoed"] for c in peer_calls]),
        ("late sends", [s.late_sends for s in stats]),
        ("skipped send slots", [s.skipped_sends for s in stats]),
    ]
    for name, values in rows:
        print(f"{name:<44}{per_call([float(v) for v in values])}")
    print(f"{'measure (ms)':<44}{'p50':>8} {'p99':>8} {'max':>8}")
    from_agent = [x for c in peer_calls for x in c["from_agent_ms"]]
    for name, values in (
        ("RTP send-interval jitter |gap - 20 ms|", jitter),
        ("caller -> agent (RTP in, WebSocket out)", run["peer"]["to_agent_ms"]),
        ("agent -> caller (incl. wait for the slot)", from_agent),
        ("round trip caller -> agent -> caller", latencies),
    ):
        print(
            f"{name:<44}{_percentile(values, 0.5):>8.2f} {_percentile(values, 0.99):>8.2f}"
            f" {max(values, default=float('nan')):>8.2f}"
        )
    call_seconds = calls * run["wall_s"]
    # Under load the process may handle fewer packets than a call makes (the kernel drops what
    # overflows a socket, the pacer skips slots): CPU per packet handled stays comparable. A
    # call-second is 200 packets: 50 RTP in, 50 frames to the agent, 50 back, 50 RTP out.
    rtp_in = sum(s.packets_in for s in stats)
    rtp_out = sum(s.packets_out for s in stats)
    to_agent = len(run["peer"]["to_agent_ms"])  # each was echoed back to the session
    handled = rtp_in + 2 * to_agent + rtp_out
    print(
        f"media process CPU: {run['cpu_s']:.2f} s ({run['loop']} loop) over"
        f" {run['wall_s']:.1f} s wall = {run['cpu_s'] / call_seconds * 1000:.2f} ms CPU per"
        f" call-second ({run['cpu_s'] / run['wall_s'] * 100:.0f}% of one core;"
        f" user {run['cpu_user_s']:.2f} s, system {run['cpu_sys_s']:.2f} s)"
    )
    print(
        f"media process CPU per 200 packets handled (one call-second when none is lost):"
        f" {run['cpu_s'] / max(handled, 1) * 200 * 1000:.2f} ms"
        f" ({handled / max(call_seconds * 200, 1) * 100:.0f}% of the calls' packets were handled)"
    )
    print(
        f"peer process (callers + echo agent) CPU: {run['peer']['cpu_s']:.2f} s"
        f" ({run['peer']['cpu_s'] / run['wall_s'] * 100:.0f}% of one core); cores: {os.cpu_count()}"
    )
    print(
        f"load average (1 min) before/after: {run['load'][0]:.2f}/{run['load'][1]:.2f}"
        " (the machine is shared: above the core count, the figures measure the neighbours)"
    )
    ended = {reason: run["reasons"].count(reason) for reason in sorted(set(run["reasons"]))}
    print(f"bridges ended: {ended}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--first-port", type=int, default=30000, help="start of the RTP range")
    parser.add_argument("--profile", action="store_true", help="cProfile the media process")
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="the media process's event loop (the call worker's is uvloop)",
    )
    parser.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer:
        # The peer is the machine's other half of the load: the fast loop leaves the media
        # process more of a shared machine, whichever loop the media process runs.
        _run(peer_main(args.calls), "uvloop")
        return 0
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        run = profiler.runcall(
            _run, media_main(args.calls, args.seconds, args.first_port), args.loop
        )
        report(run)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return 0
    report(_run(media_main(args.calls, args.seconds, args.first_port), args.loop))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
