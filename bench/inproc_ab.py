"""This session's change A/B in one process: the app as it was and as it is, side by side.

``python -m bench.inproc_ab [--db sqlite|postgres]`` builds two apps on the same seeded
database: "before" without the key-read lane of 2026-12-01 (fifth session) — its routes taken
out, so the FastAPI routes answer every request as they did — and "after" as shipped. It
alternates blocks of requests between them, scenario by scenario, and prints the median and the
lowest CPU per request of each. Alternating in one process makes both sides share whatever load
the machine has, which separate runs minutes apart on a shared machine do not. (Earlier
sessions' versions of this file, which undid their changes, are in git history: d2e6164 and
a6f1e79.)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from bench.inproc import once, scenarios, seeded
from trunkline.config import Settings
from trunkline.lane import LaneRoute


def without_lane(app: Any) -> Any:
    """``app`` with the key-read lane's routes taken out: the FastAPI routes answer."""
    routes = app.router.routes
    routes[:] = [r for r in routes if not isinstance(r, LaneRoute)]
    return app


async def run(args: argparse.Namespace) -> None:
    per_side = args.block * args.rounds + args.warmup
    work, token = await seeded(args, "trunkline-inproc-ab-", 2 * per_side + 100)
    import trunkline.app as app_module

    before = without_lane(app_module.create_app(Settings()))
    after = app_module.create_app(Settings())
    makers = scenarios(work, token)
    only = args.only.split(",") if args.only else list(makers)
    cpu: dict[tuple[str, str], list[float]] = {}
    ctx_before = before.router.lifespan_context(before)
    await ctx_before.__aenter__()
    async with after.router.lifespan_context(after):
        try:
            for name in only:
                make = makers[name]
                sides = {"before": (before, 0), "after": (after, per_side)}
                for app, base in sides.values():
                    for i in range(args.warmup):
                        await once(app, make, base + i, token)
                for r in range(args.rounds):
                    order = ("before", "after") if r % 2 == 0 else ("after", "before")
                    for side in order:
                        app, base = sides[side]
                        start = base + args.warmup + r * args.block
                        t0 = time.process_time()
                        for i in range(args.block):
                            await once(app, make, start + i, token)
                        per = (time.process_time() - t0) / args.block * 1000
                        cpu.setdefault((name, side), []).append(per)
                b, a = cpu[(name, "before")], cpu[(name, "after")]
                mb, ma = statistics.median(b), statistics.median(a)
                print(
                    f"{args.db:8} {name:16} CPU ms/request median {mb:.3f} -> {ma:.3f} "
                    f"({ma / mb - 1:+.0%}), lowest {min(b):.3f} -> {min(a):.3f}",
                    flush=True,
                )
        finally:
            await ctx_before.__aexit__(None, None, None)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.inproc_ab")
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/trunkline_bench"
    )
    p.add_argument("--numbers", type=int, default=2000)
    p.add_argument("--block", type=int, default=300, help="requests per side per round")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--only")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
