"""The benchmark harness still runs end to end (tiny sizes; figures are never asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench.harness import TABLE_HEADER

ROOT = Path(__file__).resolve().parents[2]


class TestBenchSmoke:
    def test_smoke_run_prints_the_table(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "bench", "--smoke"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,  # seven scenarios x (warm-up + 2 runs) on a shared machine
        )

        assert done.returncode == 0, done.stderr[-3000:]
        assert TABLE_HEADER in done.stdout
        assert "== targets (reported, not asserted)" in done.stdout
        for scenario in (
            "POST /phone-numbers/trunks",
            "GET /phone-numbers/channels?number=",
            "POST /channels/sip-trunk/connections",
            "GET /phone-numbers/{uuid}",
            "POST /agents",
            "baseline POST /items (insert)",
            "baseline GET /items/{key} (select)",
        ):
            assert f"\n{scenario} " in done.stdout, scenario
        # Trunkline rows end with the median paired ratio and its min-max over the rounds.
        post_row = re.search(r"\nPOST /phone-numbers/trunks .*", done.stdout)
        assert post_row is not None
        assert re.search(r"  \d+\.\d\d x insert \(\d+\.\d\d-\d+\.\d\d\)$", post_row[0]), post_row[0]
        # The server's CPU per request comes right after req/s.
        assert re.match(r"\nPOST /phone-numbers/trunks +[\d,]+ +\d+\.\d\d ", post_row[0]), post_row[
            0
        ]
