"""Call-path benchmarks (never a test): ``python -m bench.calls [--db sqlite|postgres]``.

One ``trunkline serve`` (API + one call worker) on a fresh database, a minimal echo agent
(bench/echo_agent.py) in its own process, and SIPp as the carrier:

1. **setup**: ``sipp -sn uac`` at ``--rate`` new calls/s: INVITE → 200 OK times (SIPp's own
   response-time trace), p50/p99, and the server's CPU per call (routing read, lease, agent
   WebSocket, answer, BYE).
2. **bridged**: ``--concurrent`` simultaneous ``uac_pcap`` calls (≈ 7 s of PCMA each, echoed by
   the agent): per call packets in/out from the call records, and the server's CPU per
   call-second of bridged audio.

It prints a table and asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PCAPS = Path("/usr/share/sip-tester")
PARTS = frozenset({"setup", "bridged", "outbound"})


def free_port() -> int:
    import socket

    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        port = int(tcp.getsockname()[1])
        udp.bind(("127.0.0.1", port))
        return port


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def process(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited; see {log}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} never answered; see {log}")


def carrier(
    scenario: str, target: str, number: str, rate: int, calls: int, limit: int, *extra: str
) -> list[str]:
    """SIPp's arguments as the carrier: built-in ``scenario`` calling ``number`` (E.164) at
    ``target`` from a free loopback port, ``calls`` calls at ``rate`` a second, at most
    ``limit`` at once, plus ``extra``."""
    return [
        "-sn", scenario, target, "-s", number[1:], "-i", "127.0.0.1", "-p", str(free_port()),
        "-r", str(rate), "-m", str(calls), "-l", str(limit), *extra,
    ]  # fmt: skip


def sipp(args: list[str], work: Path, timeout_s: float) -> Path:
    """Run SIPp in ``work`` (where ./pcap points at the bundled recordings); its rtt file."""
    pcap = work / "pcap"
    if not pcap.exists():
        pcap.symlink_to(PCAPS)
    before = set(work.glob("*_rtt.csv"))
    subprocess.run(
        [
            shutil.which("sipp") or "sipp",
            *args,
            "-nd",
            "-trace_rtt",
            "-rtt_freq",
            "1",
            "-recv_timeout",
            "15000",
            "-timeout",
            f"{int(timeout_s)}s",
        ],
        cwd=work,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=timeout_s,
        check=False,
    )
    found = sorted(set(work.glob("*_rtt.csv")) - before)
    return found[-1] if found else work / "none.csv"


def rtts_ms(path: Path) -> list[float]:
    if not path.exists():
        return []
    with path.open() as f:
        rows = list(csv.reader(f, delimiter=";"))
    # Date_ms;response_time_ms;rtd_no
    return [float(r[1]) for r in rows[1:] if len(r) > 1 and r[1]]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def outbound_setups(
    api: httpx.Client, agent_uuid: str, work: Path, rate: int, n: int
) -> list[float]:
    """``POST /calls`` at ``rate``/s to a SIPp UAS: each call's time from the POST (its
    ``queued`` event) to the 200 OK (its ``answered`` event), from the call's timeline."""
    uas_port = free_port()
    uas = [
        shutil.which("sipp") or "sipp",
        "-sn",
        "uas",
        "-i",
        "127.0.0.1",
        "-p",
        str(uas_port),
        "-nd",
    ]
    number = "+12025550124"
    stream = api.get(f"/agents/{agent_uuid}").json()["data"]["stream_url"]
    # an agent serves one number per channel on the trunk endpoints: a second agent calls out
    agent_uuid = api.post("/agents", json={"name": "caller", "stream_url": stream}).json()["data"][
        "agent_uuid"
    ]
    api.post(
        "/phone-numbers/trunks",
        json={
            "phone_number": number,
            "agent_uuid": agent_uuid,
            "channel": "call",
            "sip": {"gateway": "127.0.0.1", "port": uas_port},
        },
    ).raise_for_status()
    pn = api.get("/phone-numbers/channels", params={"number": number}).json()["data"]
    wide = {"voice": {"channel_limit": 10_000}, "inbound": {"channel_limit": 10_000}}
    api.patch(f"/phone-numbers/{pn['phone_number_uuid']}", json={"channel_settings": wide})
    placed: list[str] = []
    with process(uas, dict(os.environ), work / "uas.log"):
        time.sleep(0.5)
        start = time.monotonic()
        for i in range(n):
            r = api.post(
                "/calls", json={"agent_uuid": agent_uuid, "to": "+13125550111", "from": number}
            )
            if r.status_code == 201:
                placed.append(r.json()["data"]["call_uuid"])
            time.sleep(max(0.0, start + (i + 1) / rate - time.monotonic()))
        time.sleep(3)
        setups = []
        for call in placed:
            events = api.get(f"/calls/{call}/events", params={"per_page": 100}).json()["data"][
                "items"
            ]
            answered = [e["offset_ms"] for e in events if e["kind"] == "answered"]
            if answered:
                setups.append(float(answered[0]))
            api.delete(f"/calls/{call}")
    return setups


