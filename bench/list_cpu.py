"""Server CPU per list request, in-process: the app served through ASGI (no sockets, no uvicorn),
each list requested ``--requests`` times, timed with ``time.process_time`` (this process's CPU,
which a shared machine's load moves far less than wall-clock rates).

    .venv/bin/python -m bench.list_cpu --numbers 100000                      # SQLite file
    .venv/bin/python -m bench.list_cpu --numbers 100000 \\
        --postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_lists

The database is seeded once (bench/seed.py: numbers with a call trunk, a binding and an agent
each) and kept for the next run (``--data-dir``; ``--reseed`` starts over). The figure is the
CPU of the whole request as the server sees it (routing, auth, queries, building, JSON) minus
nothing; the database's own CPU on PostgreSQL is not in it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from bench import seed
from trunkline.app import create_app
from trunkline.config import Settings
from trunkline.db import create_engine, create_sessionmaker, session_scope
from trunkline.keys import load_secret_box
from trunkline.kit.crypto import generate_key
from trunkline.migrate import upgrade
from trunkline.workspace.service import workspace_service

WORKSPACE = "bench"

LISTS = {
    "trunks page 1": "/api/v1/phone-numbers/trunks?page=1&per_page=50",
    "trunks page 2,000": "/api/v1/phone-numbers/trunks?page=2000&per_page=50",
    "numbers page 1": "/api/v1/phone-numbers?page=1&per_page=50",
    "agents page 1": "/api/v1/agents?page=1&per_page=50",
    "agents page 2,000": "/api/v1/agents?page=2000&per_page=50",
    "connections page 1": "/api/v1/channels/sip-trunk/connections?page=1&per_page=50",
    "pbx connectors page 1": "/api/v1/channels/pbx/connectors?page=1&per_page=50",
    "calls page 1": "/api/v1/calls?page=1&per_page=50",
}


def settings_for(args: argparse.Namespace, data_dir: Path) -> Settings:
    url = args.postgres_url or f"sqlite+aiosqlite:///{data_dir / 'trunkline.db'}"
    key_file = data_dir / "keyring"
    if not key_file.exists():
        key_file.write_text(generate_key())
    return Settings(
        env="test",
        data_dir=data_dir,
        database_url=url,
        encryption_keys=key_file.read_text(),
        monitor={"enabled": False},
        calls={"enabled": False},
        security={"allow_addresses": ["127.0.0.0/8", "::1/128"]},
        _env_file=None,
    )


async def prepare(settings: Settings, args: argparse.Namespace, data_dir: Path) -> str:
    """Seed once; the token is kept next to the data."""
    token_file = data_dir / ("token-pg" if args.postgres_url else "token")
    engine = create_engine(settings)
    if token_file.exists() and not args.reseed:
        try:
            await upgrade(engine)  # the code under test may add migrations to a kept database
        finally:
            await engine.dispose()
        return token_file.read_text()
    try:
        if args.postgres_url:
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(engine)
        async with session_scope(create_sessionmaker(engine)) as session:
            issued = await workspace_service.create_token(session, WORKSPACE)
        await seed.seed_trunkline(
            engine, issued.workspace_id, load_secret_box(settings), args.numbers, 0
        )
        if args.postgres_url:
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()
    token_file.write_text(issued.token)
    return issued.token


async def measure(settings: Settings, token: str, args: argparse.Namespace) -> None:
    import trunkline

    print(f"trunkline from {Path(trunkline.__file__).parent}")
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {token}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            print(f"{'list':<24} {'CPU ms/request':>15}  (median of {args.rounds} rounds)")
            for name, path in LISTS.items():
                if args.only and not any(o in name for o in args.only):
                    continue
                first = await client.get(path, headers=headers)
                if first.status_code != 200:
                    print(f"{name:<24} status {first.status_code}")
                    continue
                for _ in range(args.warmup):
                    await client.get(path, headers=headers)
                rounds = []
                for _ in range(args.rounds):
                    t0 = time.process_time()
                    for _ in range(args.requests):
                        await client.get(path, headers=headers)
                    rounds.append((time.process_time() - t0) * 1000 / args.requests)
                spread = f"{min(rounds):.2f}-{max(rounds):.2f}"
                print(f"{name:<24} {statistics.median(rounds):>15.2f}  ({spread})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/trunkline-list-cpu"))
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    settings = settings_for(args, args.data_dir)
    token = asyncio.run(prepare(settings, args, args.data_dir))
    asyncio.run(measure(settings, token, args))


if __name__ == "__main__":
    main()
