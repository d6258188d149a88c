"""The pacer: one 20 ms tick per loop, on a grid that never drifts, for every session on it.

A stand-in clock runs the ticks: each test says when each tick really fires (on time, early,
late), so the grid and what the sessions are told are exact, with no real time involved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from trunkline.media.pacer import FRAME_S, Pacer, pacer_for


class FakeClock:
    """Holds the one pending timer; ``fire(at=…)`` runs it as if the loop got there then."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self.scheduled: list[float] = []  # every call_at deadline, in order
        self._pending: tuple[float, Callable[[], object]] | None = None

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], object]) -> FakeClock:
        self.scheduled.append(when)
        self._pending = (when, callback)
        return self  # the handle: cancel() drops the pending tick

    def cancel(self) -> None:
        self._pending = None

    @property
    def pending(self) -> float | None:
        return None if self._pending is None else self._pending[0]

    def fire(self, lateness: float = 0.0) -> None:
        assert self._pending is not None, "no tick is pending"
        when, callback = self._pending
        self._pending = None
        self.now = when + lateness
        callback()


class Session:
    def __init__(self, fail: bool = False) -> None:
        self.told: list[float] = []
        self.fail = fail

    def _pace(self, now: float) -> None:
        self.told.append(now)
        if self.fail:
            raise RuntimeError("a listener bug")


def test_ticks_stay_on_the_grid_when_some_fire_late() -> None:
    clock = FakeClock(now=100.0)
    pacer = Pacer(clock)
    first_slot = pacer.join(Session())
    assert first_slot == 100.0
    for lateness in (0.0, 0.007, 0.0, 0.012, 0.001):
        clock.fire(lateness)
    # Deadlines are t0 + k·20 ms whatever the lateness of the ticks before them.
    assert clock.scheduled == pytest.approx([100.0 + k * FRAME_S for k in range(6)])


def test_a_tick_more_than_a_frame_late_moves_to_the_next_grid_point() -> None:
    clock = FakeClock(now=0.0)
    pacer = Pacer(clock)
    session = Session()
    pacer.join(session)
    clock.fire()  # tick 0 at 0 ms
    clock.fire(lateness=0.050)  # tick 1 due at 20 ms runs at 70 ms
    # The session is told the real time (it skips or bursts its own slots); the next tick
    # is the next grid point after it, 80 ms, not 70 + 20 ms.
    assert session.told == pytest.approx([0.0, 0.070])
    assert clock.pending == pytest.approx(0.080)


def test_an_early_timer_tells_the_tick_its_own_time() -> None:
    clock = FakeClock(now=0.0)
    pacer = Pacer(clock)
    session = Session()
    pacer.join(session)
    clock.fire()
    clock.fire(lateness=-0.0009)  # uvloop's 1 ms clock may run a timer a hair early
    assert session.told == pytest.approx([0.0, FRAME_S])


def test_sessions_joining_later_start_at_the_next_tick() -> None:
    clock = FakeClock(now=10.0)
    pacer = Pacer(clock)
    early, late = Session(), Session()
    pacer.join(early)
    clock.fire()
    clock.now = 10.005  # between ticks
    assert pacer.join(late) == pytest.approx(10.020)
    clock.fire()
    assert len(early.told) == 2
    assert late.told == pytest.approx([10.020])


def test_the_tick_stops_with_the_last_session_and_restarts_on_a_fresh_grid() -> None:
    clock = FakeClock(now=5.0)
    pacer = Pacer(clock)
    one, two = Session(), Session()
    pacer.join(one)
    pacer.join(two)
    clock.fire()
    pacer.leave(one)
    pacer.leave(one)  # idempotent
    assert clock.pending is not None and len(pacer) == 1
    pacer.leave(two)
    assert clock.pending is None and len(pacer) == 0
    clock.now = 7.013
    assert pacer.join(Session()) == 7.013
    assert clock.pending == 7.013


def test_one_failing_session_does_not_silence_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    pacer = Pacer(clock)
    broken, fine = Session(fail=True), Session()
    pacer.join(broken)
    pacer.join(fine)
    clock.fire()
    clock.fire()
    assert len(fine.told) == 2
    assert clock.pending is not None
    assert "RTP session failed" in caplog.text


async def test_one_pacer_per_loop() -> None:
    loop = asyncio.get_running_loop()
    assert pacer_for(loop) is pacer_for(loop)
    other = asyncio.new_event_loop()
    try:
        assert pacer_for(other) is not pacer_for(loop)
    finally:
        other.close()
