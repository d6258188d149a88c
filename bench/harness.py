"""The benchmark run: databases, servers, seeding, scenarios, the table and the targets.

Each server is its own process (``trunkline serve`` in production settings, and the baseline
app), both running for the whole run of a database; the load comes from another process (wrk, or
``bench.loadgen``) and goes to one server at a time, Trunkline and the baseline alternating in
paired rounds; the harness itself only seeds, starts, stops, reads /proc and prints. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
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
    f"{'scenario':<44}{'req/s':>9}{'CPU ms':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
    f"{'RSS MB':>8}  vs baseline"
)
API = "/api/v1"
SNAPSHOT = "GET /phone-numbers/channels?number="
BASELINE_SELECT = "baseline GET /items/{key} (select)"
BASELINE_INSERT = "baseline POST /items (insert)"
BASELINE_ROWS = {"select": BASELINE_SELECT, "insert": BASELINE_INSERT}
# The most POST /phone-numbers/trunks per second a run's slice of unique pairs is sized for
# (see post_slices): well above what the endpoint reaches on the 2-core bench machine.
MAX_POST_RATE = 1000


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
    ratios: list[float] = field(default_factory=list)  # per round: req/s / the paired baseline's
    resent: int = 0  # open loop: requests resent after the server closed an idle connection
    # Server process CPU (user + system, /proc/<pid>/stat) over the run, divided by the requests
    # it answered: what a request costs the server whatever the machine's load did to req/s.
    # The database's own CPU is not in it (PostgreSQL's backends are other processes).
    cpu_ms: float | None = None


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


def server_env(settings: Settings, keyring: str, loop: str) -> dict[str, str]:
    """Production settings for the server processes, from a clean slate of TRUNKLINE_* vars."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUNKLINE_")}
    env.update(
        TRUNKLINE_ENV="production",
        TRUNKLINE_ENCRYPTION_KEYS=keyring,
        TRUNKLINE_DATA_DIR=str(settings.data_dir),
        TRUNKLINE_DATABASE_URL=settings.database_url_resolved,
        TRUNKLINE_SERVER__LOG_LEVEL="info",
        # Both servers run the same event loop (--loop; Trunkline's default is asyncio).
        TRUNKLINE_SERVER__LOOP=loop,
        # The benchmark measures the API alone: no background SIP checks competing for the CPU.
        TRUNKLINE_MONITOR__ENABLED="false",
        # ...nor an idle call worker (the call path has its own benchmarks: bench/calls.py).
        TRUNKLINE_CALLS__ENABLED="false",
        # The bench's SIP settings point at loopback, which the egress policy refuses by default.
        TRUNKLINE_SECURITY__ALLOW_ADDRESSES="127.0.0.0/8,::1/128",
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


def to_result(
    name: str, raw: dict, rss: float | None, baseline: str | None, cpu_s: float | None = None
) -> Result:
    seconds = raw["duration_us"] / 1e6
    return Result(
        cpu_ms=cpu_s * 1000 / raw["requests"] if cpu_s is not None and raw["requests"] else None,
        scenario=name,
        rps=raw["requests"] / seconds if seconds else 0.0,
        p50_ms=None if raw["p50_us"] is None else raw["p50_us"] / 1000,
        p99_ms=None if raw["p99_us"] is None else raw["p99_us"] / 1000,
        errors=int(raw["status_errors"]) + int(raw["socket_errors"]),
        rss_mb=rss,
        baseline=baseline,
        statuses=raw.get("statuses", {}),
        resent=int(raw.get("resent", 0)),
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
        spare, number_ids = await seed.seed_trunkline(engine, ws, box, args.numbers, args.post_pool)
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
    (work / "number_ids.txt").write_text("\n".join(number_ids))
    # POST trunk data: unique numbers, each with its own agent; one slice per run (post_slices).
    pairs = (f"{seed.post_number(i)} {agent}" for i, agent in enumerate(spare))
    for label, size in post_slices(args).items():
        trunk_pairs(work, label).write_text("\n".join(itertools.islice(pairs, size)))
    return {"token": token, "baseline_token": baseline_token, "seeded_s": seeded_s}


def post_slices(args: argparse.Namespace) -> dict[str, int]:
    """How many ``number agent`` pairs each run of POST /phone-numbers/trunks may consume.

    A pair is accepted once: sent again it answers 409 and counts as an error. So every run (the
    warm-up, each measured round, the profile pass) gets its own slice, sized for
    ``MAX_POST_RATE`` over the whole seconds the driver runs (wrk rounds to whole seconds).
    """

    def need(seconds: float) -> int:
        return math.ceil(seconds) * MAX_POST_RATE

    slices = {"warm": need(args.warmup)}
    slices.update({round_label(r): need(args.duration) for r in range(args.rounds)})
    if args.profile:
        slices["profile"] = need(args.profile_seconds)
    return slices


def trunk_pairs(work: Path, label: str) -> Path:
    """The file of POST trunk pairs for one run (``warm``, ``measure-<round>``, ``profile``)."""
    return work / f"trunk_post_{label}.txt"


def round_label(r: int) -> str:
    return f"measure-{r}"


def for_run(w: Workload, work: Path, label: str) -> Workload:
    """The workload of one run: POSTs that must be unique get data no other run has used
    (POST trunk pairs from the run's slice; baseline keys with the run's prefix)."""
    if w.kind == "trunk_post":
        return replace(w, data=str(trunk_pairs(work, label)))
    if w.kind == "item_post":
        return replace(w, key_prefix=label)
    return w


def trunkline_workloads(token: str, work: Path, numbers: int) -> dict[str, tuple[Workload, str]]:
    """Trunkline's closed-loop scenarios, each with the baseline figure it is divided by."""
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
        "GET /phone-numbers/{uuid}": (
            Workload("id_get", f"{API}/phone-numbers/{{}}", token, str(work / "number_ids.txt")),
            "select",
        ),
        "GET /phone-numbers/trunks page 1": (Workload("fixed_get", f"{listing}1", token), "select"),
        f"GET /phone-numbers/trunks page {deep:,}": (
            Workload("fixed_get", f"{listing}{deep}", token),
            "select",
        ),
        "POST /agents": (Workload("agent_post", f"{API}/agents", token), "insert"),
        "POST /channels/sip-trunk/connections": (
            Workload("connection_post", f"{API}/channels/sip-trunk/connections", token),
            "insert",
        ),
        # The pairs file is chosen per run (for_run).
        "POST /phone-numbers/trunks": (
            Workload("trunk_post", f"{API}/phone-numbers/trunks", token),
            "insert",
        ),
    }


def baseline_workloads(token: str, work: Path) -> dict[str, Workload]:
    """The baseline's closed-loop scenarios, keyed by the figure ("select", "insert") they give."""
    return {
        "select": Workload("item_get", "/items/{}", token, str(work / "keys.txt")),
        "insert": Workload("item_post", "/items", token),
    }


@dataclass
class Server:
    """A running server under test: where to send the load, which process to watch."""

    port: int
    pid: int
    warmed: set[str] = field(default_factory=set)  # scenarios already warmed up


def warm_up(run: Run, server: Server, name: str, w: Workload) -> None:
    """Warm a scenario up once per server, before its first round (later rounds find it warm;
    the baseline's select and insert serve several Trunkline scenarios but warm up once)."""
    if run.args.warmup > 0 and name not in server.warmed:
        run.closed(server.port, for_run(w, run.work, "warm"), run.args.warmup)
    server.warmed.add(name)


def measure(run: Run, server: Server, other: Server, name: str, w: Workload) -> Result:
    """One closed-loop run, once *both* servers are idle: they share the two cores."""
    run.settle(server.pid)
    run.settle(other.pid)
    cpu0 = cpu_seconds(server.pid)
    raw = run.closed(server.port, w, run.args.duration)
    cpu_s = cpu_seconds(server.pid) - cpu0
    return to_result(name, raw, proc_status_mb(server.pid, "VmRSS"), None, cpu_s)


def endpoint_missing(server: Server, w: Workload) -> bool:
    return http_status(f"http://127.0.0.1:{server.port}{w.path}", w.token) in (404, 405)


def paired_rounds(
    run: Run, tl: Server, bl: Server, data: dict[str, object]
) -> tuple[dict[str, Result], dict[str, Result]]:
    """Each Trunkline scenario for ``--rounds`` rounds, each round followed or preceded by the
    baseline scenario it is compared with; returns the Trunkline rows and the baseline rows.

    The host is shared and noisy: two runs minutes apart can differ by 2 x. A ratio taken from
    two runs seconds apart sees (nearly) the same machine, and alternating which server goes
    first keeps a trend within the round (e.g. a neighbour's load ramping up) from always
    favouring the same side.
    """
    args, work = run.args, run.work
    references = baseline_workloads(str(data["baseline_token"]), work)
    rows: dict[str, Result] = {}
    reference_runs: dict[str, list[Result]] = {}
    for name, (w, kind) in trunkline_workloads(str(data["token"]), work, args.numbers).items():
        if not wanted(args, w.kind):
            continue
        if w.kind == "fixed_get" and endpoint_missing(tl, w):
            rows[name] = Result(name, note="n/a (endpoint missing)")
            continue
        ref_name, ref = BASELINE_ROWS[kind], references[kind]
        warm_up(run, tl, name, w)
        warm_up(run, bl, ref_name, ref)
        mine: list[Result] = []
        theirs: list[Result] = []
        for r in range(args.rounds):
            label = round_label(r)
            sides = [
                (tl, bl, name, for_run(w, work, label), mine),
                (bl, tl, ref_name, for_run(ref, work, f"{w.kind}-{label}"), theirs),
            ]
            if r % 2:
                sides.reverse()
            for server, other, scenario, workload, out in sides:
                out.append(measure(run, server, other, scenario, workload))
        ratios = [
            t.rps / b.rps for t, b in zip(mine, theirs, strict=True) if t.rps is not None and b.rps
        ]
        rows[name] = summarize(name, mine, kind, ratios)
        reference_runs.setdefault(ref_name, []).extend(theirs)
    baseline_rows = {
        ref_name: summarize(ref_name, reference_runs[ref_name])
        for ref_name in BASELINE_ROWS.values()
        if ref_name in reference_runs
    }
    return rows, baseline_rows


def summarize(
    name: str, runs: list[Result], baseline: str | None = None, ratios: list[float] | None = None
) -> Result:
    """One row from a scenario's rounds: the median of each figure (one disturbed round moves a
    median little, a mean a lot), errors and statuses summed, the RSS after the last round."""
    statuses: Counter[str] = Counter()
    for r in runs:
        statuses.update(r.statuses)
    return Result(
        scenario=name,
        rps=_median([r.rps for r in runs]),
        p50_ms=_median([r.p50_ms for r in runs]),
        p99_ms=_median([r.p99_ms for r in runs]),
        cpu_ms=_median([r.cpu_ms for r in runs]),
        errors=sum(r.errors for r in runs),
        resent=sum(r.resent for r in runs),
        rss_mb=runs[-1].rss_mb,
        baseline=baseline,
        statuses=dict(statuses),
        ratios=ratios or [],
    )


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def open_loops(
    run: Run, tl: Server, bl: Server, data: dict[str, object]
) -> tuple[dict[str, Result], dict[str, Result]]:
    """The fixed-rate latency runs, once each; returns the Trunkline row and the baseline row.

    The baseline goes first: a saturated Trunkline run leaves a backlog that would take long to
    drain, and the harness stops the server after it rather than waiting (which settling before
    a later run would have to do).
    """
    args, work = run.args, run.work
    ref = baseline_workloads(str(data["baseline_token"]), work)["select"]
    snap, _ = trunkline_workloads(str(data["token"]), work, args.numbers)[SNAPSHOT]
    ref_name = f"baseline open loop {args.rate:g} req/s GET /items/{{key}}"
    name = f"open loop {args.rate:g} req/s GET channels?number="
    baseline_row = {ref_name: open_loop(run, bl, tl, ref_name, ref)}
    return {name: open_loop(run, tl, bl, name, snap)}, baseline_row


def open_loop(run: Run, server: Server, other: Server, name: str, w: Workload) -> Result:
    run.settle(server.pid)
    run.settle(other.pid)
    cpu0 = cpu_seconds(server.pid)
    raw = run.open(server.port, w, run.args.rate, run.args.open_duration)
    cpu_s = cpu_seconds(server.pid) - cpu0
    return to_result(name, raw, proc_status_mb(server.pid, "VmRSS"), None, cpu_s)


def bench_servers(
    run: Run, report: DbReport, env: dict[str, str], work: Path, data: dict[str, object]
) -> None:
    """Trunkline and the baseline side by side (one loaded at a time), then the profile pass."""
    args = run.args
    tl_port, bl_port = free_port(), free_port()
    tl_cmd = [str(BIN / "trunkline"), "serve", "--port", str(tl_port)]
    bl_cmd = [sys.executable, "-m", "bench.baseline_app", "--port", str(bl_port)]
    tl_log, bl_log = work / "trunkline-server.log", work / "baseline-server.log"
    with (
        running(tl_cmd, env, work, tl_port, "/healthz", tl_log) as tl_proc,
        running(bl_cmd, env, work, bl_port, "/openapi.json", bl_log) as bl_proc,
    ):
        tl, bl = Server(tl_port, tl_proc.pid), Server(bl_port, bl_proc.pid)
        tl_closed, bl_closed = paired_rounds(run, tl, bl, data)
        tl_open, bl_open = open_loops(run, tl, bl, data) if wanted(args, "open_loop") else ({}, {})
        # Read right after the last run: a saturated open loop leaves a backlog that the server
        # would take long to drain, so it is stopped rather than waited for.
        report.final_rss_mb = proc_status_mb(tl.pid, "VmRSS")
        report.peak_rss_mb = proc_status_mb(tl.pid, "VmHWM")
    report.results = {**tl_closed, **tl_open, **bl_closed, **bl_open}
    if args.profile:
        with running(tl_cmd, env, work, tl_port, "/healthz", tl_log) as proc:
            profile_pass(run, proc.pid, tl_port, str(data["token"]), work, report.db)


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
        w = for_run(w, work, "profile")
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


SCENARIO_KINDS = (
    "snapshot_get",
    "id_get",
    "fixed_get",
    "agent_post",
    "connection_post",
    "trunk_post",
    "open_loop",
)


def wanted(args: argparse.Namespace, kind: str) -> bool:
    """Whether ``--only`` (default: every scenario) selects this scenario kind."""
    return args.only is None or kind in args.only


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
        env = server_env(settings, keyring, args.loop)
        t0 = time.perf_counter()
        data = asyncio.run(prepare_data(settings, SecretBox.from_spec(keyring), env, work, args))
        print(
            f"{db}: seeded {args.numbers:,} numbers (+{args.post_pool:,} spare agents, "
            f"{args.numbers:,} baseline items) in {data['seeded_s']:.1f} s "
            f"(setup {time.perf_counter() - t0:.1f} s)",
            file=sys.stderr,
        )
        bench_servers(Run(args, work), report, env, work, data)
        if args.keep_logs:
            for log in work.glob("*.log"):
                shutil.copy(log, Path(args.keep_logs) / f"{db}-{log.name}")
    return report


# ---------------------------------------------------------------------------------------- table


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def ratio(r: Result) -> float | None:
    """The median of the paired ratios: each round's req/s over the baseline's measured next to
    it, so that a slow minute of the shared machine weighs on both sides of a ratio."""
    return statistics.median(r.ratios) if r.ratios else None


def print_table(report: DbReport, args: argparse.Namespace) -> None:
    rounds = f"{args.rounds} paired round{'s' if args.rounds > 1 else ''}"
    print()
    print(
        f"== {report.db}: {report.numbers:,} numbers, closed loop {args.concurrency} connections "
        f"x {args.duration:g} s, {rounds} ({args.driver}), open loop {args.rate:g} req/s x "
        f"{args.open_duration:g} s"
    )
    print(TABLE_HEADER)
    for r in report.results.values():
        if r.note:
            print(f"{r.scenario:<44}{r.note}")
            continue
        q = ratio(r)
        versus = (
            f"  {q:.2f} x {r.baseline} ({min(r.ratios):.2f}-{max(r.ratios):.2f})"
            if q is not None
            else ""
        )
        print(
            f"{r.scenario:<44}{_fmt(r.rps, ',.0f'):>9}{_fmt(r.cpu_ms, '.2f'):>8}"
            f"{_fmt(r.p50_ms, '.2f'):>9}"
            f"{_fmt(r.p99_ms, '.2f'):>9}{r.errors:>8}{_fmt(r.rss_mb, '.0f'):>8}{versus}"
        )
        if r.errors and r.statuses:
            print(f"{'':<44}statuses {r.statuses}")
        if r.resent:
            print(f"{'':<44}resent {r.resent} (keep-alive connection closed by the server)")
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
        q = ratio(post) if post else None
        line(None if q is None else q >= 0.5,
             f"{rep.db}: POST trunk >= 0.5 x baseline insert: {_fmt(q, '.2f')}")  # fmt: skip
        snap = res.get(SNAPSHOT)
        q = ratio(snap) if snap else None
        line(None if q is None else q >= 0.6,
             f"{rep.db}: snapshot GET >= 0.6 x baseline select: {_fmt(q, '.2f')}")  # fmt: skip
        open_loop = res.get(f"open loop {args.rate:g} req/s GET channels?number=")
        p99 = open_loop.p99_ms if open_loop else None
        line(
            None if open_loop is None else p99 is not None and p99 < 20,  # nothing answered: miss
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
    p.add_argument(
        "--post-pool",
        type=int,
        help="spare agents for POST trunk, one per request a run may send (default: exactly "
        f"that, {MAX_POST_RATE:,} req/s over warm-up, rounds and profile pass; a smaller pool "
        "is refused)",
    )
    p.add_argument("--duration", type=float, default=10.0, help="seconds per closed-loop run")
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="closed-loop rounds per scenario, each paired with its baseline run (medians)",
    )
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
    p.add_argument(
        "--loop",
        choices=["asyncio", "uvloop"],
        default="asyncio",
        help="both servers' event loop (TRUNKLINE_SERVER__LOOP; Trunkline's default: asyncio)",
    )
    p.add_argument("--profile", metavar="DIR", help="also record py-spy profiles into DIR")
    p.add_argument("--profile-seconds", type=int, default=8)
    p.add_argument("--keep-logs", metavar="DIR", help="copy the server logs into DIR")
    p.add_argument(
        "--smoke", action="store_true", help="tiny run (SQLite, 200 numbers, 1 s): harness check"
    )
    args = p.parse_args(argv)
    if args.smoke:
        args.db, args.numbers, args.rounds = "sqlite", 200, 1
        args.duration, args.warmup, args.open_duration = 1.0, 0.0, 1.0
        args.concurrency, args.rate, args.profile = 4, 50.0, None
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    slices = post_slices(args)
    needed = sum(slices.values())
    if args.post_pool is None:
        args.post_pool = needed
    elif args.post_pool < needed:
        runs = ", ".join(f"{label} {size:,}" for label, size in slices.items())
        p.error(
            f"--post-pool {args.post_pool:,} is too small: POST /phone-numbers/trunks may send "
            f"{needed:,} requests at {MAX_POST_RATE:,} req/s ({runs}), and a pair sent twice "
            "answers 409; raise it or leave it out (the default is exactly that)"
        )
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
