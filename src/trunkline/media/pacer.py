"""The 20 ms clock of every RTP session on an event loop, in twenty 1 ms phase buckets.

A session paced by its own timer costs the loop one timer handle, one heap push and pop and one
callback per packet: 10,000 a second at 200 calls. The :class:`Pacer` instead keeps one grid of
1 ms points, ``t0 + j·1 ms``, split into twenty *phase buckets* (bucket ``j mod 20``): each
non-empty bucket runs one tick every 20 ms and lets each of its sessions send what is due at
that instant, so the per-packet cost stays one method call in a loop and the loop holds at most
twenty timers, whatever the number of calls.

Why buckets and not one shared tick: a session's packets leave at a phase of the 20 ms frame,
and the agent's audio arrives at a phase of its own (the caller's, plus the round trip through
the agent). With one tick for everyone an echoed frame waited 0-20 ms for its slot (p50 ≈ 10,
p99 ≈ 20 ms of added latency at 200 calls). With buckets a session can move its grid to any
1 ms phase (:meth:`Pacer.move`, used by ``RtpSession`` at the start of a talkspurt), so the wait
becomes a small fixed margin. 1 ms is the resolution of uvloop's timers; finer buckets would
not fire any closer to their time. Cost: ≤ 20 timer callbacks per 20 ms instead of one
(≤ 1,000 a second, each a loop over its sessions). Measured (bench/README.md, fourth session):
≈ +2 % media CPU per call-second at 200 calls, where packets wake the loop anyway, and +8-23 %
at 50 calls, where the loop would otherwise sleep between them (~30 µs a wake-up on a loaded
machine); 2 ms buckets would save about a third of that for +1 ms of latency.

Tick *k* of bucket *b* is scheduled at ``t0 + b·1 ms + k·20 ms`` (never "now + 20 ms"), so a late
tick does not push the later ones back: the sessions' packets keep their grid without drift, and
each session decides for itself how many of its slots are due (see ``RtpSession``). A session
joins at the first grid point at or after now (so at most 1 ms later) and from then on its slot
*n* is *n* ticks of its bucket later. A bucket's tick stops when its last session leaves and
starts again, on the same grid, with the next one; the grid itself is chosen afresh when the
whole pacer has been empty.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref
from collections.abc import Callable
from typing import Protocol

__all__ = ["BUCKET_S", "PacedSession", "Pacer", "pacer_for"]

FRAME_S = 0.020
BUCKET_S = 0.001  # phase resolution: uvloop's timers fire in 1 ms steps
BUCKETS = round(FRAME_S / BUCKET_S)
_GRID_EPSILON = 1e-6  # in grid steps: a time that is a grid point by float arithmetic stays one

log = logging.getLogger(__name__)


class PacedSession(Protocol):
    def _pace(self, now: float) -> None:
        """Send whatever is due at ``now`` (loop time)."""


class _Timer(Protocol):
    def cancel(self) -> None: ...


class _Clock(Protocol):
    """What the pacer needs of an event loop (a test may stand in for it)."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[..., object], *args: object) -> _Timer: ...


class _Bucket:
    """The sessions of one 1 ms phase and the pending tick they share."""

    __slots__ = ("base", "phase", "sessions", "tick_no", "timer")

    def __init__(self, phase: int, base: float, tick_no: int) -> None:
        self.phase = phase  # b, 0..19
        self.base = base  # loop time of tick 0: t0 + b·1 ms
        self.tick_no = tick_no  # the next tick to run is at base + tick_no·20 ms
        # A dict keeps join order and removes in O(1); the values are unused.
        self.sessions: dict[PacedSession, None] = {}
        self.timer: _Timer | None = None

    @property
    def next_tick(self) -> float:
        return self.base + self.tick_no * FRAME_S


