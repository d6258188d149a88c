"""Where a session's 20 ms send grid should be: a pure decision, from the agent's audio arrivals.

Agent audio arrives at a phase of its own. :func:`fit_grid` is asked each time a frame arrives
to an empty play queue (the frame will take the grid's next slot), with ``wait``: the time from
now until that slot. It answers where the next slot should be, relative to now, or ``None`` to
keep the grid:

* **talkspurt start** (the previous slot went out as silence): at :data:`MARGIN_S` — the first
  packet leaves the margin after its audio arrived, instead of 0-20 ms later. Kept when the
  grid is already within :data:`KEEP_S` of it.
* **mid-talkspurt** (the previous slot carried audio): the grid never moves later here (a frame
  later than its slot underruns into one silence packet and starts a talkspurt instead), and
  moves earlier only when *every* one of the last :data:`ADVANCE_FRAMES` frames waited more
  than the margin (+ ``KEEP_S``) for its slot — e.g. the talkspurt began during a stall of the
  loop, so its first frame arrived late and the grid with it — and then by whole milliseconds,
  so that the least-waiting of them would have had the margin. A jitter buffer shrinks the
  same way: on the evidence of a window of arrivals, not of one. The timestamps go on by 160 a
  packet, so the far end sees one packet come early: an adaptive jitter buffer shrinks by as
  much, a fixed one holds it longer (the caller hears it when it would have anyway).

Frames that arrive while audio is queued are not asked about: they go out when the queue
ahead of them has, whatever the grid. A stall of the loop that leaves a frame standing in the
queue ahead of each new one keeps it there until the agent pauses (nothing is dropped to catch
up; docs/calls.md): the grid cannot move before now, so draining it would take two packets
within a few ms (audio faster than real time, which a fixed jitter buffer must hold or drop) —
left out.

The margin absorbs the arrival jitter of the frames that follow a talkspurt's first: the lower
it is, the lower the latency and the more often a late frame underruns (each underrun is one
send interval other than 20 ms). 4 ms is uvloop's 1 ms timer step and the pacer's 1 ms bucket
over ~2 ms of arrival jitter. Measured (bench/README.md, fourth session; 50 bridged calls on a
loaded machine, paired): added latency p50 16 → 7-9 ms, p99 25-27 → 13-16 ms, with 1.5-2.5
re-phases a call in 10 s (the first included) and send-interval jitter p99 unchanged; the
mid-talkspurt move alone took p50 from 14.5 to 7-9 ms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ADVANCE_FRAMES", "KEEP_S", "MARGIN_S", "SlackWatch", "fit_grid"]

MARGIN_S = 0.004  # a talkspurt's first packet leaves this long after its audio arrived
KEEP_S = 0.001  # a grid within this of where it should be stays (the pacer's resolution)
ADVANCE_FRAMES = 25  # half a second of frames, all waiting longer than needed, to move earlier


@dataclass(slots=True)
class SlackWatch:
    """The least wait of the frames seen since the grid last moved (or the window began)."""

    least: float = math.inf
    frames: int = 0

    def reset(self) -> None:
        self.least = math.inf
        self.frames = 0


def fit_grid(wait: float, talkspurt: bool, watch: SlackWatch) -> float | None:
    """Where the next slot should be, in seconds from now; ``None`` keeps the grid."""
    if talkspurt:
        watch.reset()
        return None if abs(wait - MARGIN_S) <= KEEP_S else MARGIN_S
    if wait < watch.least:
        watch.least = wait
    watch.frames += 1
    if watch.frames < ADVANCE_FRAMES:
        return None
    excess = watch.least - MARGIN_S
    watch.reset()
    if excess <= KEEP_S:
        return None
    return wait - math.floor(excess * 1000) / 1000  # whole milliseconds earlier
