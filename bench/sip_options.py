"""Benchmark: OPTIONS probes per second and CPU cost, against a loopback Kamailio.

Run: .venv/bin/python bench/sip_options.py [--seconds 5] [--concurrency 200]

Starts a Kamailio registrar on 127.0.0.1 (tests/support/sip_peers.py), drives OPTIONS
transactions with one SipClient over UDP from ``concurrency`` workers for ``seconds``, and
prints transactions/s, client CPU seconds per 1,000 transactions and the derived CPU share of
one core needed to probe 5,000 targets every 30 s. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "src"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from tests.support.sip_peers import KamailioPeer  # noqa: E402

from trunkline.sip import SipClient, Target  # noqa: E402


async def drive(target: Target, seconds: float, concurrency: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    ok = failed = 0
    async with SipClient(t1_s=0.5, timeout_s=5.0) as client:
        for _ in range(200):  # warm up: socket, caches, kamailio workers
            await client.options(target)
        stop = loop.time() + seconds

        async def worker() -> None:
            nonlocal ok, failed
            while loop.time() < stop:
                res = await client.options(target)
                if res.sip_code == 200:
                    ok += 1
                else:
                    failed += 1

        cpu0, wall0 = time.process_time(), time.perf_counter()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "ok": ok,
        "failed": failed,
        "wall": wall,
        "cpu": cpu,
        "user": ru1.ru_utime - ru0.ru_utime,
        "sys": ru1.ru_stime - ru0.ru_stime,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--kamailio-children", type=int, default=4)
    args = parser.parse_args()
    # log_level 0: no per-request xlog lines, so Kamailio is not the bottleneck.
    with KamailioPeer(children=args.kamailio_children, log_level=0, ipv6=False) as kam:
        r = asyncio.run(drive(kam.target("udp"), args.seconds, args.concurrency))
    total = r["ok"] + r["failed"]
    tps = total / r["wall"]
    cpu_per_tx = r["cpu"] / total if total else float("nan")
    share = (5000 / 30) * cpu_per_tx
    print(f"transactions:            {total} ({r['failed']} failed) in {r['wall']:.2f} s")
    print(f"concurrency:             {args.concurrency} in-flight OPTIONS over one UDP socket")
    print(f"throughput:              {tps:,.0f} OPTIONS transactions/s (target >= 2,000)")
    print(
        f"client CPU:              {r['cpu']:.2f} s (user {r['user']:.2f} s, sys {r['sys']:.2f} s)"
    )
    print(f"CPU per 1,000 tx:        {cpu_per_tx * 1000:.3f} CPU-seconds")
    print(
        f"5,000 targets every 30s: {5000 / 30:.1f} tx/s -> {share * 100:.2f} % of one core "
        "(target well under 25 %)"
    )


if __name__ == "__main__":
    main()