class Pacer:
    """Calls ``_pace(now)`` on each session once per 20 ms, at its bucket's phase, in join order."""

    def __init__(self, clock: _Clock, fresh: Callable[[], float] | None = None) -> None:
        self._clock = clock
        # ``fresh`` reads the loop's clock at full resolution: uvloop's loop.time() is libuv's
        # uv_now() after uv_update_time(), CLOCK_MONOTONIC floored to whole milliseconds (a
        # reading up to 1 ms old: the grid's KEEP_S), asyncio's is time.monotonic() itself.
        # time.monotonic is called directly (a C function: no Python frame per agent frame).
        self.now: Callable[[], float] = fresh if fresh is not None else clock.time
        self._t0 = 0.0
        self._buckets: dict[int, _Bucket] = {}  # the non-empty ones, by phase 0..19
        self._bucket_of: dict[PacedSession, _Bucket] = {}
        self._told = -math.inf  # the time the latest tick told its sessions

    def __len__(self) -> int:
        return len(self._bucket_of)

    @property
    def timers(self) -> int:
        """Ticks pending: one per non-empty phase bucket (at most 20)."""
        return len(self._buckets)

    def join(self, session: PacedSession) -> float:
        """Start pacing ``session``; returns the loop time of its first slot (≤ 1 ms away)."""
        if not self._bucket_of:
            self._t0 = self._clock.time()  # a fresh grid, its first point now
        return self._enter(session, self._clock.time())

    def move(self, session: PacedSession, at: float) -> float:
        """Move a joined ``session`` to the phase of the first grid point at or after ``at``.

        Returns that point's loop time: the session's next slot. Cheap (two dict operations
        and at most one timer armed or cancelled), so a session may move at every talkspurt.
        """
        self._exit(session)
        now = self._clock.time()
        if not self._bucket_of:
            self._t0 = now
        return self._enter(session, max(at, now))

    def leave(self, session: PacedSession) -> None:
        """Stop pacing ``session`` (idempotent); a bucket's tick stops with its last session."""
        self._exit(session)

    def _enter(self, session: PacedSession, at: float) -> float:
        # Never a point whose tick has run (a timer may run up to 1 ms early, and a tick may
        # be running now): the session would be told that time twice.
        at = max(at, self._told + BUCKET_S / 2)
        point = math.ceil((at - self._t0) / BUCKET_S - _GRID_EPSILON)
        phase, tick_no = point % BUCKETS, point // BUCKETS
        bucket = self._buckets.get(phase)
        if bucket is None:
            bucket = self._buckets[phase] = _Bucket(phase, self._t0 + phase * BUCKET_S, tick_no)
            bucket.timer = self._clock.call_at(bucket.next_tick, self._tick, bucket)
        else:
            # The bucket's next tick is this point or, when the loop runs late, an earlier one
            # (the session is not due then: it sends at the point's own tick). It is a later
            # one when the point's tick is running now or ran a hair early: then the next.
            tick_no = max(tick_no, bucket.tick_no)
        bucket.sessions[session] = None
        self._bucket_of[session] = bucket
        return bucket.base + tick_no * FRAME_S

    def _exit(self, session: PacedSession) -> None:
        bucket = self._bucket_of.pop(session, None)
        if bucket is None:
            return
        del bucket.sessions[session]
        if not bucket.sessions:
            if bucket.timer is not None:
                bucket.timer.cancel()
                bucket.timer = None
            if self._buckets.get(bucket.phase) is bucket:
                del self._buckets[bucket.phase]

    def _tick(self, bucket: _Bucket) -> None:
        # Timers may fire a little early by the loop's clock (uvloop's has 1 ms resolution):
        # the sessions are told the tick's own time then, so its slot is due, not the next.
        now = self._told = max(self._clock.time(), bucket.next_tick)
        # The next tick is due one frame later, or later still when this one was more than a
        # frame late (the sessions skip or burst their own slots; the grid never drifts). It
        # is set before the sessions run, so one joining from inside them waits for it.
        bucket.tick_no = max(bucket.tick_no + 1, int((now - bucket.base) / FRAME_S) + 1)
        bucket.timer = None
        sessions = bucket.sessions
        # A session may leave or move (its call ends, a talkspurt starts) from inside pace():
        # iterate over a copy, skipping those gone since.
        for session in list(sessions):
            if session not in sessions:
                continue
            try:
                session._pace(now)
            except Exception:
                # One call's bug (a listener that raised) must not silence the others.
                log.exception("RTP session failed to send its slot")
        if sessions and bucket.timer is None:
            bucket.timer = self._clock.call_at(bucket.next_tick, self._tick, bucket)


_PACERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pacer] = weakref.WeakKeyDictionary()


def pacer_for(loop: asyncio.AbstractEventLoop) -> Pacer:
    """The pacer of ``loop``, created on first use (one per loop, so per worker process)."""
    pacer = _PACERS.get(loop)
    if pacer is None:
        # asyncio's loop.time() is time.monotonic(); uvloop's is the same clock (CLOCK_MONOTONIC,
        # libuv's uv_now) in whole milliseconds. Any other loop clock is used as it is.
        same_clock = abs(time.monotonic() - loop.time()) < 0.1
        pacer = _PACERS[loop] = Pacer(loop, time.monotonic if same_clock else None)
    return pacer