def run(
    db: str,
    pg_url: str | None,
    rate: int,
    calls: int,
    concurrent: int,
    *,
    only: frozenset[str] = PARTS,
    server_src: Path | None = None,
    profile: Path | None = None,
    loop: str = "asyncio",
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"trunkline-calls-{db}-"))
    api_port, sip_port, agent_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUNKLINE_")}
    keyring = subprocess.run(
        [str(BIN / "trunkline"), "keys", "generate"], capture_output=True, text=True, check=True
    ).stdout.strip()
    env.update(
        TRUNKLINE_ENV="production",
        TRUNKLINE_ENCRYPTION_KEYS=keyring,
        TRUNKLINE_DATA_DIR=str(work / "data"),
        TRUNKLINE_MONITOR__ENABLED="false",
        TRUNKLINE_SIP__LISTEN=f"127.0.0.1:{sip_port}",
        TRUNKLINE_MEDIA__RTP_PORTS="40000-41999",
        TRUNKLINE_SECURITY__ALLOW_ADDRESSES='["127.0.0.0/8"]',
        TRUNKLINE_SERVER__LOG_LEVEL="warning",
        TRUNKLINE_SERVER__LOOP=loop,
    )
    if pg_url:
        env["TRUNKLINE_DATABASE_URL"] = pg_url
        reset_database(pg_url)
    if server_src is not None:  # a paired "before" run: another checkout's src/ for the server
        env["PYTHONPATH"] = str(server_src)
    subprocess.run([str(BIN / "trunkline"), "migrate"], env=env, check=True, cwd=ROOT)
    token = subprocess.run(
        [str(BIN / "trunkline"), "token", "create", "--workspace", f"bench-{os.getpid()}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    serve = [str(BIN / "trunkline"), "serve", "--port", str(api_port)]
    agent = [sys.executable, "-m", "bench.echo_agent", "--port", str(agent_port)]
    with (
        process(agent, env, work / "agent.log"),
        process(serve, env, work / "server.log") as server,
    ):
        base = f"http://127.0.0.1:{api_port}"
        wait_http(f"{base}/readyz", server, work / "server.log")
        h = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"{base}/api/v1", headers=h, timeout=30) as api:
            a = api.post(
                "/agents", json={"name": "echo", "stream_url": f"ws://127.0.0.1:{agent_port}/"}
            )
            agent_uuid = a.json()["data"]["agent_uuid"]
            number = "+12025550123"
            r = api.post(
                "/phone-numbers/trunks",
                json={
                    "phone_number": number,
                    "agent_uuid": agent_uuid,
                    "channel": "call",
                    "sip": {"gateway": "127.0.0.1"},
                },
            )
            pn = r.json()["data"]["phone_number_uuid"]
            # channel limits far above the load: the benchmark measures the call path, not them
            wide = {"voice": {"channel_limit": 10_000}, "inbound": {"channel_limit": 10_000}}
            r = api.patch(f"/phone-numbers/{pn}", json={"channel_settings": wide})
            r.raise_for_status()

            target = f"127.0.0.1:{sip_port}"
            setup: list[float] = []
            setup_cpu = 0.0
            spy = py_spy(server.pid, profile, f"setup-{db}") if profile else None
            cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
            rtt = work / "none.csv"
            if "setup" in only:
                rtt = sipp(
                    carrier("uac", target, number, rate, calls, max(rate * 2, 10), "-d", "500"),
                    work,
                    600,
                )
                setup_cpu = cpu_seconds(server.pid) - cpu0
                setup = rtts_ms(rtt)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            # one rtt row per call whose 200 OK arrived: the others failed or timed out
            setup_ok, setup_failed = len(setup), (calls - len(setup) if "setup" in only else 0)

            bridged_rtt, bridged_cpu, bridged_wall = work / "none.csv", 0.0, 0.0
            recent: list[dict[str, Any]] = []
            if "bridged" in only:
                cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
                media_port = str(free_port() & ~1)
                bridged_rtt = sipp(
                    carrier(
                        "uac_pcap", target, number, 50, concurrent, concurrent, "-mp", media_port
                    ),
                    work,
                    600,
                )
                bridged_cpu, bridged_wall = cpu_seconds(server.pid) - cpu0, time.monotonic() - t0
                page = api.get("/calls", params={"per_page": 200, "status": "completed"}).json()
                recent = page["data"]["items"][:concurrent]
            bridged_ok = len(rtts_ms(bridged_rtt))
            bridged_failed = concurrent - bridged_ok if "bridged" in only else 0
            outbound = (
                outbound_setups(api, agent_uuid, work, rate, min(calls, 200))
                if "outbound" in only
                else []
            )
    media = [c["media"] for c in recent if c["media"]["codec"] == "PCMA"]
    call_seconds = sum(c["duration_s"] or 0 for c in recent if c["media"]["codec"] == "PCMA")
    return {
        "db": db,
        "setups_ok": setup_ok,
        "setups_failed": setup_failed,
        "setup_p50_ms": pct(setup, 0.5),
        "setup_p99_ms": pct(setup, 0.99),
        "cpu_ms_per_call": 1000 * setup_cpu / max(setup_ok, 1),
        "bridged_ok": bridged_ok,
        "bridged_failed": bridged_failed,
        "packets_in_median": statistics.median([m["packets_in"] for m in media]) if media else 0,
        "packets_out_median": statistics.median([m["packets_out"] for m in media]) if media else 0,
        "cpu_ms_per_call_second": 1000 * bridged_cpu / max(call_seconds, 1),
        "bridged_wall_s": bridged_wall,
        "outbound_ok": len(outbound),
        "outbound_p50_ms": pct(outbound, 0.5),
        "outbound_p99_ms": pct(outbound, 0.99),
    }


def reset_database(url: str) -> None:
    """Drop and re-create the benchmark's own PostgreSQL database (never a shared one)."""
    import asyncio

    import asyncpg

    head, _, name = url.rpartition("/")
    if name in {"test", "postgres", ""}:
        raise SystemExit(f"refusing to reset the database {name!r}")
    admin = head.replace("postgresql+asyncpg", "postgresql") + "/postgres"

    async def reset() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(reset())


def py_spy(pid: int, folder: Path | None, name: str) -> subprocess.Popen[bytes] | None:
    """py-spy recording the server (raw collapsed stacks) until it gets SIGINT."""
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy (pip install py-spy into the venv)")
    argv = [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "200", "--nonblocking"]
    return subprocess.Popen(
        [*argv, "--output", str(folder / f"{name}.txt")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/bench"
    )
    parser.add_argument("--rate", type=int, default=50, help="new calls per second (setup)")
    parser.add_argument("--calls", type=int, default=500, help="calls in the setup run")
    parser.add_argument("--concurrent", type=int, default=200, help="simultaneous bridged calls")
    parser.add_argument(
        "--only", default="setup,bridged,outbound", help="comma-separated: setup,bridged,outbound"
    )
    parser.add_argument(
        "--server-src", type=Path, help="run the server from this src/ (a paired before run)"
    )
    parser.add_argument("--profile", type=Path, help="py-spy the setup run into this folder")
    parser.add_argument(
        "--loop", choices=["asyncio", "uvloop"], default="asyncio", help="the server's event loop"
    )
    args = parser.parse_args()
    only = frozenset(args.only.split(","))
    if not only <= PARTS:
        parser.error(f"--only takes {', '.join(sorted(PARTS))}")
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    rows = [
        run(
            db,
            args.postgres_url if db == "postgres" else None,
            args.rate,
            args.calls,
            args.concurrent,
            only=only,
            server_src=args.server_src,
            profile=args.profile,
            loop=args.loop,
        )
        for db in dbs
    ]
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in row.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
