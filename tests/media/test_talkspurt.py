"""Talkspurts: a session's send grid moves to its agent's audio, and only at a talkspurt start.

Real UDP sockets on 127.0.0.1; the pacer runs on a stand-in clock (tests/media/fake_clock.py)
so each packet's send time, marker bit and RTP timestamp are exact. The grid points below are
in milliseconds after the session's start (100 s on the stand-in clock).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

import pytest

from tests.media.conftest import FarEnd, Recorder, wait_until
from tests.media.fake_clock import FakeClock
from trunkline.media import session as session_module
from trunkline.media.g711 import ULAW_SILENCE
from trunkline.media.grid import ADVANCE_FRAMES
from trunkline.media.pacer import Pacer
from trunkline.media.rtp import RtpPacket
from trunkline.media.session import MAX_BURST, TALKSPURT_MARGIN_S, Codec, RtpSession

START = 100.0
SILENT = bytes([ULAW_SILENCE]) * 160
MARGIN_MS = round(TALKSPURT_MARGIN_S * 1000)


def _frame(n: int) -> bytes:
    return bytes([(n % 0x7E) + 1]) * 160


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    fake = FakeClock(now=START)
    pacer = Pacer(fake)
    monkeypatch.setattr(session_module, "pacer_for", lambda loop: pacer)
    yield fake


def _start(session: RtpSession, far: FarEnd) -> None:
    session.start(
        remote=far.address,
        codec=Codec.PCMU,
        dtmf_payload_type=None,
        listener=Recorder(),
        media_timeout_s=3600.0,
    )


def _at(clock: FakeClock, ms: float) -> None:
    """Run the pacer until ``ms`` after the start; the clock then reads that time."""
    clock.run_until(START + ms / 1000)


async def _packets(far: FarEnd, session: RtpSession) -> list[RtpPacket]:
    await far.wait_packets(session.stats.packets_out)
    return far.packets


def _ts_steps(packets: list[RtpPacket]) -> list[int]:
    return [(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in itertools.pairwise(packets)]


async def test_audio_after_silence_moves_the_grid_with_marker_and_real_timestamp(
    session: RtpSession, far_end: FarEnd, clock: FakeClock
) -> None:
    _start(session, far_end)
    _at(clock, 60)  # silence at 0, 20, 40 and 60 ms
    _at(clock, 67)
    session.play(_frame(1))  # the old grid's next slot is 80 ms: 13 ms away
    assert session.stats.rephases == 1
    _at(clock, 67 + MARGIN_MS - 0.01)
    assert session.stats.packets_out == 4  # not before its slot
    _at(clock, 67 + MARGIN_MS)
    assert session.stats.packets_out == 5  # the margin after it arrived, not 13 ms
    _at(clock, 67 + MARGIN_MS + 15)
    session.play(_frame(2))  # the next frame, 15 ms later: the talkspurt goes on
    _at(clock, 67 + MARGIN_MS + 100)
    packets = await _packets(far_end, session)
    assert [p.payload for p in packets[3:7]] == [SILENT, _frame(1), _frame(2), SILENT]
    assert len(packets) == 10  # 0, 20, 40, 60, then 71, 91, ..., 171 ms with a 4 ms margin
    assert [p.marker for p in packets] == [True] + [False] * 3 + [True] + [False] * 5
    # The grid moved earlier (the silence packet at 60 ms, the talkspurt at 71): the
    # timestamp advances by one frame, not by the 11 ms of real time, so the talkspurt does
    # not start inside the silence packet; then 160 per 20 ms.
    assert _ts_steps(packets) == [160] * 9
    assert [(p.sequence - packets[0].sequence) & 0xFFFF for p in packets] == list(range(10))
    assert session.stats.rephases == 1


async def test_a_steady_stream_keeps_its_grid(
    session: RtpSession, far_end: FarEnd, clock: FakeClock
) -> None:
    _start(session, far_end)
    _at(clock, 10)
    session.play(_frame(0))  # a talkspurt starts: slots at 10 + margin + 20·n ms
    first_slot = 10 + MARGIN_MS
    rng = random.Random(7)
    played = 1
    for n in range(1, 200):
        # Each frame comes 20 ms after the last, give or take less than the margin (some
        # windows of 25 all wait more than the margin: a millisecond's excess is kept).
        arrival = first_slot + n * 20 - MARGIN_MS + rng.uniform(-0.9, 0.25) * MARGIN_MS
        _at(clock, arrival)
        session.play(_frame(n))
        played += 1
    _at(clock, first_slot + 200 * 20 + 40)
    packets = await _packets(far_end, session)
    assert session.stats.rephases == 1 and session.stats.grid_advances == 0
    spurt = packets[packets.index(next(p for p in packets if p.payload != SILENT)) :]
    assert spurt[0].marker and not any(p.marker for p in spurt[1:])
    assert set(_ts_steps(spurt)) == {160}  # no drift, no burst, no jump
    assert len([p for p in spurt if p.payload != SILENT]) == played


async def test_a_frame_later_than_the_margin_starts_a_new_talkspurt(
    session: RtpSession, far_end: FarEnd, clock: FakeClock
) -> None:
    _start(session, far_end)
    _at(clock, 5)
    session.play(_frame(1))  # slots at 5 + margin + 20·n
    slot = 5 + MARGIN_MS
    _at(clock, slot + 20 - MARGIN_MS)
    session.play(_frame(2))  # on time
    _at(clock, slot + 40 + 2)  # 2 ms after its slot, which went out as silence
    session.play(_frame(3))
    assert session.stats.rephases == 2
    _at(clock, slot + 100)
    packets = await _packets(far_end, session)
    sent = [p for p in packets if p.payload != SILENT]
    assert [p.marker for p in sent] == [True, False, True]
    # Frame 2, the silence of the slot frame 3 missed, frame 3 six ms later: one frame each.
    assert (sent[2].timestamp - sent[1].timestamp) & 0xFFFFFFFF == 2 * 160


async def test_a_grid_moved_later_advances_the_timestamp_by_the_real_time(
    session: RtpSession, far_end: FarEnd, clock: FakeClock
) -> None:
    _start(session, far_end)
    _at(clock, 40 - 1)  # the next slot (40 ms) is 1 ms away: too close for the next frames
    session.play(_frame(1))
    assert session.stats.rephases == 1
    _at(clock, 80)
    packets = await _packets(far_end, session)
    assert [p.payload for p in packets] == [SILENT, SILENT, _frame(1), SILENT]
    assert [p.marker for p in packets] == [True, False, True, False]
    # 20 ms (silence) → 39 + margin ms: the timestamp tells the real time (RFC 3550 §5.1).
    assert _ts_steps(packets) == [160, (39 + MARGIN_MS - 20) * 8, 160]


async def test_a_grid_already_at_the_margin_is_kept(
    session: RtpSession, far_end: FarEnd, clock: FakeClock
) -> None:
    _start(session, far_end)
    _at(clock, 20 - MARGIN_MS)  # the next slot (20 ms) is the margin away
    session.play(_frame(1))
    assert session.stats.rephases == 0
    _at(clock, 60)
    packets = await _packets(far_end, session)
    assert packets[1].payload == _frame(1) and not packets[1].marker
    assert _ts_steps(packets) == [160, 160, 160]


async def test_no_talkspurt_while_held_or_for_a_mark(
    session: RtpSession, far_end: FarEnd, clock: FakeClock
) -> None:
    _start(session, far_end)
    _at(clock, 7)
    session.mark("nothing queued")
    session.hold(True)
    session.play(_frame(1))
    assert session.stats.rephases == 0
    session.hold(False)
    _at(clock, 47)
    assert session.stats.rephases == 0
    packets = await _packets(far_end, session)
    assert packets[1].payload == _frame(1) and packets[1].marker  # the hold's own talkspurt


async def test_a_late_loop_still_bursts_at_most_max_burst_after_a_talkspurt(
    session: RtpSession, far_end: FarEnd, clock: FakeClock
) -> None:
    _start(session, far_end)
    _at(clock, 3)
    session.play(b"".join(_frame(n) for n in range(10)))
    slot = 3 + MARGIN_MS
    _at(clock, slot)  # frame 0 on time
    clock.fire(lateness=0.070)  # the tick due at slot + 20 runs at slot + 90 ms
    assert session.stats.packets_out == 1 + MAX_BURST + 1  # the start's silence, 0, a burst
    assert session.stats.skipped_sends == 1
    assert session.stats.late_sends == 2
    _at(clock, slot + 200)
    packets = await _packets(far_end, session)
    await wait_until(lambda: len(far_end.packets) == session.stats.packets_out, "all packets")
    sent = [p for p in packets if p.payload != SILENT]
    assert [p.payload for p in sent] == [_frame(n) for n in range(10)]
    # The oldest late slot was skipped, and its timestamp with it (the grid stays the grid);
    # no audio is lost.
    assert _ts_steps(sent) == [320] + [160] * 8
    assert session.stats.rephases == 1


async def test_a_talkspurt_that_began_late_moves_earlier_mid_stream(
    session: RtpSession, far_end: FarEnd, clock: FakeClock
) -> None:
    _start(session, far_end)
    # Its first frame arrives 9 ms late (a stall): the grid follows it, 9 + margin after its
    # nominal time; the frames after it come on time and wait 9 ms more than they need.
    _at(clock, 9)
    session.play(_frame(0))
    for n in range(1, ADVANCE_FRAMES + 1):
        _at(clock, n * 20)
        session.play(_frame(n))
    # The window's 25th frame moved the grid 9 ms earlier (whole ms), once.
    assert session.stats.grid_advances == 1
    for n in range(ADVANCE_FRAMES + 1, 3 * ADVANCE_FRAMES):
        _at(clock, n * 20)
        session.play(_frame(n))
        # Each frame now leaves the margin after it arrived, not 9 ms more.
        _at(clock, n * 20 + MARGIN_MS - 0.01)
        before = session.stats.packets_out
        _at(clock, n * 20 + MARGIN_MS)
        assert session.stats.packets_out == before + 1
    _at(clock, 3 * ADVANCE_FRAMES * 20 + 40)
    assert session.stats.grid_advances == 1 and session.stats.rephases == 1
    packets = await _packets(far_end, session)
    sent = [p for p in packets if p.payload != SILENT]
    assert [p.payload for p in sent] == [_frame(n) for n in range(3 * ADVANCE_FRAMES)]
    assert [p.marker for p in sent] == [True] + [False] * (3 * ADVANCE_FRAMES - 1)
    assert set(_ts_steps(sent)) == {160}  # contiguous: the early packet just leaves early
