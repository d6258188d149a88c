"""The Python load generator, run as its own process: ``python -m bench.loadgen SPEC_JSON``.

Two modes:

- ``closed``: ``concurrency`` connections, each sending its next request as soon as the previous
  answer arrived, for ``duration_s`` (throughput; the fallback when wrk is not installed).
- ``open``: requests *scheduled* at a fixed ``rate`` whatever the server does, each on an idle
  keep-alive connection (a new one is opened when none is idle). Latency is measured from the
  scheduled send time, so a stalled server shows up in the percentiles instead of silently
  slowing the sender down (no coordinated omission). An idempotent request whose reused
  connection turns out closed by the server is sent once more on a new one (``resent``).

It speaks raw HTTP/1.1 over asyncio streams — the responses come from uvicorn and always carry a
Content-Length — because a load generator should add as little as it can to what it measures: an
HTTP client library costs several times more CPU per request on the same two cores the server
uses. Prints one line: ``BENCHJSON {...}``.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from bench.requests import Workload, python_requests

MAX_OPEN_CONNECTIONS = 256
GRACE_S = 5.0
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class ClosedUnanswered(ConnectionError):
    """The server closed the connection before answering at all (a keep-alive connection it
    had timed out): the only failure after which a request may be sent again."""


@dataclass
class Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @classmethod
    async def open(cls, host: str, port: int) -> Conn:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def send(self, raw: bytes) -> int:
        """Send one request and read the whole response; its status code. ``ClosedUnanswered``
        if the connection closed before the first byte of an answer."""
        self.writer.write(raw)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            if error.partial:
                raise
            raise ClosedUnanswered from error
        except ConnectionResetError as error:
            raise ClosedUnanswered from error
        match = _CONTENT_LENGTH.search(head)
        if match is None:
            raise RuntimeError("response without Content-Length")
        await self.reader.readexactly(int(match.group(1)))
        return int(head[9:12])

    def close(self) -> None:
        self.writer.close()


def is_idempotent(raw: bytes) -> bool:
    """Whether a raw request may be sent again after its connection failed (RFC 9110 §9.2.2)."""
    return raw.startswith((b"GET ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS "))


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def summary(latencies: list[float], statuses: Counter[int], errors: int, wall: float) -> dict:
    latencies.sort()
    failed = sum(n for status, n in statuses.items() if not 200 <= status < 400)
    return {
        "requests": len(latencies),
        "duration_us": int(wall * 1e6),
        "status_errors": failed,
        "socket_errors": errors,
        # None when nothing was answered at all (every request an error).
        "p50_us": int(percentile(latencies, 50) * 1e6) if latencies else None,
        "p99_us": int(percentile(latencies, 99) * 1e6) if latencies else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


async def closed_loop(
    host: str, port: int, reqs: Iterator[bytes], concurrency: int, duration_s: float
) -> dict:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    start = time.perf_counter()
    stop = start + duration_s

    async def worker() -> None:
        nonlocal errors
        conn = await Conn.open(host, port)
        try:
            while time.perf_counter() < stop:
                raw = next(reqs)
                t0 = time.perf_counter()
                try:
                    status = await conn.send(raw)
                except (OSError, asyncio.IncompleteReadError, RuntimeError):
                    errors += 1
                    conn.close()
                    conn = await Conn.open(host, port)
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses[status] += 1
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summary(latencies, statuses, errors, time.perf_counter() - start)


async def open_loop(
    host: str, port: int, reqs: Iterator[bytes], rate: float, duration_s: float
) -> dict:
    loop = asyncio.get_running_loop()
    idle: list[Conn] = [await Conn.open(host, port) for _ in range(8)]
    slots = asyncio.Semaphore(MAX_OPEN_CONNECTIONS)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    resent = 0

    async def one(scheduled: float, raw: bytes) -> None:
        nonlocal errors, resent
        async with slots:
            reused = bool(idle)
            conn = idle.pop() if reused else await Conn.open(host, port)
            try:
                try:
                    status = await conn.send(raw)
                except ClosedUnanswered:
                    # The server may close a keep-alive connection that sat idle (uvicorn's
                    # keep-alive timeout) just as it is reused. Like any HTTP client, resend an
                    # idempotent request once on a new connection; its latency still counts from
                    # the scheduled start. A connection that broke mid-answer is an error.
                    if not (reused and is_idempotent(raw)):
                        raise
                    conn.close()
                    resent += 1
                    conn = await Conn.open(host, port)
                    status = await conn.send(raw)
            except (OSError, asyncio.IncompleteReadError, RuntimeError):
                errors += 1
                conn.close()
                return
            except asyncio.CancelledError:
                conn.close()
                raise
            latencies.append(loop.time() - scheduled)
            statuses[status] += 1
            idle.append(conn)

    tasks: list[tuple[float, asyncio.Task[None]]] = []
    start = loop.time()
    total = int(rate * duration_s)
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append((scheduled, asyncio.create_task(one(scheduled, next(reqs)))))
    # A saturated server would keep a bounded run going for minutes: after a grace period the
    # unanswered requests count as errors, with their waiting time so far as a latency floor.
    _, pending = await asyncio.wait([t for _, t in tasks], timeout=GRACE_S)
    now = loop.time()
    for scheduled, task in tasks:
        if task in pending:
            task.cancel()
            latencies.append(now - scheduled)
            errors += 1
    await asyncio.gather(*pending, return_exceptions=True)
    wall = loop.time() - start
    for conn in idle:
        conn.close()
    result = summary(latencies, statuses, errors, wall)
    result["requests"] = len(latencies) - len(pending)  # answered
    result["unanswered"] = len(pending)
    result["resent"] = resent
    return result


async def run(spec: dict) -> dict:
    workload = Workload.from_json(json.dumps(spec["workload"]))
    host, port = spec["host"], int(spec["port"])
    reqs = python_requests(workload, f"{host}:{port}")
    if spec["mode"] == "open":
        return await open_loop(host, port, reqs, float(spec["rate"]), float(spec["duration_s"]))
    return await closed_loop(host, port, reqs, int(spec["concurrency"]), float(spec["duration_s"]))


def main() -> None:
    spec = json.loads(sys.argv[1])
    print("BENCHJSON " + json.dumps(asyncio.run(run(spec))), flush=True)


if __name__ == "__main__":
    main()
