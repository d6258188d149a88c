"""The app's own CPU per request, without an HTTP server: ASGI calls in one process.

``python -m bench.inproc [--db sqlite|postgres] [--requests N] [--profile DIR]`` seeds a small
data set like the harness does, starts the app's lifespan and sends each hot scenario's requests
straight to the ASGI app (no sockets, no h11). It prints ``time.process_time`` per request, which
on a shared machine moves far less than wall-clock figures, and with ``--profile`` writes a
cProfile of each scenario (``python -m pstats``). What it leaves out is the HTTP server's own
share (parsing and serialising), which ``python -m bench`` includes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import harness
from bench.requests import agent_body, connection_body, trunk_body
from trunkline.config import Settings
from trunkline.kit.crypto import SecretBox, generate_key

API = "/api/v1"


def _scope(method: str, path: str, query: bytes, token: str, body: bytes) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode())]
    if body:
        headers += [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]  # fmt: skip
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }  # fmt: skip


async def call(app: Any, scope: dict[str, Any], body: bytes) -> int:
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


# One scenario's request ``i``: (method, path, query, body).
Make = Callable[[int], tuple[str, str, bytes, bytes]]


async def once(app: Any, make: Make, i: int, token: str) -> None:
    """Request ``i`` of a scenario (``scenarios``' makers) through the app; it must succeed."""
    m, p, q, b = make(i)
    status = await call(app, _scope(m, p, q, token, b), b)
    assert status < 300, (p, status)


def scenarios(work: Path, token: str) -> dict[str, Make]:
    numbers = (work / "numbers.txt").read_text().split()
    ids = (work / "number_ids.txt").read_text().split()
    pairs = [line.split() for line in (work / "trunk_post_measure-0.txt").read_text().splitlines()]
    return {
        "snapshot_get": lambda i: (
            "GET", f"{API}/phone-numbers/channels",
            f"number={numbers[i % len(numbers)].replace('+', '%2B')}".encode(), b"",
        ),
        "id_get": lambda i: ("GET", f"{API}/phone-numbers/{ids[i % len(ids)]}", b"", b""),
        "agent_post": lambda i: ("POST", f"{API}/agents", b"", agent_body(i).encode()),
        "connection_post": lambda i: (
            "POST", f"{API}/channels/sip-trunk/connections", b"", connection_body(i).encode(),
        ),
        "trunk_post": lambda i: (
            "POST", f"{API}/phone-numbers/trunks", b"",
            trunk_body(pairs[i][0], pairs[i][1], i).encode(),
        ),
    }  # fmt: skip


async def seeded(args: argparse.Namespace, prefix: str, post_pool: int) -> tuple[Path, str]:
    """A seeded database (``args.numbers``, ``post_pool`` POST trunk pairs) and this process's
    environment set for it, as the HTTP bench's server gets it: the work dir and the token."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    url = args.postgres_url if args.db == "postgres" else None
    if url:
        harness.prepare_postgres(url)
    keyring = generate_key()
    settings = Settings(
        env="production", data_dir=work / "data", database_url=url,
        encryption_keys=keyring, _env_file=None,
    )  # fmt: skip
    env = harness.server_env(settings, keyring, "asyncio")
    ns = argparse.Namespace(
        numbers=args.numbers, post_pool=post_pool, sqlite_analyze=False,
        warmup=0, duration=1, rounds=1, profile=None,
    )  # fmt: skip
    harness.MAX_POST_RATE = ns.post_pool  # one slice holds every POST trunk pair of this run
    data = await harness.prepare_data(settings, SecretBox.from_spec(keyring), env, work, ns)
    os.environ.update(env)
    return work, str(data["token"])


async def run(args: argparse.Namespace) -> None:
    work, token = await seeded(args, "trunkline-inproc-", args.requests * 3 + 100)
    from trunkline.app import create_app

    app = create_app(Settings())
    only = args.only.split(",") if args.only else None
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    async with app.router.lifespan_context(app):
        for name, make in scenarios(work, token).items():
            if only and name not in only:
                continue
            for i in range(args.warmup):  # warm caches (token, statements)
                # POST trunk pairs are used once each: the warm-up takes the first ones.
                m, p, q, b = make(i if name == "trunk_post" else 10**6 + i)
                status = await call(app, _scope(m, p, q, token, b), b)
                assert status < 300, (name, status)
            base = args.warmup
            prof = cProfile.Profile() if args.profile else None
            t0, w0 = time.process_time(), time.perf_counter()
            if prof:
                prof.enable()
            for i in range(args.requests):
                m, p, q, b = make(base + i)
                status = await call(app, _scope(m, p, q, token, b), b)
                assert status < 300, (name, status)
            if prof:
                prof.disable()
                prof.dump_stats(os.path.join(args.profile, f"{args.db}-{name}.prof"))
            cpu = (time.process_time() - t0) / args.requests * 1000
            wall = (time.perf_counter() - w0) / args.requests * 1000
            print(f"{args.db:8} {name:16} CPU {cpu:6.3f} ms/request  wall {wall:6.3f} ms")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.inproc")
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/trunkline_bench"
    )
    p.add_argument("--numbers", type=int, default=2000)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--only")
    p.add_argument("--profile")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
