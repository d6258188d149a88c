"""Benchmark: N concurrent calls bridged RTP ↔ agent WebSocket, measured from the outside.

Run: .venv/bin/python -m bench.media_bridge --calls 200 --seconds 10

Two processes, so the figures are those of the media process alone:

* this one plays the call worker: N ``RtpSession`` + ``AgentStream`` bridges (trunkline.media);
* a peer process (:mod:`bench.media_peer`, started by this one) plays N callers sending a 20 ms
  PCMU packet every 20 ms and an echo agent that sends every caller frame straight back as
  agent audio — written to cost far less CPU than the media process (its CPU is reported next
  to the media process's; when it is not small, the figures measure the peer).

Each caller frame carries a tag; when it comes back in the session's RTP the peer computes the
round trip caller → session → agent → session → caller from the kernel's receive timestamp
(SO_TIMESTAMPNS) and the send time, and the *added latency* of the media path: the round trip
minus the agent's own hold (its echo time - its read time, same clock). The gaps between the
kernel timestamps of consecutive packets from a session are its send pacing (loopback delivers
at once), reported as the deviation from 20 ms. CPU is ``getrusage`` of each process over the
run. ``--server-src DIR`` runs the media side from another checkout's ``src/`` (a paired
*before*; the peer is this checkout's). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# --server-src re-runs this module with the other checkout's src/ first on the path.
SERVER_SRC = os.environ.get("TRUNKLINE_BENCH_SERVER_SRC")
for extra in (ROOT, Path(SERVER_SRC) if SERVER_SRC else ROOT / "src"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import trunkline.media  # noqa: E402
from bench.media_syscalls import SyscallCounter  # noqa: E402
from bench.media_syscalls import report as report_syscalls  # noqa: E402
from trunkline.media import (  # noqa: E402
    AgentStream,
    Codec,
    PortPool,
    RtpSession,
    StreamWriter,
    new_sid,
)
from trunkline.media.pacer import pacer_for  # noqa: E402

FRAME_S = 0.020
HOST = "127.0.0.1"
TICK_SAMPLE = 8  # the CPU of one pacer tick in this many is timed (LoopWatch.time_ticks)


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


class LoopWatch:
    """What can delay the pacer's tick: the loop's lag and the garbage collector's pauses.

    Lag: a callback asked for every 5 ms records how late it ran (a blocked loop delays every
    session's slot by as much). Busy: the process's own CPU time between two such callbacks —
    on a shared machine a lag far above it is the scheduler's (the process was not running),
    a busy time near it is the loop's own work. GC: ``gc.callbacks`` time every collection.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.lag_ms: list[float] = []
        self.busy_ms: list[float] = []
        self.tick_ms: list[float] = []
        self.ticks = 0
        self._cpu = 0.0
        self.gc_ms: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._gc_start = 0.0
        self._due = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def time_ticks(self, pacer: Any, every: int = TICK_SAMPLE) -> None:
        """Record the CPU time of every ``every``-th pacer tick (every session of one phase
        bucket, or of the whole process on a one-tick pacer): its own cost, which delays the
        last session's packet behind the first one's, whatever else the machine does. The tick
        re-arms itself with ``self._tick``, so the wrapper stays in place; ``ticks`` counts all.
        A sample, because ``time.thread_time()`` is a system call (9 µs on this VM: two per
        tick cost the media process 0.2 ms per call-second at 50 calls, 3 % of what it measured).
        """
        tick = pacer._tick

        def timed(*args: Any) -> None:
            self.ticks += 1
            if self.ticks % every:
                tick(*args)
                return
            cpu = time.thread_time()
            tick(*args)
            self.tick_ms.append((time.thread_time() - cpu) * 1000)

        pacer._tick = timed

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self._due = time.perf_counter() + 0.005
        self._cpu = time.thread_time()
        self._timer = self.loop.call_later(0.005, self._tick)

    def stop(self) -> None:
        gc.callbacks.remove(self._on_gc)
        if self._timer is not None:
            self._timer.cancel()

    def _tick(self) -> None:
        # perf_counter, not loop.time(): uvloop's clock has 1 ms steps, cached per iteration.
        now, cpu = time.perf_counter(), time.thread_time()
        self.lag_ms.append(max(0.0, now - self._due) * 1000)
        self.busy_ms.append((cpu - self._cpu) * 1000)
        self._cpu = cpu
        self._due = now + 0.005
        self._timer = self.loop.call_later(0.005, self._tick)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.gc_ms[info["generation"]].append((time.perf_counter() - self._gc_start) * 1000)


async def media_main(
    calls: int,
    seconds: float,
    first_port: int,
    phases: int,
    gc_freeze: bool,
    syscalls: bool,
    peer_read_in_ticks: bool = False,
) -> dict[str, Any]:
    peer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.media_peer",
        "--calls",
        str(calls),
        "--seconds",
        str(seconds),
        "--phases",
        str(phases),
        *(["--read-in-ticks"] if peer_read_in_ticks else []),
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
    plan = {"sessions": [s.local_port for s, _ in opened]}
    load_before = os.getloadavg()[0]
    if gc_freeze:
        gc.collect()
        gc.freeze()  # what the app does after start-up (app.freeze_startup_objects)
    watch = LoopWatch(asyncio.get_running_loop())
    watch.time_ticks(pacer_for(asyncio.get_running_loop()))
    watch.start()
    user0, sys0 = _cpu_split()
    wall0 = time.monotonic()
    peer.stdin.write((json.dumps(plan) + "\n").encode())
    await peer.stdin.drain()
    # A window inside the run (perf attaches within ~0.2 s; the peer sends for `seconds`).
    window = max(seconds - 1.0, seconds / 2)
    counter = (
        SyscallCounter.start({"media": os.getpid(), "peer": peer.pid}, window) if syscalls else None
    )
    result = json.loads(await peer.stdout.readline())
    user1, sys1 = _cpu_split()
    wall = time.monotonic() - wall0
    watch.stop()
    syscall_counts = await asyncio.to_thread(counter.finish) if counter is not None else None
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
        "lag_ms": watch.lag_ms,
        "busy_ms": watch.busy_ms,
        "tick_ms": watch.tick_ms,
        "gc_ms": watch.gc_ms,
        "gc_freeze": gc_freeze,
        "ticks": watch.ticks,
        "syscalls": None
        if counter is None
        else (syscall_counts, calls * counter.seconds, counter.error),
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
        # Talkspurt starts that moved the send grid (absent before the phase buckets: 0).
        ("send grid re-phases (talkspurt starts)", [getattr(s, "rephases", 0) for s in stats]),
        ("send grid moved earlier mid-talkspurt", [getattr(s, "grid_advances", 0) for s in stats]),
    ]
    for name, values in rows:
        print(f"{name:<44}{per_call([float(v) for v in values])}")
    print(f"{'measure (ms)':<44}{'p50':>8} {'p99':>8} {'max':>8}")
    from_agent = [x for c in peer_calls for x in c["from_agent_ms"]]
    backlogs = [min(c["from_agent_ms"][-50:]) for c in peer_calls if c["from_agent_ms"]]
    holds = [x for c in peer_calls for x in c["hold_ms"]]
    # What the media path adds: the round trip minus the agent's own hold, frame by frame.
    added = [
        x - h for c in peer_calls for x, h in zip(c["latencies_ms"], c["hold_ms"], strict=True)
    ]
    for name, values in (
        ("RTP send-interval jitter |gap - 20 ms|", jitter),
        ("caller -> agent (RTP in, WebSocket out)", run["peer"]["to_agent_ms"]),
        ("agent -> caller (incl. wait for the slot)", from_agent),
        ("round trip caller -> agent -> caller", latencies),
        ("agent hold (echo - read, in the peer)", holds),
        ("added latency (round trip - agent hold)", added),
        # A loop stalled for k frames leaves k echoed frames queued behind the slots it missed
        # (nothing is dropped): from then on each of them waits k frames more. The smallest
        # agent -> caller time of a call's last 50 echoes is the backlog it ended with (0-20 ms
        # when there is none).
        ("per call: backlog at the end (least of last 50)", backlogs),
        ("media loop lag (5 ms probe)", run["lag_ms"]),
        ("media CPU between 5 ms probes", run["busy_ms"]),
        (f"media CPU of a pacer tick (1 in {TICK_SAMPLE} timed)", run["tick_ms"]),
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
    peer_cpu = run["peer"]["cpu_s"]
    print(
        f"peer process (callers + echo agent) CPU: {peer_cpu:.2f} s"
        f" = {peer_cpu / call_seconds * 1000:.2f} ms per call-second"
        f" ({peer_cpu / run['wall_s'] * 100:.0f}% of one core;"
        f" user {run['peer']['cpu_user_s']:.2f} s, system {run['peer']['cpu_sys_s']:.2f} s);"
        f" cores: {os.cpu_count()}"
    )
    print(
        f"load average (1 min) before/after: {run['load'][0]:.2f}/{run['load'][1]:.2f}"
        " (the machine is shared: above the core count, the figures measure the neighbours)"
    )
    print(
        f"pacer ticks: {run['ticks'] / run['wall_s']:.0f} a second"
        " (one per phase bucket in use every 20 ms; 50 on a one-tick pacer)"
    )
    pauses = ", ".join(
        f"gen{gen} {len(ms)} x, max {max(ms, default=0.0):.1f} ms"
        for gen, ms in sorted(run["gc_ms"].items())
    )
    print(f"media process GC during the run: {pauses} (gc.freeze first: {run['gc_freeze']})")
    print(f"media code: {Path(trunkline.media.__file__).parent}")
    ended = {reason: run["reasons"].count(reason) for reason in sorted(set(run["reasons"]))}
    print(f"bridges ended: {ended}")
    if run["syscalls"] is not None:
        report_syscalls(*run["syscalls"])


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
    parser.add_argument(
        "--phases",
        type=int,
        default=20,
        help="caller groups spread over each 20 ms (peer; uvloop's timers have 1 ms steps)",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() the media process after the calls are set up (as the app does)",
    )
    parser.add_argument(
        "--peer-read-in-ticks",
        action="store_true",
        help="the peer reads its callers' socket in its send ticks, not on readiness (a remote"
        " caller is not woken by each packet; see bench/media_peer.py)",
    )
    parser.add_argument(
        "--syscalls",
        action="store_true",
        help="count both processes' system calls by kind with perf stat (needs perf and root)",
    )
    parser.add_argument(
        "--server-src",
        type=Path,
        help="run the media side from this src/ directory (another checkout: a paired before)",
    )
    args = parser.parse_args(argv)
    if args.server_src is not None and SERVER_SRC is None:
        argv = sys.argv[1:] if argv is None else argv
        env = dict(os.environ, TRUNKLINE_BENCH_SERVER_SRC=str(args.server_src.resolve()))
        command = [sys.executable, "-m", "bench.media_bridge", *argv]
        return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    media = media_main(
        args.calls,
        args.seconds,
        args.first_port,
        args.phases,
        args.gc_freeze,
        args.syscalls,
        args.peer_read_in_ticks,
    )
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        run = profiler.runcall(_run, media, args.loop)
        report(run)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return 0
    report(_run(media, args.loop))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
