"""Run a sample of tests each alone, in a fresh process: a test that passes only after another
one set something up fails here. ``make test-alone N=60 SEED=7`` (extra pytest arguments after
the options, e.g. ``-p no:cacheprovider``).

The sample is drawn with the seed, evenly across the test directories (round-robin over
``tests/<dir>``), so every area is covered. Prints one line per test and exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def collect(extra: list[str]) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if "::" in line and line.startswith("tests/")]


def sample(ids: list[str], count: int, seed: int) -> list[str]:
    """``count`` ids, drawn round-robin over the test directories in a seeded order."""
    rng = random.Random(seed)
    by_dir: dict[str, list[str]] = defaultdict(list)
    for test_id in ids:
        by_dir[test_id.split("/")[1]].append(test_id)
    for group in by_dir.values():
        rng.shuffle(group)
    dirs = sorted(by_dir)
    rng.shuffle(dirs)
    picked: list[str] = []
    while len(picked) < min(count, len(ids)):
        for name in dirs:
            if by_dir[name] and len(picked) < count:
                picked.append(by_dir[name].pop())
    return picked


def run_alone(test_id: str, extra: list[str]) -> tuple[str, int, float, str]:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *extra, test_id],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
    return test_id, done.returncode, time.monotonic() - start, tail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--jobs", type=int, default=1, help="tests run at once")
    args, extra = parser.parse_known_args()
    picked = sample(collect(extra), args.count, args.seed)
    print(f"{len(picked)} tests alone, seed {args.seed}", flush=True)
    failed = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for test_id, code, took, tail in pool.map(lambda t: run_alone(t, extra), picked):
            # pytest exit 5 = nothing ran (deselected): not a pass, so it counts as a failure
            verdict = "ok" if code == 0 else f"FAILED (exit {code})"
            print(f"{verdict:>18}  {took:5.1f}s  {test_id}", flush=True)
            if code != 0:
                failed.append((test_id, tail))
    for test_id, tail in failed:
        print(f"\n=== {test_id}\n{tail}")
    print(f"\n{len(picked) - len(failed)} passed, {len(failed)} failed (seed {args.seed})")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
