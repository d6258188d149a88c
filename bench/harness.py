"""The benchmark run: databases, servers, seeding, scenarios, the table and the targets.

Each server is its own process (``trunkline serve`` in production settings, and the baseline
app); the load comes from another process (wrk, or ``bench.loadgen``); the harness itself only
seeds, starts, stops, reads /proc and prints. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import make_url, text

from bench import seed
from bench.requests import Workload, lua_script
from trunkline.config import Settings
from trunkline.db import create_engine
from trunkline.kit.crypto import SecretBox, generate_key
from trunkline.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKSPACE = "bench"
PER_PAGE = 50
TABLE_HEADER = (
    f"{'scenario':<44}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'RSS MB':>8}  vs baseline"
)
API = "/api/v1"
SNAPSHOT = "GET /phone-numbers/channels?number="
BASELINE_SELECT = "baseline GET /items/{key} (select)"
BASELINE_INSERT = "baseline POST /items (insert)"


@dataclass
class Result:
    scenario: str
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    rss_mb: float | None = None
    baseline: str | None = None  # "insert" | "select": which baseline figure to divide by
    note: str = ""
    statuses: dict[str, int] = field(default_factory=dict)


@dataclass
class DbReport:
    db: str
    numbers: int
    results: dict[str, Result] = field(default_factory=dict)
    final_rss_mb: float | None = None
    peak_rss_mb: float | None = None


# ---------------------------------------------------------------------------------------- utils


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status_mb(pid: int, key: str) -> float | None:
    """A ``/proc/<pid>/status`` memory field (VmRSS, VmHWM) in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, timeout_s: float = 120.0) -> None:
    """Wait until the server is idle: a saturated run leaves a backlog of requests whose
    clients gave up, and the next scenario must not pay for it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.05:  # under 10 % of a core
            return
    print(f"warning: server {pid} still busy after {timeout_s:.0f} s", file=sys.stderr)


def http_status(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def server_env(settings: Settings, keyring: str) -> dict[str, str]:
    """Production settings for the server processes, from a clean slate of TRUNKLINE_* vars."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUNKLINE_")}
    env.update(
        TRUNKLINE_ENV="production",
        TRUNKLINE_ENCRYPTION_KEYS=keyring,
        TRUNKLINE_DATA_DIR=str(settings.data_dir),
        TRUNKLINE_DATABASE_URL=settings.database_url_resolved,
        TRUNKLINE_SERVER__LOG_LEVEL="info",
        # The benchmark measures the API alone: no background SIP checks competing for the CPU.
        TRUNKLINE_MONITOR__ENABLED="false",
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    return env


@contextmanager
def running(
    cmd: list[str], env: dict[str, str], cwd: Path, port: int, ready_path: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, ready (its ``ready_path`` answers 200) until the block ends."""
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}; see {log}")
            try:
                if http_status(f"http://127.0.0.1:{port}{ready_path}") == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{cmd} did not become ready; see {log}")
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -------------------------------------------------------------------------------------- drivers


@dataclass
class Run:
    args: argparse.Namespace
    work: Path

    def settle(self, pid: int) -> None:
        if not self.args.smoke:  # a smoke run's server is never saturated
            settle(pid)

    def closed(self, port: int, w: Workload, duration_s: float) -> dict:
        """Fixed concurrency for a fixed duration (closed loop)."""
        if self.args.driver == "wrk":
            script = self.work / f"{w.kind}-{secrets.token_hex(4)}.lua"
            script.write_text(lua_script(w))
            cmd = [
                "wrk", "-t1", f"-c{self.args.concurrency}", f"-d{max(1, round(duration_s))}s",
                "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}",
            ]  # fmt: skip
            return self._parse(subprocess.run(cmd, capture_output=True, text=True, check=True))
        spec = {"host": "127.0.0.1", "port": port, "mode": "closed",
                "concurrency": self.args.concurrency, "duration_s": duration_s,
                "workload": json.loads(w.to_json())}  # fmt: skip
        return self._loadgen(spec)

    def open(self, port: int, w: Workload, rate: float, duration_s: float) -> dict:
        """Requests at a fixed rate whatever the latency (open loop), always the Python driver."""
        spec = {"host": "127.0.0.1", "port": port, "mode": "open", "rate": rate,
                "duration_s": duration_s, "workload": json.loads(w.to_json())}  # fmt: skip
        return self._loadgen(spec)

    def _loadgen(self, spec: dict) -> dict:
        cmd = [sys.executable, "-m", "bench.loadgen", json.dumps(spec)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return self._parse(
            subprocess.run(cmd, capture_output=True, text=True, check=True, env=env, cwd=ROOT)
        )

    @staticmethod
    def _parse(done: subprocess.CompletedProcess[str]) -> dict:
        for line in done.stdout.splitlines():
            if line.startswith("BENCHJSON "):
                return dict(json.loads(line[len("BENCHJSON ") :]))
        raise RuntimeError(f"no result from the load generator:\n{done.stdout}\n{done.stderr}")


def to_result(name: str, raw: dict, rss: float | None, baseline: str | None) -> Result:
    seconds = raw["duration_us"] / 1e6
    return Result(
        scenario=name,
        rps=raw["requests"] / seconds if seconds else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=int(raw["status_errors"]) + int(raw["socket_errors"]),
        rss_mb=rss,
        baseline=baseline,
        statuses=raw.get("statuses", {}),
    )


# --------------------------------------------------------------------------------------- phases


def prepare_postgres(url: str) -> None:
    u = make_url(url)
    if u.database in (None, "test", "postgres"):
        raise SystemExit(f"refusing to benchmark in database {u.database!r}: use a dedicated one")
    base = ["psql", "-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U",
            u.username or "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]  # fmt: skip
    subprocess.run(
        [*base, "-c", f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)',
         "-c", f'CREATE DATABASE "{u.database}"'],
        check=True, capture_output=True,
    )  # fmt: skip


def cli_token(env: dict[str, str], work: Path) -> str:
    """A token for the bench workspace, through the CLI an operator would use."""
    done = subprocess.run(
        [str(BIN / "trunkline"), "token", "create", "--workspace", WORKSPACE],
        env=env, cwd=work, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


async def prepare_data(
    settings: Settings, box: SecretBox, env: dict[str, str], work: Path, args: argparse.Namespace
) -> dict[str, object]:
    """Migrate, issue the Trunkline token through the CLI, bulk-seed; write the drivers' files."""
    engine = create_engine(settings)
    try:
        await upgrade(engine)
        token = await asyncio.to_thread(cli_token, env, work)
        ws = await seed.workspace_id(engine, WORKSPACE)
        t0 = time.perf_counter()
        spare = await seed.seed_trunkline(engine, ws, box, args.numbers, args.post_pool)
        baseline_token = "bl_" + secrets.token_urlsafe(32)
        keys = await seed.seed_baseline(engine, ws, baseline_token, args.numbers)
        if engine.dialect.name == "sqlite" and args.sqlite_analyze:
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
        if engine.dialect.name == "postgresql":
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE"))
        seeded_s = time.perf_counter() - t0
    finally:
        await engine.dispose()

    (work / "numbers.txt").write_text("\n".join(seed.seeded_number(i) for i in range(args.numbers)))
    (work / "keys.txt").write_text("\n".join(keys))
    # POST trunk data: unique numbers, each with its own agent; separate slices per pass.
    pairs = [f"{seed.post_number(i)} {agent}" for i, agent in enumerate(spare)]
    third = len(pairs) // 4
    slices = {
        "warm": pairs[:third],
        "measure": pairs[third : 3 * third],
        "profile": pairs[3 * third :],
    }
    for name, chunk in slices.items():
        (work / f"trunk_post_{name}.txt").write_text("\n".join(chunk))
    return {"token": token, "baseline_token": baseline_token, "seeded_s": seeded_s}


def trunkline_workloads(token: str, work: Path, numbers: int) -> dict[str, tuple[Workload, str]]:
    last = max(1, math.ceil(numbers / PER_PAGE))
    deep = min(2000, last)
    listing = f"{API}/phone-numbers/trunks?per_page={PER_PAGE}&page="
    return {
        SNAPSHOT: (
            Workload(
                "snapshot_get",
                f"{API}/phone-numbers/channels?number={{}}",
                token,
                str(work / "numbers.txt"),
            ),
            "select",
        ),
        "GET /phone-numbers/trunks page 1": (Workload("fixed_get", f"{listing}1", token), "select"),
        f"GET /phone-numbers/trunks page {deep:,}": (
            Workload("fixed_get", f"{listing}{deep}", token),
            "select",
        ),
        "POST /channels/sip-trunk/connections": (
            Workload("connection_post", f"{API}/channels/sip-trunk/connections", token),
            "insert",
        ),
        "POST /phone-numbers/trunks": (
            Workload(
                "trunk_post",
                f"{API}/phone-numbers/trunks",
                token,
                str(work / "trunk_post_measure.txt"),
            ),
            "insert",
        ),
    }


def bench_trunkline(
    run: Run, report: DbReport, env: dict[str, str], work: Path, data: dict[str, object]
) -> None:
    args = run.args
    token = str(data["token"])
    port = free_port()
    cmd = [str(BIN / "trunkline"), "serve", "--port", str(port)]
    log = work / "trunkline-server.log"
    with running(cmd, env, work, port, "/healthz", log) as proc:
        for name, (w, baseline) in trunkline_workloads(token, work, args.numbers).items():
            if not wanted(args, w.kind):
                continue
            if w.kind == "fixed_get":
                status = http_status(f"http://127.0.0.1:{port}{w.path}", token)
                if status in (404, 405):
                    report.results[name] = Result(name, note="n/a (endpoint missing)")
                    continue
            run.settle(proc.pid)
            if args.warmup > 0:
                warm = w
                if w.kind == "trunk_post":
                    warm = Workload(w.kind, w.path, token, str(work / "trunk_post_warm.txt"))
                run.closed(port, warm, args.warmup)
            raw = run.closed(port, w, args.duration)
            report.results[name] = to_result(name, raw, proc_status_mb(proc.pid, "VmRSS"), baseline)
        if wanted(args, "open_loop"):
            run.settle(proc.pid)
            snap, _ = trunkline_workloads(token, work, args.numbers)[SNAPSHOT]
            name = f"open loop {args.rate:g} req/s GET channels?number="
            raw = run.open(port, snap, args.rate, args.open_duration)
            report.results[name] = to_result(name, raw, proc_status_mb(proc.pid, "VmRSS"), None)
        # Read right after the last scenario: a saturated open loop leaves a backlog that the
        # server would take long to drain, so it is stopped rather than waited for.
        report.final_rss_mb = proc_status_mb(proc.pid, "VmRSS")
        report.peak_rss_mb = proc_status_mb(proc.pid, "VmHWM")
    if args.profile:
        with running(cmd, env, work, port, "/healthz", log) as proc:
            profile_pass(run, proc.pid, port, token, work, report.db)


def profile_pass(run: Run, pid: int, port: int, token: str, work: Path, db: str) -> None:
    """Each scenario again under py-spy (figures of this pass are not reported)."""
    out_dir = Path(run.args.profile).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    spy = BIN / "py-spy"
    if not spy.exists():
        print("profile: py-spy is not in the venv (.venv/bin/pip install py-spy)", file=sys.stderr)
        return
    for name, (w, _) in trunkline_workloads(token, work, run.args.numbers).items():
        if not wanted(run.args, w.kind):
            continue
        if w.kind == "trunk_post":
            w = Workload(w.kind, w.path, token, str(work / "trunk_post_profile.txt"))
        run.settle(pid)
        slug = "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()
        target = out_dir / f"{db}-{slug}.txt"
        seconds = run.args.profile_seconds
        spy_proc = subprocess.Popen(
            [str(spy), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250",
             "--format", "raw", "--nonblocking", "-o", str(target)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)
        run.closed(port, w, seconds)
        spy_proc.wait(timeout=seconds + 30)
        print(f"profile: {target}", file=sys.stderr)


# Which Trunkline scenarios each baseline scenario is the reference for (``--only``).
BASELINE_FOR = {
    "item_get": ("snapshot_get", "fixed_get"),
    "item_post": ("connection_post", "trunk_post"),
}
SCENARIO_KINDS = ("snapshot_get", "fixed_get", "connection_post", "trunk_post", "open_loop")


def wanted(args: argparse.Namespace, kind: str) -> bool:
    """Whether ``--only`` (default: every scenario) selects this scenario kind."""
    return args.only is None or kind in args.only


def bench_baseline(
    run: Run, report: DbReport, env: dict[str, str], work: Path, data: dict[str, object]
) -> None:
    args = run.args
    token = str(data["baseline_token"])
    port = free_port()
    cmd = [sys.executable, "-m", "bench.baseline_app", "--port", str(port)]
    log = work / "baseline-server.log"
    workloads = {
        BASELINE_SELECT: Workload("item_get", "/items/{}", token, str(work / "keys.txt")),
        BASELINE_INSERT: Workload("item_post", "/items", token, key_prefix="run"),
    }
    needs = {"item_get": BASELINE_FOR["item_get"], "item_post": BASELINE_FOR["item_post"]}
    with running(cmd, env, work, port, "/openapi.json", log) as proc:
        for name, w in workloads.items():
            if not any(wanted(args, kind) for kind in needs[w.kind]):
                continue
            run.settle(proc.pid)
            if args.warmup > 0:
                warm = Workload(w.kind, w.path, token, w.data, key_prefix="warm")
                run.closed(port, warm, args.warmup)
            raw = run.closed(port, w, args.duration)
            report.results[name] = to_result(name, raw, proc_status_mb(proc.pid, "VmRSS"), None)
        if wanted(args, "open_loop"):
            run.settle(proc.pid)
            name = f"baseline open loop {args.rate:g} req/s GET /items/{{key}}"
            raw = run.open(port, workloads[BASELINE_SELECT], args.rate,
                           args.open_duration)  # fmt: skip
            report.results[name] = to_result(name, raw, proc_status_mb(proc.pid, "VmRSS"), None)


def bench_db(db: str, url: str | None, args: argparse.Namespace) -> DbReport | None:
    report = DbReport(db=db, numbers=args.numbers)
    with tempfile.TemporaryDirectory(prefix=f"trunkline-bench-{db}-") as tmp:
        work = Path(tmp)
        if url is not None:
            try:
                prepare_postgres(url)
            except (subprocess.CalledProcessError, FileNotFoundError) as exc:
                print(f"{db}: skipped, cannot prepare the database ({exc})", file=sys.stderr)
                return None
        keyring = generate_key()
        settings = Settings(
            env="production",
            data_dir=work / "data",
            database_url=url,
            encryption_keys=keyring,
            _env_file=None,
        )
        env = server_env(settings, keyring)
        t0 = time.perf_counter()
        data = asyncio.run(prepare_data(settings, SecretBox.from_spec(keyring), env, work, args))
        print(
            f"{db}: seeded {args.numbers:,} numbers (+{args.post_pool:,} spare agents, "
            f"{args.numbers:,} baseline items) in {data['seeded_s']:.1f} s "
            f"(setup {time.perf_counter() - t0:.1f} s)",
            file=sys.stderr,
        )
        run = Run(args, work)
        bench_trunkline(run, report, env, work, data)
        bench_baseline(run, report, env, work, data)
        if args.keep_logs:
            for log in work.glob("*.log"):
                shutil.copy(log, Path(args.keep_logs) / f"{db}-{log.name}")
    return report


# ---------------------------------------------------------------------------------------- table


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def baseline_of(report: DbReport, kind: str) -> Result | None:
    return report.results.get(BASELINE_INSERT if kind == "insert" else BASELINE_SELECT)


def ratio(report: DbReport, r: Result) -> float | None:
    base = baseline_of(report, r.baseline) if r.baseline else None
    if base is None or not base.rps or r.rps is None:
        return None
    return r.rps / base.rps


def print_table(report: DbReport, args: argparse.Namespace) -> None:
    print()
    print(
        f"== {report.db}: {report.numbers:,} numbers, closed loop {args.concurrency} connections "
        f"x {args.duration:g} s ({args.driver}), open loop {args.rate:g} req/s x "
        f"{args.open_duration:g} s"
    )
    print(TABLE_HEADER)
    for r in report.results.values():
        if r.note:
            print(f"{r.scenario:<44}{r.note}")
            continue
        q = ratio(report, r)
        versus = f"  {q:.2f} x {r.baseline}" if q is not None else ""
        print(
            f"{r.scenario:<44}{_fmt(r.rps, ',.0f'):>9}{_fmt(r.p50_ms, '.2f'):>9}"
            f"{_fmt(r.p99_ms, '.2f'):>9}{r.errors:>8}{_fmt(r.rss_mb, '.0f'):>8}{versus}"
        )
        if r.errors and r.statuses:
            print(f"{'':<44}statuses {r.statuses}")
    print(
        f"server RSS after the run: {_fmt(report.final_rss_mb, '.1f')} MB "
        f"(peak {_fmt(report.peak_rss_mb, '.1f')} MB)"
    )


def print_targets(reports: list[DbReport], args: argparse.Namespace) -> None:
    print()
    print("== targets (reported, not asserted)")

    def line(ok: bool | None, text: str) -> None:
        mark = "n/a " if ok is None else ("met " if ok else "MISS")
        print(f"[{mark}] {text}")

    for rep in reports:
        res = rep.results
        post = res.get("POST /phone-numbers/trunks")
        q = ratio(rep, post) if post else None
        line(None if q is None else q >= 0.5,
             f"{rep.db}: POST trunk >= 0.5 x baseline insert: {_fmt(q, '.2f')}")  # fmt: skip
        snap = res.get(SNAPSHOT)
        q = ratio(rep, snap) if snap else None
        line(None if q is None else q >= 0.6,
             f"{rep.db}: snapshot GET >= 0.6 x baseline select: {_fmt(q, '.2f')}")  # fmt: skip
        open_loop = res.get(f"open loop {args.rate:g} req/s GET channels?number=")
        p99 = open_loop.p99_ms if open_loop else None
        line(
            None if p99 is None else p99 < 20,
            f"{rep.db}: snapshot GET p99 at {args.rate:g} req/s < 20 ms: {_fmt(p99, '.2f')} ms",
        )
        pages = [r for k, r in res.items() if k.startswith("GET /phone-numbers/trunks page")]
        if len(pages) == 2 and all(p.rps for p in pages):
            first, deep = pages
            slower = first.rps / deep.rps  # type: ignore[operator]
            deep_name = deep.scenario.removeprefix("GET /phone-numbers/trunks ")
            line(
                slower <= 2,
                f"{rep.db}: list {deep_name} <= 2 x page 1 time: {slower:.2f} x "
                f"(p50 {first.p50_ms:.1f} -> {deep.p50_ms:.1f} ms)",
            )
        else:
            line(None, f"{rep.db}: list deep page <= 2 x page 1 time: endpoint missing")
        rss = rep.final_rss_mb
        line(
            None if rss is None else rss < 200,
            f"{rep.db}: server RSS < 200 MB with {rep.numbers:,} numbers: {_fmt(rss, '.1f')} MB",
        )


# ----------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    p.add_argument(
        "--postgres-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/trunkline_bench",
        help="a DEDICATED database: it is dropped and re-created",
    )
    p.add_argument("--numbers", type=int, default=100_000, help="seeded external numbers")
    p.add_argument("--post-pool", type=int, default=40_000, help="spare agents for POST trunk")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per closed-loop run")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per scenario")
    p.add_argument("--concurrency", type=int, default=16, help="closed-loop connections")
    p.add_argument("--rate", type=float, default=200.0, help="open-loop requests per second")
    p.add_argument("--open-duration", type=float, default=10.0)
    p.add_argument(
        "--sqlite-analyze",
        action="store_true",
        help="run ANALYZE after seeding SQLite (PostgreSQL always gets VACUUM ANALYZE)",
    )
    p.add_argument(
        "--only",
        type=lambda text: [k.strip() for k in text.split(",") if k.strip()],
        help=f"comma-separated scenario kinds to run (default all): {', '.join(SCENARIO_KINDS)}; "
        "the baseline runs what they are compared with",
    )
    p.add_argument("--driver", choices=["auto", "wrk", "python"], default="auto")
    p.add_argument("--profile", metavar="DIR", help="also record py-spy profiles into DIR")
    p.add_argument("--profile-seconds", type=int, default=8)
    p.add_argument("--keep-logs", metavar="DIR", help="copy the server logs into DIR")
    p.add_argument(
        "--smoke", action="store_true", help="tiny run (SQLite, 200 numbers, 1 s): harness check"
    )
    args = p.parse_args(argv)
    if args.smoke:
        args.db, args.numbers, args.post_pool = "sqlite", 200, 2_000
        args.duration, args.warmup, args.open_duration = 1.0, 0.0, 1.0
        args.concurrency, args.rate, args.profile = 4, 50.0, None
    unknown = set(args.only or ()) - set(SCENARIO_KINDS)
    if unknown:
        p.error(f"--only: unknown scenario kinds {sorted(unknown)}; choose from {SCENARIO_KINDS}")
    if args.driver == "auto":
        args.driver = "wrk" if shutil.which("wrk") else "python"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    reports: list[DbReport] = []
    for db in [d.strip() for d in args.db.split(",") if d.strip()]:
        if db not in ("sqlite", "postgres"):
            raise SystemExit(f"unknown --db {db!r}")
        report = bench_db(db, None if db == "sqlite" else args.postgres_url, args)
        if report is not None:
            print_table(report, args)
            reports.append(report)
    print_targets(reports, args)
    return 0
