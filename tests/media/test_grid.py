"""Where a session's send grid should be: the pure decision, as a table of cases."""

from __future__ import annotations

import pytest

from trunkline.media.grid import ADVANCE_FRAMES, KEEP_S, MARGIN_S, SlackWatch, fit_grid

MS = 0.001


@pytest.mark.parametrize(
    ("wait", "expected", "why"),
    [
        (13 * MS, MARGIN_S, "the next slot is far: the first packet leaves the margin after now"),
        (MARGIN_S + KEEP_S, None, "within a millisecond of the margin: kept"),
        (MARGIN_S - KEEP_S, None, "within a millisecond of the margin: kept"),
        (MARGIN_S + 1.5 * MS, MARGIN_S, "more than a millisecond off: moved"),
        (0.5 * MS, MARGIN_S, "too close for the frames that follow: moved later"),
        (-3 * MS, MARGIN_S, "the slot is overdue (the loop is late): moved later"),
    ],
)
def test_a_talkspurt_start(wait: float, expected: float | None, why: str) -> None:
    watch = SlackWatch(least=1 * MS, frames=ADVANCE_FRAMES - 1)
    assert fit_grid(wait, True, watch) == expected, why
    assert watch == SlackWatch(), "a talkspurt starts a fresh window"


@pytest.mark.parametrize(
    ("waits", "expected", "why"),
    [
        ([15 * MS] * (ADVANCE_FRAMES - 1), None, "not before a whole window of frames"),
        ([15 * MS] * ADVANCE_FRAMES, 15 * MS - 11 * MS, "all waited 11 ms more than needed"),
        (
            [15 * MS] * (ADVANCE_FRAMES - 1) + [9.6 * MS],
            9.6 * MS - 5 * MS,
            "by the least-waiting frame's excess, whole milliseconds",
        ),
        ([15 * MS] * 10 + [4.5 * MS] + [15 * MS] * 14, None, "one frame needed the margin"),
        ([MARGIN_S + KEEP_S] * ADVANCE_FRAMES, None, "a millisecond over is kept"),
        ([2 * MS] * ADVANCE_FRAMES, None, "never later mid-talkspurt (an underrun does that)"),
    ],
)
def test_mid_talkspurt(waits: list[float], expected: float | None, why: str) -> None:
    watch = SlackWatch()
    answers = [fit_grid(wait, False, watch) for wait in waits]
    assert answers[:-1] == [None] * (len(waits) - 1)
    assert answers[-1] == (pytest.approx(expected) if expected is not None else None), why
    if len(waits) == ADVANCE_FRAMES:
        assert watch == SlackWatch(), "each window is judged once"
