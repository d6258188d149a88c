"""CPU one core spends to keep N SIP connections checked every interval (issue 4 target).

Seeds N connections that point at a loopback Kamailio, runs the real MonitorService (claims,
leases, OPTIONS, REGISTER refreshes, batched result writes) in this process for a number of
intervals, and prints the process CPU time as a share of one core. Kamailio's own CPU is not
counted (it is the peer, not us).

    .venv/bin/python bench/monitor_load.py                      # 5,000 targets, 30 s, 2 intervals
    .venv/bin/python bench/monitor_load.py --targets 500 --interval 3 --register
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select
from tests.support.sip_peers import DEFAULT_USERS, KamailioPeer

from trunkline.config import MonitorSettings, Settings
from trunkline.db import create_engine, create_sessionmaker
from trunkline.kit.clock import utcnow
from trunkline.kit.crypto import SecretBox, aad_for, generate_key
from trunkline.kit.egress import EgressPolicy
from trunkline.migrate import upgrade
from trunkline.models import SipConnection, Workspace
from trunkline.monitor.service import MonitorService


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="trunkline-monbench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
    key = generate_key()
    settings = Settings(data_dir=data_dir, database_url=url, encryption_keys=key, _env_file=None)
    box = SecretBox.from_spec(key)
    engine = create_engine(settings)
    await upgrade(engine)
    sm = create_sessionmaker(engine)

    with KamailioPeer(algo="MD5", users=DEFAULT_USERS, ipv6=False, children=4) as kam:
        ws_id = uuid.uuid4()
        now = utcnow()
        rows = []
        for _ in range(args.targets):
            cid = uuid.uuid4()
            rows.append(
                {
                    "id": cid, "workspace_id": ws_id, "name": "bench",
                    "phone_number": "+14155550100", "phone_number_e164": "+14155550100",
                    "gateway": "127.0.0.1", "secondary_gateway": None, "port": kam.port,
                    "transport": "udp", "register": args.register,
                    "username_secret": box.encrypt(
                        "trunk1", aad_for("sip_connection", "username_secret", cid)
                    ),
                    "password_secret": box.encrypt(
                        DEFAULT_USERS["trunk1"], aad_for("sip_connection", "password_secret", cid)
                    ),
                    "status": "pending", "next_check_at": now, "check_misses": 0,
                    "created_at": now, "updated_at": now,
                }
            )  # fmt: skip
        async with sm.begin() as session:
            await session.execute(
                insert(Workspace).values(id=ws_id, slug=f"bench-{ws_id.hex[:8]}", created_at=now)
            )
            for i in range(0, len(rows), 1000):
                await session.execute(insert(SipConnection), rows[i : i + 1000])

        monitor = MonitorService(
            MonitorSettings(
                interval_s=args.interval,
                jitter_s=args.interval / 10,
                concurrency=args.concurrency,
                register_expires_s=300,
            ),
            sm,
            box,
            # Kamailio listens on loopback, which the egress policy refuses by default.
            egress=EgressPolicy.from_lists(allow=["127.0.0.0/8"]),
        )
        duration = args.interval * args.intervals
        cpu0, wall0 = cpu_s(), time.monotonic()
        monitor.start()
        await asyncio.sleep(duration)
        await monitor.stop()
        cpu, wall = cpu_s() - cpu0, time.monotonic() - wall0
        async with sm() as session:
            active = await session.scalar(
                select(func.count())
                .select_from(SipConnection)
                .where(SipConnection.status == "active")
            )
        await monitor.close()
    await engine.dispose()

    rate = monitor.checks_done / wall
    print(f"backend            {engine.dialect.name}")
    print(f"targets            {args.targets} (register={args.register})")
    print(
        f"interval           {args.interval:g} s  x {args.intervals} intervals ({wall:.1f} s wall)"
    )
    print(
        f"checks done        {monitor.checks_done}  ({rate:.0f}/s; "
        f"needed {args.targets / args.interval:.0f}/s)"
    )
    print(f"targets active     {active}/{args.targets}")
    print(f"process CPU        {cpu:.2f} s  = {100 * cpu / wall:.1f} % of one core (target < 25 %)")
    print(f"CPU per check      {1000 * cpu / max(monitor.checks_done, 1):.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=5000)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--intervals", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--register", action="store_true", help="also keep registrations")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
