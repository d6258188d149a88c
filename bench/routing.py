"""The inbound routing decision alone (never a test): ``python -m bench.routing [--db …]``.

Seeds ``--numbers`` external numbers (bench/seed.py: each a ``call`` trunk from 127.0.0.1, a
binding and its own agent), then asks ``routing_service.inbound`` — the facts read plus the
pure decision, exactly what the call worker does per INVITE — for random seeded numbers, each
in its own transaction, one after the other. Prints the process CPU (user + system, so
aiosqlite's worker thread counts too) and the wall time per decision: a known number dialled in
E.164 (``+1415…``: the call is accepted), the same dialled as bare digits (``1415…``: the
national-form suffix search runs too), and an INVITE from an unknown address.

``--reuse DIR`` keeps the SQLite file (and skips re-seeding PostgreSQL when it holds the
numbers already), so a paired before run (``PYTHONPATH=<other checkout>/src``) reads the same
data. It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import func, insert, select, update

from bench import seed
from trunkline.call.leases import lease_service
from trunkline.config import Settings
from trunkline.db import create_engine, create_sessionmaker, session_scope
from trunkline.kit.crypto import SecretBox, generate_key
from trunkline.migrate import upgrade
from trunkline.models import Agent, PhoneNumber, Workspace
from trunkline.routing.service import InboundRequest, routing_service
from trunkline.routing.trust import GatewayResolver

FORMS = frozenset({"e164", "digits", "unknown"})


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def prepare(settings: Settings, numbers: int) -> None:
    engine = create_engine(settings)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            have = (await conn.execute(select(func.count()).select_from(PhoneNumber))).scalar()
        if have == numbers:
            return
        if have:
            raise SystemExit(f"the database holds {have} numbers, not {numbers}: use a fresh one")
        ws = uuid.uuid4()
        async with engine.begin() as conn:
            await conn.execute(insert(Workspace), [{"id": ws, "slug": f"routing-{ws.hex[:8]}"}])
        box = SecretBox.from_spec(generate_key())
        t0 = time.perf_counter()
        await seed.seed_trunkline(engine, ws, box, numbers, 0)
        async with engine.begin() as conn:  # agents that can answer: the decision runs to the end
            await conn.execute(update(Agent).values(stream_url="ws://127.0.0.1:9/"))
        if engine.dialect.name == "postgresql":
            async with engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.exec_driver_sql("VACUUM ANALYZE")
        print(f"seeded {numbers:,} numbers in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    finally:
        await engine.dispose()


async def measure(
    settings: Settings, numbers: int, decisions: int, forms: frozenset[str] = FORMS
) -> list[str]:
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    resolver = GatewayResolver()
    rng = random.Random(1)
    lines = []
    try:
        for form, label, source, known, plus in (
            ("e164", "known number, +E.164", "127.0.0.1", True, "+"),
            ("digits", "known number, bare digits", "127.0.0.1", True, ""),
            ("unknown", "unknown source (a scanner)", "127.0.0.9", False, "+"),
        ):
            if form not in forms:
                continue
            dialled = [
                plus
                + (seed.seeded_number(rng.randrange(numbers))[1:] if known else f"1312555{i:04d}")
                for i in range(decisions)
            ]
            verdicts: dict[str, int] = {}
            for warm in (True, False):
                cpu0, wall0 = cpu_s(), time.perf_counter()
                for user in dialled[: 50 if warm else None]:
                    request = InboundRequest(
                        source_ip=source,
                        request_uri_user=user,
                        to_user=user,
                        offered_codecs=("PCMU", "PCMA"),
                    )
                    async with session_scope(sessions) as session:
                        decision = await routing_service.inbound(
                            session,
                            request,
                            resolver=resolver,
                            lease_counts=lease_service.lease_counts,
                        )
                    if not warm:
                        key = decision.rejected_by.value if decision.rejected_by else "accepted"
                        verdicts[key] = verdicts.get(key, 0) + 1
                cpu, wall = cpu_s() - cpu0, time.perf_counter() - wall0
            line = (
                f"{settings.database_url.split(':')[0]:<22} {label:<30} "
                f"{1e6 * cpu / decisions:>9.0f} {1e6 * wall / decisions:>10.0f}  {verdicts}"
            )
            print(line, flush=True)
            lines.append(line)
    finally:
        await engine.dispose()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/bench_routing"
    )
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--decisions", type=int, default=2_000)
    parser.add_argument("--reuse", type=Path, help="keep the SQLite data here between runs")
    parser.add_argument("--forms", default="e164,digits,unknown", help="which INVITEs to time")
    args = parser.parse_args()
    if args.postgres_url.rsplit("/", 1)[-1] in ("test", "postgres"):
        parser.error("use a dedicated database")
    data = args.reuse or Path(tempfile.mkdtemp(prefix="trunkline-routing-"))
    print(f"{'database':<22} {'INVITE':<30} {'CPU µs':>9} {'wall µs':>10}  verdicts")
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        url = args.postgres_url if db == "postgres" else f"sqlite+aiosqlite:///{data}/routing.db"
        settings = Settings(
            env="production",
            data_dir=data,
            database_url=url,
            encryption_keys=generate_key(),
            _env_file=None,
        )
        asyncio.run(prepare(settings, args.numbers))
        forms = frozenset(args.forms.split(","))
        asyncio.run(measure(settings, args.numbers, args.decisions, forms))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
