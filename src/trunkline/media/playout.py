"""The play queue: agent audio waiting for its 20 ms slots, with the agent's marks between it.

Pure bookkeeping (no clock, no socket), so every rule is a table test: audio of any length
goes in, 160-byte frames come out (the last one of an utterance padded with silence), a mark
is due once all audio queued before it has come out, ``clear`` empties everything and returns
every pending mark, and beyond ``max_bytes`` the *oldest* audio is dropped — the agent is
streaming ahead of real time, and what it said first is the stalest. Each method returns the
marks it made due; the caller reports them, in order.
"""

from __future__ import annotations

from collections import deque

from trunkline.media.g711 import ULAW_SILENCE

__all__ = ["PlayQueue"]

FRAME_BYTES = 160
_SILENCE = bytes([ULAW_SILENCE]) * FRAME_BYTES


class PlayQueue:
    """μ-law audio and mark names, in the order the agent sent them."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: deque[bytearray | str] = deque()  # str items are mark names
        self._bytes = 0

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    def push(self, ulaw: bytes) -> tuple[int, list[str]]:
        """Queue audio; returns (bytes dropped from the front, marks that became due)."""
        if not ulaw:
            return 0, []
        tail = self._items[-1] if self._items else None
        if isinstance(tail, bytearray):
            tail += ulaw
        else:
            self._items.append(bytearray(ulaw))
        self._bytes += len(ulaw)
        if self._bytes <= self.max_bytes:
            return 0, []
        return self._drop_front(self._bytes - self.max_bytes)

    def mark(self, name: str) -> list[str]:
        """Queue a mark; returns it at once when no audio is waiting before it."""
        if self._bytes == 0:
            return [name]
        self._items.append(name)
        return []

    def clear(self) -> list[str]:
        """Drop all audio; returns every pending mark, in order."""
        marks = [item for item in self._items if isinstance(item, str)]
        self._items.clear()
        self._bytes = 0
        return marks

    def next_frame(self) -> tuple[bytes | None, list[str]]:
        """The next 160-byte frame (None when no audio waits) and the marks due after it.

        A frame stops short at a mark and is padded with silence: the mark then fires when that
        packet is sent rather than one packet later, inside the next sentence's audio.
        """
        if self._bytes == 0:
            return None, []
        frame = bytearray()
        items = self._items
        while len(frame) < FRAME_BYTES and items:
            head = items[0]
            if isinstance(head, str):
                break
            need = FRAME_BYTES - len(frame)
            frame += head[:need]
            del head[:need]  # bytearray deletes from the front in O(1) amortised
            if not head:
                items.popleft()
        self._bytes -= len(frame)
        if len(frame) < FRAME_BYTES:
            frame += _SILENCE[: FRAME_BYTES - len(frame)]
        return bytes(frame), self._leading_marks()

    def _drop_front(self, excess: int) -> tuple[int, list[str]]:
        items = self._items
        dropped = 0
        marks: list[str] = []
        while excess > 0 and items:
            head = items[0]
            if isinstance(head, str):
                marks.append(head)  # its audio is gone: nothing left to wait for
                items.popleft()
                continue
            cut = min(excess, len(head))
            del head[:cut]
            if not head:
                items.popleft()
            excess -= cut
            dropped += cut
        self._bytes -= dropped
        marks += self._leading_marks()
        return dropped, marks

    def _leading_marks(self) -> list[str]:
        marks: list[str] = []
        items = self._items
        while items and isinstance(items[0], str):
            head = items.popleft()
            assert isinstance(head, str)
            marks.append(head)
        return marks
