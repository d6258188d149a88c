"""Summarise py-spy ``--format raw`` profiles (collapsed stacks): ``python -m bench.profile_summary
FILE... [--top N] [--match TEXT]``.

For each file: the share of samples by package (self time), the top functions by self time, and
the top Trunkline functions by inclusive time (a frame counted once per stack). ``--match`` adds
the inclusive share of every frame whose text contains TEXT.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::(?P<line>\d+))?\)$")
_PACKAGES = (
    "trunkline", "sqlalchemy", "pydantic_core", "pydantic", "fastapi", "starlette", "uvicorn",
    "h11", "aiosqlite", "asyncpg", "sqlite3", "asyncio", "json", "cryptography", "phonenumbers",
    "anyio", "logging", "threading", "selectors", "bench",
)  # fmt: skip


def package(frame: str) -> str:
    match = _FRAME.match(frame)
    path = match.group("file") if match else frame
    for name in _PACKAGES:
        if f"/{name}/" in path or path.startswith(f"{name}/") or path.endswith(f"/{name}.py"):
            return name
    if "site-packages" in path:
        return path.split("site-packages/")[1].split("/")[0]
    return "stdlib/other" if path else "?"


def short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    if "site-packages/" in path:
        path = path.split("site-packages/")[1]
    elif "/src/" in path:
        path = path.split("/src/")[1]
    elif "/lib/python3" in path:
        path = "stdlib/" + path.split("/lib/python3")[1].split("/", 1)[1]
    return f"{match.group('func')} ({path})"


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks: list[tuple[list[str], int]] = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def summarise(path: Path, top: int, matches: list[str]) -> None:
    stacks = load(path)
    total = sum(n for _, n in stacks) or 1
    by_package: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    matched: Counter[str] = Counter()
    idle = 0
    for frames, n in stacks:
        leaf = frames[-1]
        if "select (selectors.py" in leaf:
            idle += n
        by_package[package(leaf)] += n
        self_time[short(leaf)] += n
        for frame in {short(f) for f in frames if "trunkline/" in f}:
            inclusive[frame] += n
        joined = ";".join(frames)
        for text in matches:
            if text in joined:
                matched[text] += n
    print(f"\n### {path.name}: {total} samples (idle in select: {100 * idle / total:.1f} %)")
    print("self time by package: " + ", ".join(
        f"{name} {100 * n / total:.1f}%" for name, n in by_package.most_common(12)))  # fmt: skip
    print("top self time:")
    for name, n in self_time.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {name}")
    print("trunkline inclusive:")
    for name, n in inclusive.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {name}")
    for text in matches:
        print(f"  match {text!r}: {100 * matched[text] / total:.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--match", action="append", default=[])
    args = parser.parse_args()
    for path in args.files:
        summarise(path, args.top, args.match)


if __name__ == "__main__":
    main()
