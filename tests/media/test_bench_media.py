"""bench/media_bridge.py still runs end to end (tiny size; its figures are never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_media_bridge_bench_prints_its_table() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.media_bridge", "--calls", "2", "--seconds", "1"],
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
    ):
        assert row in done.stdout, row
