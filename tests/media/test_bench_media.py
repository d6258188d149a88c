"""bench/media_bridge.py still runs end to end (tiny size; its figures are never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from bench.media_syscalls import parse, report

ROOT = Path(__file__).resolve().parents[2]
BENCH = [sys.executable, "-m", "bench.media_bridge"]


def test_media_bridge_bench_prints_its_table() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.media_bridge",
            "--calls",
            "2",
            "--seconds",
            "1",
            "--syscalls",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # The lean peer (bench/media_peer.py: one UDP socket, a raw-socket WebSocket agent) gets
    # caller frames through the bridges and back (how many depends on the machine's load).
    echoed = done.stdout.split("\ncaller frames echoed back (agent round trip)")[1].split()
    assert float(echoed[0]) > 0, done.stdout
    for row in (
        "== media bridge: 2 calls x 1 s",
        "\nsession packets in (from caller) ",
        "\ncaller frames echoed back (agent round trip) ",
        "\nRTP send-interval jitter |gap - 20 ms| ",
        "\ncaller -> agent (RTP in, WebSocket out) ",
        "\nagent -> caller (incl. wait for the slot) ",
        "\nround trip caller -> agent -> caller ",
        "\nagent hold (echo - read, in the peer) ",
        "\nadded latency (round trip - agent hold) ",
        "\nmedia process CPU: ",
        "\npeer process (callers + echo agent) CPU: ",
        "\nbridges ended: {'caller_hangup': 2}",
        # The table where perf can count, or why it could not: the run goes on either way.
        "\nsystem calls",
    ):
        assert row in done.stdout, row


def test_the_peer_reading_in_its_ticks_gets_every_echo_back() -> None:
    done = subprocess.run(
        [*BENCH, "--calls", "2", "--seconds", "1", "--peer-read-in-ticks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {line[:44].strip(): line[44:].split() for line in done.stdout.splitlines()}
    sent = float(rows["caller packets sent"][1])
    # The last echoes are read after the last send tick too (the peer keeps its ticks going).
    assert float(rows["caller frames echoed back (agent round trip)"][0]) > 0, done.stdout
    assert float(rows["session packets in (from caller)"][1]) == sent, done.stdout
    assert float(rows["RTP send-interval jitter |gap - 20 ms|"][0]) >= 0, done.stdout


PERF_CSV = """# started on Tue Dec  1 23:06:07 2026

268952,,raw_syscalls:sys_enter,4045886364,100.00,,
49932,,syscalls:sys_enter_write,4045886364,100.00,,
0,,syscalls:sys_enter_writev,4045886364,100.00,,
85826,,syscalls:sys_enter_recvmsg,4045886364,100.00,,
<not counted>,,syscalls:sys_enter_futex,0,0.00,,
35895,,syscalls:sys_exit_recvmsg,4045886364,100.00,,
"""


def test_syscall_counts_parse_and_report_per_call_second(
    capsys: pytest.CaptureFixture[str],
) -> None:
    counts = parse(PERF_CSV)
    assert counts == {
        "ALL": 268952,
        "write": 49932,
        "writev": 0,
        "recvmsg": 85826,
        "recvmsg failed": 35895,
    }
    report({"media": counts, "peer": {"ALL": 1000, "sendto": 500}}, 1000.0, "")
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["ALL", "269.0", "1.0"]
    assert ["recvmsg", "85.8", "0.0"] in [line.split() for line in lines]
    assert ["recvmsg", "failed", "(EAGAIN)", "35.9", "0.0"] in [line.split() for line in lines]
    assert not any(line.split()[0] in ("writev", "futex") for line in lines[1:])
    report({}, 1.0, "perf not found")
    assert "not counted (perf not found)" in capsys.readouterr().out
