"""PlayQueue: the pure rules of agent audio and marks, as tables of operations and outcomes."""

from __future__ import annotations

import pytest

from trunkline.media.g711 import ULAW_SILENCE
from trunkline.media.playout import PlayQueue

S = ULAW_SILENCE


def _audio(value: int, size: int) -> bytes:
    return bytes([value]) * size


# Each step: ("push", bytes) -> (dropped, marks) | ("mark", name) -> marks | ("clear",) -> marks
# | ("frame",) -> (frame, marks). The table gives the expected result of every step.
CASES: dict[str, tuple[int, list[tuple[tuple[object, ...], object]]]] = {
    "exact frames come out in order": (
        10_000,
        [
            (("push", _audio(1, 160) + _audio(2, 160)), (0, [])),
            (("frame",), (_audio(1, 160), [])),
            (("frame",), (_audio(2, 160), [])),
            (("frame",), (None, [])),
        ],
    ),
    "pieces are re-cut; the last frame is padded": (
        10_000,
        [
            (("push", _audio(1, 100)), (0, [])),
            (("push", _audio(2, 100)), (0, [])),
            (("frame",), (_audio(1, 100) + _audio(2, 60), [])),
            (("frame",), (_audio(2, 40) + _audio(S, 120), [])),
            (("frame",), (None, [])),
        ],
    ),
    "mark with nothing queued is due at once": (
        10_000,
        [(("mark", "m"), ["m"])],
    ),
    "mark is due with the frame carrying its last audio": (
        10_000,
        [
            (("push", _audio(1, 320)), (0, [])),
            (("mark", "m"), []),
            (("push", _audio(2, 160)), (0, [])),
            (("frame",), (_audio(1, 160), [])),
            (("frame",), (_audio(1, 160), ["m"])),
            (("frame",), (_audio(2, 160), [])),
        ],
    ),
    "a frame stops short at a mark": (
        10_000,
        [
            (("push", _audio(1, 100)), (0, [])),
            (("mark", "m"), []),
            (("push", _audio(2, 160)), (0, [])),
            (("frame",), (_audio(1, 100) + _audio(S, 60), ["m"])),
            (("frame",), (_audio(2, 160), [])),
        ],
    ),
    "consecutive marks fire together, in order": (
        10_000,
        [
            (("push", _audio(1, 160)), (0, [])),
            (("mark", "a"), []),
            (("mark", "b"), []),
            (("frame",), (_audio(1, 160), ["a", "b"])),
        ],
    ),
    "clear drops audio and returns pending marks": (
        10_000,
        [
            (("push", _audio(1, 500)), (0, [])),
            (("mark", "a"), []),
            (("push", _audio(2, 500)), (0, [])),
            (("mark", "b"), []),
            (("clear",), ["a", "b"]),
            (("frame",), (None, [])),
            (("mark", "c"), ["c"]),
        ],
    ),
    "overflow drops the oldest audio and marks within it": (
        800,
        [
            (("push", _audio(1, 1000)), (200, [])),
            (("mark", "early"), []),
            (("push", _audio(2, 1000)), (1000, ["early"])),
            (("frame",), (_audio(2, 160), [])),
        ],
    ),
    "overflow that empties up to a mark makes it due": (
        320,
        [
            (("push", _audio(1, 320)), (0, [])),
            (("mark", "m"), []),
            (("push", _audio(2, 320)), (320, ["m"])),
            (("frame",), (_audio(2, 160), [])),
        ],
    ),
    "empty audio changes nothing": (
        10_000,
        [(("push", b""), (0, [])), (("frame",), (None, [])), (("mark", "m"), ["m"])],
    ),
}


@pytest.mark.parametrize(("max_bytes", "steps"), list(CASES.values()), ids=list(CASES))
def test_play_queue(max_bytes: int, steps: list[tuple[tuple[object, ...], object]]) -> None:
    queue = PlayQueue(max_bytes)
    for (op, *args), expected in steps:
        if op == "push":
            assert isinstance(args[0], bytes)
            result: object = queue.push(args[0])
        elif op == "mark":
            assert isinstance(args[0], str)
            result = queue.mark(args[0])
        elif op == "clear":
            result = queue.clear()
        else:
            result = queue.next_frame()
        assert result == expected, (op, args)
    assert queue.queued_bytes >= 0


def test_queued_bytes_tracks_pushes_frames_and_drops() -> None:
    queue = PlayQueue(1000)
    queue.push(_audio(1, 700))
    assert queue.queued_bytes == 700
    queue.next_frame()
    assert queue.queued_bytes == 540
    queue.push(_audio(2, 700))
    assert queue.queued_bytes == 1000  # 240 dropped from the front
    queue.clear()
    assert queue.queued_bytes == 0
