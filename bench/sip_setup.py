"""Benchmark: INVITE -> 200 OK call setups per second through SipEdge, driven by SIPp.

Run: .venv/bin/python bench/sip_setup.py [--rates 50,100,200] [--seconds 5]

Starts a SipEdge on 127.0.0.1 whose handler answers every INVITE at once (no 180), then for
each rate runs SIPp's built-in ``uac`` scenario (INVITE, 100, 200, ACK, BYE, 200) at that
many calls per second for ``seconds``. Prints completed/failed calls, the achieved rate, p50
and p99 setup time (INVITE sent -> 200 received, from SIPp's message trace), and the
edge's CPU time per call (the edge runs in this process; SIPp's CPU is not counted).
Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "src"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from tests.support.sip_peers import find_binary, free_port  # noqa: E402

from trunkline.sip.edge import SipEdge  # noqa: E402
from trunkline.sip.incoming import IncomingCall  # noqa: E402
from trunkline.sip.sdp import answer  # noqa: E402


class AnswerAtOnce:
    def __init__(self) -> None:
        self.calls = 0
        self.acked = 0

    async def on_invite(self, call: IncomingCall) -> None:
        self.calls += 1
        result = None
        if call.sdp_offer is not None:
            result = answer(
                call.sdp_offer, local_ip="127.0.0.1", local_port=30000, session_id="1", version=1
            )
        if result is None:
            call.reject(488, "Not Acceptable Here")
            return
        if await call.answer(result.sdp):
            self.acked += 1


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


_BLOCK = re.compile(r"^-{20,} (\S+ \S+)\n\w+ message (sent|received)[^\n]*\n\n", re.MULTILINE)


def setup_times_ms(trace: Path) -> list[float]:
    """INVITE sent -> its 200 received, per Call-ID, from SIPp's microsecond message trace.

    (SIPp's own ``-trace_rtt`` rounds to whole milliseconds, too coarse on loopback.)
    """
    text = trace.read_text(errors="replace")
    sent: dict[str, datetime] = {}
    done: dict[str, float] = {}
    matches = list(_BLOCK.finditer(text))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        body = text[match.end() : end]
        first = body.split("\n", 1)[0]
        call_id = re.search(r"^Call-ID: *(\S+)", body, re.MULTILINE | re.IGNORECASE)
        cseq = re.search(r"^CSeq: *\d+ +(\w+)", body, re.MULTILINE | re.IGNORECASE)
        if not call_id or not cseq or cseq.group(1) != "INVITE":
            continue
        at = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f")
        key = call_id.group(1)
        if match.group(2) == "sent" and first.startswith("INVITE") and key not in sent:
            sent[key] = at
        elif match.group(2) == "received" and first.startswith("SIP/2.0 200") and key in sent:
            done.setdefault(key, (at - sent[key]).total_seconds() * 1000)
    return list(done.values())


async def run_rate(edge: SipEdge, rate: int, seconds: float, workdir: Path) -> dict[str, float]:
    sipp = find_binary("sipp")
    assert sipp is not None, "sipp is not installed (apt-get install sip-tester)"
    folder = Path(tempfile.mkdtemp(prefix=f"rate{rate}-", dir=workdir))
    host, port = edge.local_address
    total = int(rate * seconds)
    argv = [
        sipp, "-sn", "uac", "-i", "127.0.0.1", "-p", str(free_port()), "-nd", "-nostdin",
        "-r", str(rate), "-m", str(total), "-l", str(max(rate * 2, 50)),
        "-trace_msg", "-message_file", str(folder / "messages.log"),
        f"{host}:{port}",
    ]  # fmt: skip
    cpu0, wall0 = time.process_time(), time.perf_counter()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=folder,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    returncode = await proc.wait()
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    rtts = setup_times_ms(folder / "messages.log")
    return {
        "rate": rate,
        "calls": total,
        "returncode": returncode,
        "measured": len(rtts),
        "wall": wall,
        "achieved": total / wall,
        "p50": statistics.median(rtts) if rtts else float("nan"),
        "p99": percentile(rtts, 99) if rtts else float("nan"),
        "max": max(rtts) if rtts else float("nan"),
        "cpu_ms_per_call": 1000 * cpu / total,
        "user": ru1.ru_utime - ru0.ru_utime,
        "sys": ru1.ru_stime - ru0.ru_stime,
    }


async def main(rates: list[int], seconds: float) -> None:
    handler = AnswerAtOnce()
    with tempfile.TemporaryDirectory(prefix="trunkline-sip-bench-") as tmp:
        edge = SipEdge(("127.0.0.1", 0), ("127.0.0.1", 0), handler)
        await edge.start()
        try:
            print(
                f"{'rate/s':>7} {'calls':>6} {'sipp rc':>7} {'achieved/s':>10} "
                f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'edge CPU ms/call':>16}"
            )
            for rate in rates:
                r = await run_rate(edge, rate, seconds, Path(tmp))
                print(
                    f"{r['rate']:>7} {r['calls']:>6} {r['returncode']:>7} {r['achieved']:>10.1f} "
                    f"{r['p50']:>7.2f} {r['p99']:>7.2f} {r['max']:>7.2f} "
                    f"{r['cpu_ms_per_call']:>16.3f}"
                )
                await asyncio.sleep(1.0)
        finally:
            await edge.close()
    print(f"handler saw {handler.calls} INVITEs, {handler.acked} ACKed 200 OKs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,100,200", help="comma-separated calls/s")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    asyncio.run(main([int(r) for r in args.rates.split(",")], args.seconds))
