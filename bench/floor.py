"""What a key read can cost at least inside the full app (never a test): ``python -m bench.floor``.

Issue 15 asks for ≤ 0.6 ms of CPU per read by key, token check included. This measures, in one
process and alternating blocks (as ``bench.inproc_ab``), the app with every middleware and
these endpoints added in front of the API:

- ``fastapi_auth``: a FastAPI route that only takes ``AuthDep`` (the session dependency, the
  bearer scheme, the cached token check) and returns a constant envelope;
- ``lane_auth``: a plain Starlette route placed first, that checks the token in the same
  in-process cache and answers a constant envelope (no dependency machinery, no route scan);
- ``lane_orm``: ``lane_auth`` plus one number read by key through an ORM session;
- ``lane_core``: the same read on a Core ``AsyncConnection``;
- ``lane_driver``: the same read's compiled SQL on the driver's own connection
  (``trunkline.db.hot.HotRead``);
- and, for reference, the shipped ``snapshot_get`` and ``id_get``.

Prints ``time.process_time`` per request (median and lowest of the blocks).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import orjson
from sqlalchemy import bindparam, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.inproc import Make, once, scenarios, seeded
from trunkline.config import Settings
from trunkline.deps import AuthDep
from trunkline.envelope import Envelope, ok
from trunkline.models import PhoneNumber
from trunkline.workspace.service import AuthContext, hash_token, workspace_service

API = "/api/v1"
_BY_NUMBER = select(*PhoneNumber.__table__.c).where(
    PhoneNumber.__table__.c.workspace_id == bindparam("workspace_id"),
    PhoneNumber.__table__.c.number == bindparam("number"),
)
_ORM_BY_NUMBER = select(PhoneNumber).where(
    PhoneNumber.workspace_id == bindparam("workspace_id"),
    PhoneNumber.number == bindparam("number"),
)


async def _cached_auth(request: Request) -> AuthContext:
    token = request.headers.get("authorization", "")[7:]
    ctx = workspace_service.auth_cache.get(hash_token(token))
    if ctx is None:  # every 0.5 s (the cache's TTL): read the token row
        async with request.app.state.trunkline.sessionmaker() as session:
            ctx = await workspace_service.authenticate(session, token)
    return ctx


def _answer(data: Any) -> Response:
    body = {"success": True, "message": "ok", "data": data}
    return Response(orjson.dumps(body), media_type="application/json")


def install(app: Any) -> None:
    from trunkline.db.hot import HotRead, hot_connection

    hot = HotRead(_BY_NUMBER)

    async def lane_auth(request: Request) -> Response:
        ctx = await _cached_auth(request)
        return _answer({"workspace": str(ctx.workspace_id)})

    async def lane_orm(request: Request) -> Response:
        ctx = await _cached_auth(request)
        number = request.query_params["number"]
        async with request.app.state.trunkline.sessionmaker() as session:
            row = (
                await session.execute(
                    _ORM_BY_NUMBER, {"workspace_id": ctx.workspace_id, "number": number}
                )
            ).scalar_one()
            await session.commit()
        return _answer({"id": str(row.id)})

    async def lane_core(request: Request) -> Response:
        ctx = await _cached_auth(request)
        number = request.query_params["number"]
        conn = await request.app.state.trunkline.engine.connect()
        try:
            params = {"workspace_id": ctx.workspace_id, "number": number}
            row = (await conn.execute(_BY_NUMBER, params)).one()
            await conn.commit()
        finally:
            await conn.close()
        return _answer({"id": str(row.id)})

    async def lane_driver(request: Request) -> Response:
        ctx = await _cached_auth(request)
        number = request.query_params["number"]
        async with hot_connection(request.app.state.trunkline.engine) as conn:
            rows = await conn.fetch(hot, {"workspace_id": ctx.workspace_id, "number": number})
        return _answer({"id": str(rows[0].id)})

    routes = [
        Route(f"{API}/_floor/{f.__name__}", f, methods=["GET"])
        for f in (lane_auth, lane_orm, lane_core, lane_driver)
    ]
    app.router.routes[:0] = routes

    @app.get(f"{API}/_floor/fastapi_auth", include_in_schema=False)
    async def fastapi_auth(auth: AuthDep) -> Envelope[dict[str, str]]:
        return ok({"workspace": str(auth.workspace_id)}, "ok")


def floor_scenarios(numbers: list[str]) -> dict[str, Make]:
    def query(i: int) -> bytes:
        return f"number={numbers[i % len(numbers)].replace('+', '%2B')}".encode()

    out: dict[str, Make] = {}
    for name in ("fastapi_auth", "lane_auth", "lane_orm", "lane_core", "lane_driver"):
        out[name] = lambda i, name=name: ("GET", f"{API}/_floor/{name}", query(i), b"")  # type: ignore[misc]
    return out


async def run(args: argparse.Namespace) -> None:
    work, token = await seeded(args, "trunkline-floor-", 100)
    from trunkline.app import create_app

    app = create_app(Settings())
    install(app)
    numbers = (work / "numbers.txt").read_text().split()
    makers = {**floor_scenarios(numbers), **scenarios(work, token)}
    only = args.only.split(",") if args.only else [
        "fastapi_auth", "lane_auth", "lane_orm", "lane_core", "lane_driver",
        "snapshot_get", "id_get",
    ]  # fmt: skip
    cpu: dict[str, list[float]] = {name: [] for name in only}
    async with app.router.lifespan_context(app):
        for name in only:
            for i in range(args.warmup):
                await once(app, makers[name], i, token)
        for r in range(args.rounds):
            order = only if r % 2 == 0 else only[::-1]
            for name in order:
                t0 = time.process_time()
                for i in range(args.block):
                    await once(app, makers[name], r * args.block + i, token)
                cpu[name].append((time.process_time() - t0) / args.block * 1000)
    for name in only:
        print(
            f"{args.db:8} {name:14} CPU ms/request median {statistics.median(cpu[name]):.3f}"
            f"  lowest {min(cpu[name]):.3f}",
            flush=True,
        )


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.floor")
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/trunkline_bench"
    )
    p.add_argument("--numbers", type=int, default=2000)
    p.add_argument("--block", type=int, default=300)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--only")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
