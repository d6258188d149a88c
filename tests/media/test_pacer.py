"""The pacer: twenty 1 ms phase buckets per loop, each one 20 ms tick on a grid that never drifts.

A stand-in clock (tests/media/fake_clock.py) runs the ticks: each test says when each tick
really fires (on time, early, late), so the grid and what the sessions are told are exact.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest
import uvloop

from tests.media.fake_clock import FakeClock
from trunkline.media.pacer import BUCKET_S, FRAME_S, Pacer, pacer_for


class Session:
    def __init__(self, fail: bool = False) -> None:
        self.told: list[float] = []
        self.fail = fail
        self.on_pace: list[object] = []  # callables run inside the next _pace

    def _pace(self, now: float) -> None:
        self.told.append(now)
        while self.on_pace:
            action = self.on_pace.pop()
            assert callable(action)
            action()
        if self.fail:
            raise RuntimeError("a listener bug")


def _joined_at_zero(count: int) -> tuple[FakeClock, Pacer, list[Session]]:
    """A pacer on a clock at 0 with ``count`` sessions joined (all in the 0 ms bucket)."""
    clock = FakeClock(now=0.0)
    pacer = Pacer(clock)
    sessions = [Session() for _ in range(count)]
    for session in sessions:
        pacer.join(session)
    return clock, pacer, sessions


def test_ticks_stay_on_the_grid_when_some_fire_late() -> None:
    clock = FakeClock(now=100.0)
    pacer = Pacer(clock)
    first_slot = pacer.join(Session())
    assert first_slot == 100.0
    for lateness in (0.0, 0.007, 0.0, 0.012, 0.001):
        clock.fire(lateness)
    # Deadlines are t0 + k·20 ms whatever the lateness of the ticks before them.
    assert clock.scheduled == pytest.approx([100.0 + k * FRAME_S for k in range(6)])


def test_no_drift_over_many_ticks_in_several_buckets() -> None:
    clock = FakeClock(now=0.0)
    pacer = Pacer(clock)
    sessions = [Session() for _ in range(3)]
    for offset, session in zip((0.0, 0.0032, 0.0151), sessions, strict=True):
        pacer.join(session)
        pacer.move(session, offset)
    rng = random.Random(11)
    for _ in range(3 * 20_000):  # 400 s of ticks, each up to 15 ms late or 0.9 ms early
        clock.fire(lateness=rng.uniform(-0.0009, 0.015))
    # Every session was told its own grid point every 20 ms: 0, 4 and 16 ms past t0.
    for phase_ms, session in zip((0, 4, 16), sessions, strict=True):
        assert len(session.told) >= 19_999
        for k in (0, 1, 9_999, 19_998):
            expected = phase_ms * BUCKET_S + k * FRAME_S
            assert expected <= session.told[k] <= expected + 0.015 + 1e-9


def test_a_tick_more_than_a_frame_late_moves_to_the_next_grid_point() -> None:
    clock, _, (session,) = _joined_at_zero(1)
    clock.fire()  # tick 0 at 0 ms
    clock.fire(lateness=0.050)  # tick 1 due at 20 ms runs at 70 ms
    # The session is told the real time (it skips or bursts its own slots); the next tick
    # is the next grid point after it, 80 ms, not 70 + 20 ms.
    assert session.told == pytest.approx([0.0, 0.070])
    assert clock.pending == pytest.approx([0.080])


def test_an_early_timer_tells_the_tick_its_own_time() -> None:
    clock, _, (session,) = _joined_at_zero(1)
    clock.fire()
    clock.fire(lateness=-0.0009)  # uvloop's 1 ms clock may run a timer a hair early
    assert session.told == pytest.approx([0.0, FRAME_S])


def test_a_session_joins_at_the_next_millisecond_in_that_phase_bucket() -> None:
    clock = FakeClock(now=10.0)
    pacer = Pacer(clock)
    early, late, later = Session(), Session(), Session()
    pacer.join(early)
    clock.fire()
    clock.now = 10.0052  # between grid points: the next one is 6 ms past t0
    assert pacer.join(late) == pytest.approx(10.006)
    clock.now = 10.0058  # the same phase: the same bucket, the same timer
    assert pacer.join(later) == pytest.approx(10.006)
    assert pacer.timers == 2
    clock.run_until(10.030)
    assert early.told == pytest.approx([10.0, 10.020])
    assert late.told == later.told == pytest.approx([10.006, 10.026])


def test_buckets_come_and_go_with_their_sessions() -> None:
    clock = FakeClock(now=5.0)
    pacer = Pacer(clock)
    one, two, three = Session(), Session(), Session()
    pacer.join(one)
    pacer.join(two)
    clock.now = 5.0031
    pacer.join(three)  # phase 4 ms
    assert pacer.timers == 2 and len(pacer) == 3
    clock.run_until(5.020)
    pacer.leave(three)
    pacer.leave(three)  # idempotent
    assert pacer.timers == 1  # its bucket's timer was cancelled with its last session
    assert clock.pending == pytest.approx([5.040])
    clock.run_until(5.100)
    assert three.told == pytest.approx([5.004])
    pacer.leave(one)
    assert pacer.timers == 1
    pacer.leave(two)
    assert clock.pending == [] and len(pacer) == 0 and pacer.timers == 0
    clock.now = 7.0137
    assert pacer.join(Session()) == 7.0137  # an empty pacer starts a fresh grid at now
    assert clock.pending == [7.0137]


def test_move_changes_the_phase_and_returns_the_next_slot() -> None:
    clock, pacer, (stays, moves) = _joined_at_zero(2)
    clock.run_until(0.0205)  # ticks at 0 and 20 ms
    # Its audio arrives at 20.5 ms: it moves so its next slot is 24 ms, not 40 ms.
    assert pacer.move(moves, 0.0245) == pytest.approx(0.025)
    assert pacer.timers == 2
    clock.run_until(0.070)
    assert stays.told == pytest.approx([0.0, 0.020, 0.040, 0.060])
    assert moves.told == pytest.approx([0.0, 0.020, 0.025, 0.045, 0.065])
    # Moving to a time already past means the next grid point from now.
    clock.now = 0.0712
    assert pacer.move(moves, 0.050) == pytest.approx(0.072)
    # Its old bucket (5 ms) is gone with it.
    assert pacer.timers == 2 and clock.pending == pytest.approx([0.072, 0.080])


def test_a_session_moving_during_its_buckets_tick_is_told_once() -> None:
    clock, pacer, (first, second) = _joined_at_zero(2)
    # While the bucket's tick runs, the first session moves the second one 3 ms on (it is
    # not told this tick again), and a third joins at the tick's own point (already run): its
    # first slot is the next point, not this one again.
    third = Session()
    first.on_pace.append(lambda: pacer.move(second, 0.003))
    first.on_pace.append(lambda: pacer.join(third))
    clock.fire()
    # The same after the tick when its timer ran a hair early (the clock is before it).
    clock.now = -0.0008
    assert pacer.move(first, -0.0008) == pytest.approx(0.001)
    clock.run_until(0.025)
    assert first.told == pytest.approx([0.0, 0.001, 0.021])
    assert second.told == pytest.approx([0.003, 0.023])
    assert third.told == pytest.approx([0.001, 0.021])


def test_sessions_leaving_during_a_tick_leave_no_timer_behind() -> None:
    clock, pacer, (first, second) = _joined_at_zero(2)
    other = Session()
    clock.fire()  # their tick at 0
    clock.now = 0.0052
    pacer.join(other)  # another bucket (6 ms)
    clock.run_until(0.006)
    assert other.told == pytest.approx([0.006])
    # Inside the 20 ms tick the first session ends its call, ends the second's (not told
    # after it left) and the other bucket's: every session gone from inside one tick.
    first.on_pace.append(lambda: pacer.leave(other))
    first.on_pace.append(lambda: pacer.leave(second))
    first.on_pace.append(lambda: pacer.leave(first))
    clock.fire()
    assert first.told == pytest.approx([0.0, 0.020])
    assert second.told == pytest.approx([0.0])
    assert other.told == pytest.approx([0.006])
    assert clock.pending == [] and len(pacer) == 0 and pacer.timers == 0
    # The pacer is empty: the next session starts a fresh grid at its own time.
    clock.now = 0.0303
    assert pacer.join(Session()) == 0.0303
    assert clock.pending == [0.0303]


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
    assert clock.pending
    assert "RTP session failed" in caplog.text


async def test_one_pacer_per_loop() -> None:
    loop = asyncio.get_running_loop()
    assert pacer_for(loop) is pacer_for(loop)
    other = asyncio.new_event_loop()
    try:
        assert pacer_for(other) is not pacer_for(loop)
    finally:
        other.close()


async def test_now_reads_the_clock_afresh_when_the_loops_reading_is_old() -> None:
    clock = FakeClock(now=50.0)
    assert Pacer(clock).now() == 50.0  # the loop's own clock, when nothing fresher is given
    assert Pacer(clock, fresh=lambda: 50.0042).now() == 50.0042
    loop = asyncio.get_running_loop()
    assert pacer_for(loop).now is time.monotonic  # asyncio's loop.time() is time.monotonic()


def test_uvloops_clock_is_time_monotonic_in_whole_milliseconds() -> None:
    # pacer_for reads uvloop's clock through time.monotonic: the same clock, a little ahead
    # (uvloop floors it to whole milliseconds; it is not a reading cached per loop iteration).
    async def readings() -> tuple[float, float, float, object]:
        loop = asyncio.get_running_loop()
        before = time.monotonic()
        while time.monotonic() - before < 0.008:  # busy, inside one loop iteration
            pass
        return loop.time(), time.monotonic(), before, pacer_for(loop).now

    loop_time, fresh, before, now = uvloop.run(readings())
    assert now is time.monotonic
    assert 0.0 <= fresh - loop_time < 0.0025  # the floor, and libuv may read the coarse clock
    assert loop_time - before > 0.005  # read afresh, not at the iteration's start
