"""A stand-in for the event loop's clock and timers, for the pacer and the sessions on it.

Each test says when each timer really fires (on time, early, late), so the grid and what the
sessions are told are exact, with no real time involved. Pending timers are kept in deadline
order; ``fire`` runs the earliest, ``run_until`` every one due by a time.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable


class FakeTimer:
    def __init__(self, when: float, callback: Callable[..., object], args: tuple[object, ...]):
        self.when = when
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """``time()`` and ``call_at()`` of an event loop, driven by the test."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self.scheduled: list[float] = []  # every call_at deadline, in order of the calls
        self._heap: list[tuple[float, int, FakeTimer]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[..., object], *args: object) -> FakeTimer:
        timer = FakeTimer(when, callback, args)
        self.scheduled.append(when)
        heapq.heappush(self._heap, (when, next(self._order), timer))
        return timer

    @property
    def pending(self) -> list[float]:
        """Deadlines of the timers not yet fired nor cancelled, earliest first."""
        return sorted(when for when, _, timer in self._heap if not timer.cancelled)

    def fire(self, lateness: float = 0.0) -> None:
        """Run the earliest pending timer as if the loop got there ``lateness`` after it."""
        while self._heap:
            when, _, timer = heapq.heappop(self._heap)
            if not timer.cancelled:
                self.now = max(self.now, when + lateness)
                timer.callback(*timer.args)
                return
        raise AssertionError("no timer is pending")

    def run_until(self, until: float) -> None:
        """Fire, on time, every timer due by ``until``; then the clock reads ``until``."""
        while self._heap and self._heap[0][0] <= until + 1e-9:
            when, _, timer = heapq.heappop(self._heap)
            if not timer.cancelled:
                self.now = max(self.now, when)
                timer.callback(*timer.args)
        self.now = max(self.now, until)
