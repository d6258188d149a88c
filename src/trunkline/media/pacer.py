"""One 20 ms clock per event loop for every RTP session on it.

A session paced by its own timer costs the loop one timer handle, one heap push and pop and one
callback per packet: 10,000 a second at 200 calls. The :class:`Pacer` instead runs a single
tick every 20 ms and lets each session send what is due at that instant, so the per-packet cost
is one method call in a loop.

Tick *k* is scheduled at ``t0 + k·20 ms`` on the loop's clock (never "now + 20 ms"), so a late
tick does not push the later ones back: the sessions' packets keep their grid without drift, and
each session decides for itself how many of its slots are due (see ``RtpSession``). A session
that starts between ticks has its first slot at the next tick, at most 20 ms later; from then on
its slot *n* is tick ``k0 + n``. The tick stops when the last session leaves and starts again,
on a fresh grid, with the next one.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Protocol

__all__ = ["PacedSession", "Pacer", "pacer_for"]

FRAME_S = 0.020

log = logging.getLogger(__name__)


class PacedSession(Protocol):
    def _pace(self, now: float) -> None:
        """Send whatever is due at ``now`` (loop time)."""


class _Timer(Protocol):
    def cancel(self) -> None: ...


class _Clock(Protocol):
    """What the pacer needs of an event loop (a test may stand in for it)."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], object]) -> _Timer: ...


class Pacer:
    """Calls ``_pace(now)`` on every registered session once per 20 ms tick, in join order."""

    def __init__(self, clock: _Clock) -> None:
        self._clock = clock
        # A dict keeps join order and removes in O(1); the values are unused.
        self._sessions: dict[PacedSession, None] = {}
        self._t0 = 0.0
        self._tick_no = 0
        self._timer: _Timer | None = None

    def __len__(self) -> int:
        return len(self._sessions)

    def join(self, session: PacedSession) -> float:
        """Start pacing ``session``; returns the loop time of its first slot (the next tick)."""
        self._sessions[session] = None
        if self._timer is None:
            self._t0 = self._clock.time()
            self._tick_no = 0
            self._timer = self._clock.call_at(self._t0, self._tick)
        return self._t0 + self._tick_no * FRAME_S

    def leave(self, session: PacedSession) -> None:
        """Stop pacing ``session`` (idempotent); the tick stops with the last one."""
        self._sessions.pop(session, None)
        if not self._sessions and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def next_tick(self) -> float:
        """Loop time of the next tick (that of the first slot of a session joining now)."""
        return self._t0 + self._tick_no * FRAME_S

    def _tick(self) -> None:
        # Timers may fire a little early by the loop's clock (uvloop's has 1 ms resolution):
        # the sessions are told the tick's own time then, so its slot is due, not the next.
        now = max(self._clock.time(), self._t0 + self._tick_no * FRAME_S)
        # A session may leave (its call ends) from inside pace(): iterate over a copy.
        for session in list(self._sessions):
            try:
                session._pace(now)
            except Exception:
                # One call's bug (a listener that raised) must not silence the others.
                log.exception("RTP session failed to send its slot")
        # The tick that just ran was number _tick_no; the next one is due one frame later,
        # or later still when this one was more than a frame late (the sessions skip or
        # burst their own slots; the grid itself never drifts).
        self._tick_no = max(self._tick_no + 1, int((now - self._t0) / FRAME_S) + 1)
        if self._sessions:
            self._timer = self._clock.call_at(self._t0 + self._tick_no * FRAME_S, self._tick)
        else:
            self._timer = None


_PACERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pacer] = weakref.WeakKeyDictionary()


def pacer_for(loop: asyncio.AbstractEventLoop) -> Pacer:
    """The pacer of ``loop``, created on first use (one per loop, so per worker process)."""
    pacer = _PACERS.get(loop)
    if pacer is None:
        pacer = _PACERS[loop] = Pacer(loop)
    return pacer
