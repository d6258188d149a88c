"""This session's three changes A/B in one process: the app as it was and as it is, side by side.

``python -m bench.inproc_ab [--db sqlite|postgres]`` builds two apps on the same seeded
database: "before" with the three changes of 2026-12-01 (third session) undone in-process (the
PostgreSQL listeners not installed, the API routers nested under an /api/v1 router, agents and
SIP connections created with add + flush while the before app serves), "after" as shipped. It
alternates blocks of requests between them, scenario by scenario, and prints the median and the
lowest CPU per request of each.
Alternating in one process makes both sides share whatever load the machine has, which separate
runs minutes apart on a shared machine do not.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from bench.inproc import _scope, call, scenarios, seeded
from trunkline.config import Settings


@contextmanager
def built_as_before() -> Iterator[None]:
    """While an app is built and its lifespan starts (the engine): routers nested under an
    /api/v1 router, and no PostgreSQL listeners."""
    import trunkline.api as api
    import trunkline.app as app_module
    import trunkline.db.engine as engine

    def nested(app: FastAPI) -> None:
        root = APIRouter(prefix=api.API_PREFIX)
        for router in api.API_ROUTERS:
            root.include_router(router)
        app.include_router(root)

    saved = (engine.pg_driver.install, app_module.include_api)
    engine.pg_driver.install = lambda _engine: None  # type: ignore[assignment]
    app_module.include_api = nested
    try:
        yield
    finally:
        engine.pg_driver.install, app_module.include_api = saved


@contextmanager
def creating_as_before() -> Iterator[None]:
    """While the before app serves: agents and SIP connections created with add + flush."""
    import trunkline.agent.repository as agents
    import trunkline.sip_connection.repository as connections

    async def add_and_flush(session: Any, row: Any) -> None:
        session.add(row)
        await session.flush()

    saved = (agents.insert_new, connections.insert_new)
    agents.insert_new = connections.insert_new = add_and_flush  # type: ignore[assignment]
    try:
        yield
    finally:
        agents.insert_new, connections.insert_new = saved


@contextmanager
def nothing() -> Iterator[None]:
    yield


async def run(args: argparse.Namespace) -> None:
    per_side = args.block * args.rounds + args.warmup
    work, token = await seeded(args, "trunkline-inproc-ab-", 2 * per_side + 100)
    import trunkline.app as app_module

    with built_as_before():
        before = app_module.create_app(Settings())
    after = app_module.create_app(Settings())
    makers = scenarios(work, token)
    only = args.only.split(",") if args.only else list(makers)
    cpu: dict[tuple[str, str], list[float]] = {}
    with built_as_before():
        ctx_before = before.router.lifespan_context(before)
        await ctx_before.__aenter__()  # the engine is created here: undone too
    async with after.router.lifespan_context(after):
        try:
            for name in only:
                make = makers[name]
                sides = {"before": (before, 0), "after": (after, per_side)}
                modes = {"before": creating_as_before, "after": nothing}
                for side, (app, base) in sides.items():
                    with modes[side]():
                        for i in range(args.warmup):
                            await _once(app, make, base + i, token)
                for r in range(args.rounds):
                    order = ("before", "after") if r % 2 == 0 else ("after", "before")
                    for side in order:
                        app, base = sides[side]
                        start = base + args.warmup + r * args.block
                        with modes[side]():
                            t0 = time.process_time()
                            for i in range(args.block):
                                await _once(app, make, start + i, token)
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


async def _once(app: Any, make: Any, i: int, token: str) -> None:
    m, p, q, b = make(i)
    status = await call(app, _scope(m, p, q, token, b), b)
    assert status < 300, (p, status)


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
