"""The far side of ``bench.media_bridge``: N callers and the echo agent, made cheap to run.

The media process under test must be what the figures measure, so this peer does as little
Python work per packet as it can (the first harness, one socket, timer and ``websockets``
connection per caller, took as much CPU as the media process itself and fell behind):

* **callers**: ONE UDP socket for all of them (each session is its own port, so each still
  latches on "its" caller) and ONE timer tick every ``20 ms / phases``; tick *k* sends frame
  ``k // phases`` of the callers in group ``k % phases``, so the callers' 20 ms grids are spread
  over the frame instead of arriving together. Packets are written into one prepared
  ``bytearray`` per caller (``pack_into``), no per-packet objects but the send time.
  The socket is read when it becomes readable, or with ``--read-in-ticks`` (from the run's
  start) in those ticks, every ``20 ms / phases``, until EAGAIN: a remote caller is not woken by
  each packet Trunkline sends it, while a local peer waiting on the socket makes each of the
  media process's ``sendmsg`` pay for waking it (on this VM a ``sendto`` to a receiver waiting on
  the socket took 17-39 µs median, to one that was not 10-12 µs; bench/README.md, fifth
  session). The times read are the kernel's receive timestamps either way, so the figures do
  not move by the read's delay (< 1 ms).
* **agent** (:mod:`bench.media_echo`): a minimal WebSocket server on raw non-blocking sockets
  (RFC 6455: the upgrade, masked client frames in, unmasked frames out; ping, close). A caller
  ``media`` frame is echoed as agent ``media`` with the same base64 text, found by two ``find``
  calls, not parsed as JSON.

Timing, all on this machine's one realtime clock: *sent* is ``time.time()`` just before a
caller's ``sendto``; the agent's *read* and *echo* times are taken around its reply, and the
*hold* (echo - read) is what the agent itself adds; the echo's arrival back at the caller is the
kernel's receive timestamp (``SO_TIMESTAMPNS``), so a busy peer does not lengthen it. The media
path's added latency is ``(arrival - sent) - hold``; the agent's read time is when this process
got to the data, so any delay of ours there counts against the media process, never for it.

Run by ``bench.media_bridge`` (``python -m bench.media_peer --calls N --seconds S`` on a
pipe): it prints a hello line (agent URL, caller ports), reads the plan line (session ports),
prints one result line (CPU, per-call counters and samples) and waits for a last line before
exiting.
(``--seconds`` sizes the per-frame arrays; ``--phases`` spreads the callers over the frame.)
It imports nothing of Trunkline, so a paired run of another checkout uses the same peer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import socket
import struct
import sys
import time
from array import array
from typing import Any

from bench.media_echo import FRAME_S, HOST, TAG, TAG_BYTES, EchoAgent, Record
from bench.media_echo import TAG_STRUCT as _TAG

# Linux: kernel receive timestamps as a struct timespec (Python 3.11 lacks the constant).
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_SEQ_TS = struct.Struct("!HI")
_TIMESPEC = struct.Struct("qq")


def _cpu() -> tuple[float, float]:
    """(user, system) CPU seconds of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


