"""The agent WebSocket's per-frame fast paths, on top of ``websockets`` 17.4 (pinned).

50 frames a second each way per call make the generic paths of ``websockets`` a large share of a
call worker's CPU (py-spy at 200 calls: ~28 % of the media process inclusive for writing caller
frames, ~12 % for reading agent frames). Two shortcuts, each relying on documented-but-internal
behaviour of websockets' asyncio implementation, which ``tests/media/test_agent_socket.py``
pins so an upgrade that changes it fails loudly:

* **Writing** (:func:`write_text`): a client text frame is built here — header, a masking key
  from a pool of ``os.urandom`` bytes refilled 1,024 keys at a time instead of one
  ``getrandom`` system call per frame (RFC 6455 §5.3 asks for unpredictable keys from a strong
  source; a slice of ``os.urandom`` is exactly that), the payload masked by websockets' own C
  ``apply_mask`` — and handed to the transport in one ``write``. This bypasses
  ``Protocol.send_text`` (a ``Frame`` object, a ``BytesIO``) and ``Connection.send_data``; it is
  only correct while the protocol holds no other bytes to send (``protocol.writes`` empty) and
  no fragmented message is under way, which :func:`can_write` checks.
* **Reading** (:class:`AgentConnection`): complete data frames are handed to a callback from
  ``process_event`` (inside ``data_received``) instead of going through the message assembler,
  a queue and a task wake-up per frame. Control frames (ping, pong, close) and the handshake
  keep websockets' own handling; fragmented messages are joined here, under the protocol's own
  ``max_size`` check. And when websockets' parser stands between two frames with nothing
  buffered (its generator waiting in ``StreamReader.at_eof``), whole unfragmented text frames
  at the start of the received bytes are cut out here without its parser at all; whatever
  else arrives (a partial frame, control frames, a 64-bit length) goes to websockets from that
  frame boundary on.

Measured by ``python -m bench.media_frames`` (CPU per frame, best of 3 x 10,000, uvloop, on the
shared 2-core machine): writing a caller frame 1.51 → 0.42 µs (the socket's system call, the
same for both, left out), reading, parsing and playing an agent frame 7.90 → 5.63 µs through
``process_event``, → 2.37 µs with the frames cut out here; together about 0.33 ms of CPU per
call-second (50 frames each way).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import Event, State
from websockets.streams import StreamReader

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the wheel ships the C extension
    from websockets.utils import apply_mask

__all__ = ["AgentConnection", "MaskKeys", "can_write", "write_text"]

_HEAD_SHORT = struct.Struct("!BB")
_HEAD_MEDIUM = struct.Struct("!BBH")
_HEAD_LONG = struct.Struct("!BBQ")
_FIN_TEXT = 0x80 | Opcode.TEXT.value
_MASKED = 0x80
# The parser generator waits in StreamReader.at_eof between two frames (websockets 17.4).
_AT_EOF_CODE = StreamReader.at_eof.__code__


class MaskKeys:
    """4-byte masking keys sliced from ``os.urandom``, one system call per 1,024 keys.

    Measured (``python -m timeit``): ``secrets.token_bytes(4)``, websockets' way, 0.55 µs per
    key; the next slice of the pool 0.20 µs.
    """

    def __init__(self, keys_per_refill: int = 1024) -> None:
        self._size = 4 * keys_per_refill
        self._pool = b""
        self._at = self._size

    def next(self) -> bytes:
        at = self._at
        if at >= self._size:
            self._pool = os.urandom(self._size)
            at = 0
        self._at = at + 4
        return self._pool[at : at + 4]


_KEYS = MaskKeys()


def masked_text_frame(data: bytes, key: bytes) -> bytes:
    """One final text frame as a client sends it (RFC 6455 §5.2): header, key, masked data."""
    length = len(data)
    if length < 126:
        head = _HEAD_SHORT.pack(_FIN_TEXT, _MASKED | length)
    elif length < 65536:
        head = _HEAD_MEDIUM.pack(_FIN_TEXT, _MASKED | 126, length)
    else:
        head = _HEAD_LONG.pack(_FIN_TEXT, _MASKED | 127, length)
    return head + key + apply_mask(data, key)


def can_write(ws: ClientConnection) -> bool:
    """The socket may take a frame from :func:`write_text` now: open, not paused by flow
    control, no fragmented send under way, and nothing of websockets' own waiting to go out
    first (so the bytes keep their order)."""
    return (
        ws.protocol.state is State.OPEN
        and not ws.paused
        and ws.send_in_progress is None
        and not ws.protocol.writes
    )


def write_text(ws: ClientConnection, text: str) -> None:
    """What ``await ws.send(text)`` does for one small text frame, minus the coroutine, the
    ``Frame`` object and the ``getrandom`` call. Only when :func:`can_write`."""
    ws.transport.write(masked_text_frame(text.encode(), _KEYS.next()))


TextHandler = Callable[[bytes], None]


# Text messages kept for a stream that is not running yet (the agent spoke first): at most
# 10 s of 20 ms frames, then newer ones are dropped.
MAX_EARLY_MESSAGES = 500


class AgentConnection(ClientConnection):
    """A client connection that hands complete text messages straight to a callback.

    Data frames never reach websockets' message assembler (``recv`` and ``async for`` get
    nothing): every text message (UTF-8 bytes, not yet decoded) goes, in order, to the callback
    given to :meth:`deliver_to`, or is kept (up to :data:`MAX_EARLY_MESSAGES`) until it is
    given; binary messages are dropped. The callback runs inside ``data_received``: it must
    not raise.
    """

    _on_text: TextHandler | None = None
    _early: list[bytes] | None = None
    early_dropped = 0
    _fragments: bytearray | None = None
    _fragmented_text = False

    def deliver_to(self, on_text: TextHandler) -> None:
        """From now on hand text messages to ``on_text``, after those that came before."""
        early, self._early = self._early or [], None
        self._on_text = on_text
        for message in early:
            on_text(message)

    def _keep_early(self, message: bytes) -> None:
        if self._early is None:
            self._early = []
        if len(self._early) >= MAX_EARLY_MESSAGES:
            self.early_dropped += 1
            return
        self._early.append(message)

    def data_received(self, data: bytes) -> None:
        """Complete, unfragmented, unmasked text frames at the start of ``data`` go straight to
        the callback when websockets' parser stands between two frames with nothing buffered;
        the rest (a partial frame, control frames, anything unusual) is websockets' to parse,
        from that frame boundary on. What it saves is the parser's generator steps, a
        ``Frame`` object and the event plumbing per frame (``bench.media_frames``)."""
        on_text = self._on_text
        if on_text is not None and self._at_frame_boundary():
            size, start, limit = len(data), 0, self.protocol.max_message_size
            while size - start >= 2 and data[start] == _FIN_TEXT:
                length = data[start + 1]  # no mask bit: a server's frame
                head = start + 2
                if length == 126:
                    if size - start < 4:
                        break
                    length = (data[head] << 8) | data[head + 1]
                    head += 2
                elif length > 126:
                    break  # masked (a protocol error) or 64-bit length: websockets decides
                end = head + length
                if end > size or (limit is not None and length > limit):
                    break
                on_text(data[head:end])
                start = end
            if start == size:
                return
            if start:
                data = data[start:]
        super().data_received(data)

    def _at_frame_boundary(self) -> bool:
        protocol = self.protocol
        if protocol.state is not State.OPEN or protocol.current_size is not None:
            return False
        if protocol.reader.buffer or protocol.parser_exc is not None:
            return False
        # The generator the parser waits in, through its `yield from`s (the client's parse()
        # delegates to Protocol.parse(), which waits in at_eof() between frames).
        waiting, inner = protocol.parser, getattr(protocol.parser, "gi_yieldfrom", None)
        while inner is not None:
            waiting, inner = inner, getattr(inner, "gi_yieldfrom", None)
        return getattr(waiting, "gi_code", None) is _AT_EOF_CODE

    def process_event(self, event: Event) -> None:
        if not isinstance(event, Frame):
            super().process_event(event)  # the handshake's response
            return
        on_text = self._on_text or self._keep_early
        opcode = event.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if event.fin:
                if opcode is Opcode.TEXT:
                    on_text(bytes(event.data))
                return
            self._fragments = bytearray(event.data)
            self._fragmented_text = opcode is Opcode.TEXT
            return
        if opcode is Opcode.CONT:
            fragments = self._fragments
            if fragments is None:
                return  # the protocol refuses a stray continuation before we see it
            fragments += event.data
            if event.fin:
                self._fragments = None
                if self._fragmented_text:
                    on_text(bytes(fragments))
            return
        super().process_event(event)  # ping, pong, close: websockets' own handling