class Callers:
    """Every caller on one UDP socket and one timer."""

    def __init__(self, loop: asyncio.AbstractEventLoop, calls: int, record: Record) -> None:
        self.loop = loop
        self.record = record
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        # 200 sessions' packets may arrive while this process is busy: room for ~1 s of them.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
        self.sock.bind((HOST, 0))
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])
        self.calls = calls
        self.packets: list[bytearray] = []
        for index in range(calls):
            packet = bytearray(struct.pack("!BBHII", 0x80, 0, 0, 0, random.getrandbits(32)))
            packet += _TAG.pack(TAG, index, 0) + b"\x55" * (160 - TAG_BYTES)
            self.packets.append(packet)
        self.remotes: list[tuple[str, int]] = []
        self.index_of_port: dict[int, int] = {}
        self.sent = [0] * calls
        self.received = [0] * calls
        self.echoed = [0] * calls
        self.last_rx = [0.0] * calls
        self.gaps_ms: list[array[float]] = [array("d") for _ in range(calls)]
        self.latencies_ms: list[array[float]] = [array("d") for _ in range(calls)]
        self.from_agent_ms: list[array[float]] = [array("d") for _ in range(calls)]
        self.hold_ms: list[array[float]] = [array("d") for _ in range(calls)]
        self._groups: list[list[int]] = []
        self._tick_s = FRAME_S
        self._t0 = 0.0
        self._k = 0
        self._ticks = 0
        self._read_in_ticks = False
        loop.add_reader(self.sock.fileno(), self._readable)

    def start(
        self, sessions: list[int], t0: float, seconds: float, phases: int, read_in_ticks: bool
    ) -> None:
        self.remotes = [(HOST, port) for port in sessions]
        self.index_of_port = {port: index for index, port in enumerate(sessions)}
        phases = max(1, min(phases, self.calls))
        self._groups = [list(range(g, self.calls, phases)) for g in range(phases)]
        self._tick_s = FRAME_S / phases
        self._t0 = t0
        self._ticks = round(seconds / FRAME_S) * phases
        self._read_in_ticks = read_in_ticks
        if self._read_in_ticks:
            self.loop.remove_reader(self.sock.fileno())
        self.loop.call_at(t0, self._tick)

    def _tick(self) -> None:
        if self.sock.fileno() < 0:
            return  # closed: a starved peer's last ticks come after the run
        k = self._k
        if k >= self._ticks:
            # The run's frames are sent: read the last echoes, one tick's time apart, till closed.
            self._readable()
            self._k = k + 1
            self.loop.call_at(self._t0 + self._k * self._tick_s, self._tick)
            return
        n = k // len(self._groups)
        seq_ts = _SEQ_TS.pack(n & 0xFFFF, (n * 160) & 0xFFFFFFFF)
        frame_no = n.to_bytes(4, "big")
        sock, packets, remotes, sent_at = self.sock, self.packets, self.remotes, self.record.sent
        frames, clock = self.record.frames, time.time
        for index in self._groups[k % len(self._groups)]:
            packet = packets[index]
            packet[2:8] = seq_ts
            packet[15:19] = frame_no
            sent_at[index * frames + n] = clock()
            sock.sendto(packet, remotes[index])
        for index in self._groups[k % len(self._groups)]:
            self.sent[index] += 1
        if self._read_in_ticks:
            self._readable()
        self._k = k + 1
        if self._k < self._ticks or self._read_in_ticks:
            self.loop.call_at(self._t0 + self._k * self._tick_s, self._tick)

    def _readable(self) -> None:
        sock, record, frames = self.sock, self.record, self.record.frames
        space = socket.CMSG_SPACE(16)
        while True:
            try:
                data, ancdata, _, addr = sock.recvmsg(256, space)
            except BlockingIOError:
                return
            rx = _TIMESPEC.unpack(ancdata[0][2][:16]) if ancdata else None
            at = rx[0] + rx[1] / 1e9 if rx is not None else time.time()
            index = self.index_of_port.get(addr[1])
            if index is None:
                continue
            self.received[index] += 1
            last = self.last_rx[index]
            if last:
                self.gaps_ms[index].append((at - last) * 1000)
            self.last_rx[index] = at
            if data[12] != TAG:
                continue  # the session's silence: no echo in it
            _, caller, n = _TAG.unpack_from(data, 12)
            slot = caller * frames + n
            sent = record.sent[slot]
            echo = record.agent_echo[slot]
            if caller != index or not sent or not echo:
                continue
            record.sent[slot] = 0.0  # an echo counts once
            self.echoed[index] += 1
            self.latencies_ms[index].append((at - sent) * 1000)
            self.from_agent_ms[index].append((at - echo) * 1000)
            self.hold_ms[index].append((echo - record.agent_read[slot]) * 1000)

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())  # (a no-op when read in ticks)
        self.sock.close()


async def peer_main(calls: int, seconds: float, phases: int, read_in_ticks: bool) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    record = Record(calls, int(seconds / FRAME_S) + 2)
    callers = Callers(loop, calls, record)
    agent = EchoAgent(loop, record)
    hello = {"url": f"ws://{HOST}:{agent.port}/agent", "callers": [callers.port] * calls}
    print(json.dumps(hello), flush=True)
    sessions = json.loads(await reader.readline())["sessions"]
    (user0, sys0), t0 = _cpu(), loop.time() + 0.05
    callers.start(sessions, t0, seconds, phases, read_in_ticks)
    await asyncio.sleep(seconds + 0.55)  # the last echoes come back
    user1, sys1 = _cpu()
    result: dict[str, Any] = {
        "cpu_s": (user1 - user0) + (sys1 - sys0),
        "cpu_user_s": user1 - user0,
        "cpu_sys_s": sys1 - sys0,
        "to_agent_ms": record.to_agent_ms.tolist(),
        "calls": [
            {
                "sent": callers.sent[i],
                "received": callers.received[i],
                "echoed": callers.echoed[i],
                "latencies_ms": callers.latencies_ms[i].tolist(),
                "from_agent_ms": callers.from_agent_ms[i].tolist(),
                "hold_ms": callers.hold_ms[i].tolist(),
                "gaps_ms": callers.gaps_ms[i].tolist(),
            }
            for i in range(calls)
        ],
    }
    callers.close()
    print(json.dumps(result), flush=True)
    await reader.readline()  # the media side hangs up first (its bridges end caller_hangup)
    agent.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bench.media_bridge's callers and echo agent")
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--phases", type=int, default=20, help="caller groups per 20 ms")
    parser.add_argument(
        "--read-in-ticks",
        action="store_true",
        help="read the callers' socket in the send ticks, not when readable (no wake-up each)",
    )
    args = parser.parse_args(argv)
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(peer_main(args.calls, args.seconds, args.phases, args.read_in_ticks))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
