"""One call's RTP: receive and re-cut the far end's audio, pace ours out at 20 ms.

Receiving (RFC 3550 §5.1, RFC 3551 §4.5.14): any packet size ("ptime") is accepted and re-cut
into 20 ms frames of μ-law (160 bytes) for the listener; A-law is translated on the way in and
out. Packets that repeat or precede the highest sequence number seen are dropped, so the listener
hears the stream in order. Telephone-events (RFC 4733) become digits.

Symmetric RTP (RFC 4961 §4, "latching"): a caller behind NAT announces an address in SDP that
is not where its packets come from. We send to the SDP address until the first valid packet with
a negotiated payload type arrives, then to that packet's source, and from then on accept media
only from it (so a stray sender on the same port cannot inject audio). ``update_remote`` (a
re-INVITE) starts the latching again.

Sending: packet *n* goes out at ``t0 + n·20 ms`` on the loop's clock, where ``t0`` is a point
of the loop's :class:`~trunkline.media.pacer.Pacer` grid (twenty 1 ms phase buckets, one timer
per non-empty bucket), so lateness of one tick never accumulates into drift. A late tick sends
what is due (counted in ``late_sends``), but at most :data:`MAX_BURST` packets at once; older
slots are skipped (``skipped_sends``) and their timestamps with them, since an RTP timestamp
tells the sampling instant (§5.1) and a burst would only overflow the far end's jitter buffer.
With nothing queued we send codec silence, which keeps NAT bindings open and the far end's
jitter buffer fed.

Talkspurts (the latency decision): agent audio arrives at a phase of its own, unrelated to the
session's grid, so on a fixed grid each frame would wait 0-20 ms for its slot (p99 ≈ 20 ms of
added latency at 200 calls; issue 11 asks ≤ 20). A talkspurt starts when agent audio arrives
while the previous slot went out as silence and nothing is queued; then, and only then, the
session *re-phases*: its grid moves so the next packet leaves :data:`TALKSPURT_MARGIN_S` after
now (the margin absorbs the arrival jitter of the frames that follow, so they keep making their
slots; a frame later than that underruns into one silence packet and starts a talkspurt of its
own). As any sender starting a talkspurt does, the first packet carries the marker bit
(RFC 3551 §4.1), so the far end's jitter buffer re-syncs its playout point to it and the gain
reaches the caller's ear. Its timestamp advances by the real time since the previous slot
(RFC 3550 §5.1) when the grid moves later, and by one frame (160) when it moves earlier: with
the real time it would start inside the silence packet sent just before, whose samples a
receiver has already scheduled (WebRTC's NetEq, for one, drops a packet older than what it
played), while a packet that arrives early is something every jitter buffer absorbs. So
timestamps never overlap nor run backwards; they run ahead of the wall clock by up to 16 ms
per such talkspurt, which nothing reads (Trunkline sends no RTCP sender reports mapping them
to wall-clock time; Asterisk's RTP stack likewise keeps a frame's timestamp contiguous when it
comes a little early). A grid already within 1 ms of the margin is kept. Mid-talkspurt the
grid never moves later, and moves earlier only when every frame of the last half second waited
longer than the margin (its first frame came during a stall): then by whole milliseconds, with
contiguous timestamps and no marker (``grid_advances``; the rule is
:func:`trunkline.media.grid.fit_grid`). Frames arriving while audio is queued never move it: a
steady stream keeps its 20 ms spacing (no drift, no burst). Re-phases are counted
(``rephases``); each move makes one send interval other than 20 ms.

The receive path is :class:`~trunkline.media.receive.RtpReceiver`, which RtpSession inherits;
this module holds the session's lifecycle, the agent audio queue and the paced send path.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import struct
from dataclasses import replace

from trunkline.media.dtmf import DtmfReceiver
from trunkline.media.g711 import ULAW_SILENCE, ulaw_to_alaw
from trunkline.media.grid import MARGIN_S, SlackWatch, fit_grid
from trunkline.media.pacer import Pacer, pacer_for
from trunkline.media.playout import PlayQueue
from trunkline.media.ports import PortPool
from trunkline.media.receive import RtpReceiver
from trunkline.media.session_types import (
    BYTES_PER_MS,
    FRAME_BYTES,
    FRAME_S,
    Codec,
    MediaListener,
    MediaStats,
)

__all__ = [
    "FRAME_BYTES",
    "FRAME_S",
    "MAX_BURST",
    "TALKSPURT_MARGIN_S",
    "Codec",
    "MediaListener",
    "MediaStats",
    "RtpSession",
]

MAX_BURST = 3  # packets sent back-to-back at most when the loop was late
# A talkspurt's first packet leaves this long after its audio arrived (trunkline.media.grid).
TALKSPURT_MARGIN_S = MARGIN_S
_EARLY_S = 0.0005  # a timer may fire a hair before its deadline: count the slot as due anyway
_HEADER = struct.Struct("!BBHII")


class _RtpProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.session: RtpSession | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if self.session is not None:
            self.session._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        if self.session is not None:
            self.session._stats.send_errors += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class RtpSession(RtpReceiver):
    """One call's RTP endpoint: open (bind), start (once the far end is known), close."""

    def __init__(
        self,
        transport: asyncio.DatagramTransport,
        protocol: _RtpProtocol,
        host: str,
        port: int,
        pool: PortPool,
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self._pool = pool
        self.local_host = host
        self.local_port = port
        self._stats = MediaStats(codec="")
        self._listener: MediaListener | None = None
        self._codec = Codec.PCMU
        self._payload_type = 0
        self._dtmf_payload_type: int | None = None
        self._dtmf = DtmfReceiver()
        self._silence_payload = bytes([ULAW_SILENCE]) * FRAME_BYTES
        self._send_to: tuple[str, int] = ("127.0.0.1", 0)
        self._latched_from: tuple[str, int] | None = None
        # Receive side.
        self._rx_buffer = bytearray()
        self._rx_ssrc: int | None = None
        self._rx_highest_seq = 0
        # Send side (RFC 3550 §5.1: random initial sequence number, timestamp and SSRC).
        self.ssrc = secrets.randbits(32)
        self._seq0 = secrets.randbits(16)
        self._slot = 0  # the next slot of the current grid
        self._t0 = 0.0  # loop time of the current grid's slot 0
        self._ts_t0 = secrets.randbits(32)  # RTP timestamp of the current grid's slot 0
        self._marker_next = True
        self._idle = True  # the last slot went out as silence (or none went out yet)
        self._slack = SlackWatch()
        self._playout = PlayQueue(max_bytes=60 * 1000 * BYTES_PER_MS)
        self._pacer: Pacer | None = None
        self._held = False
        # Media timeout.
        self._media_timeout_s = 60.0
        self._last_rx = 0.0  # loop time of the first slot that saw rx_count move
        self._rx_count = 0  # packets_in when _last_rx was set
        self._timed_out = False
        self._started = False
        self._closed = False

    @classmethod
    async def open(cls, host: str, ports: PortPool) -> RtpSession:
        """Bind an even port of ``ports`` on ``host``; the session sends nothing until start."""
        transport, protocol, port = await ports.bind(host, _RtpProtocol)
        session = cls(transport, protocol, host, port, ports)
        protocol.session = session
        return session

    def start(
        self,
        *,
        remote: tuple[str, int],
        codec: Codec,
        dtmf_payload_type: int | None,
        listener: MediaListener,
        media_timeout_s: float = 60.0,
        max_queue_s: float = 60.0,
    ) -> None:
        """Begin sending to ``remote`` (the SDP address) and reporting to ``listener``."""
        if self._started:
            raise RuntimeError("RtpSession.start() called twice")
        if self._closed:
            raise RuntimeError("RtpSession is closed")
        loop = asyncio.get_running_loop()
        self._started = True
        self._listener = listener
        self._codec = codec
        self._payload_type = codec.payload_type
        self._dtmf_payload_type = dtmf_payload_type
        self._silence_payload = bytes([codec.silence]) * FRAME_BYTES
        self._send_to = remote
        self._media_timeout_s = media_timeout_s
        self._playout.max_bytes = int(max_queue_s * 1000) * BYTES_PER_MS
        self._stats.codec = codec.value
        self._stats.remote = remote
        self._last_rx = loop.time()
        self._pacer = pacer_for(loop)
        self._t0 = self._pacer.join(self)  # slot n goes out at the pacer's tick t0 + n·20 ms

    # -- agent audio -------------------------------------------------------------------------

    def play(self, ulaw: bytes) -> None:
        """Queue μ-law audio of any length; it goes out re-cut into 20 ms packets, in order.

        Audio arriving after silence starts a talkspurt: the send grid moves so its first
        packet leaves ``TALKSPURT_MARGIN_S`` from now; audio for an empty queue mid-talkspurt
        may move it earlier (see the module's docstring).
        """
        if ulaw and self._playout.queued_bytes == 0 and self._pacer is not None:
            self._fit_grid(self._pacer)
        dropped, marks = self._playout.push(ulaw)
        if dropped or marks:
            listener = self._require_listener()
            for name in marks:
                listener.on_mark(name)
            if dropped:
                dropped_ms = dropped // BYTES_PER_MS
                self._stats.dropped_ms += dropped_ms
                listener.on_audio_dropped(dropped_ms)

    def mark(self, name: str) -> None:
        """Report ``name`` via ``on_mark`` once everything queued before it has been sent."""
        self._fire_marks(self._playout.mark(name))

    def clear(self) -> None:
        """Drop all queued audio now; every pending mark is reported at once, in order."""
        self._fire_marks(self._playout.clear())

    def report_dtmf(self, digit: str) -> None:
        """A key that arrived by signalling (SIP INFO ``application/dtmf-relay``, RFC 2976).

        Counted with the RFC 4733 digits and handed to the listener, so the agent sees one
        stream of keys whichever way the far end sends them.
        """
        self._stats.dtmf.append(digit)
        self._require_listener().on_dtmf(digit)

    @property
    def queued_ms(self) -> int:
        """Agent audio waiting to be sent."""
        return self._playout.queued_bytes // BYTES_PER_MS

    # -- call control ------------------------------------------------------------------------

    def update_remote(self, remote: tuple[str, int]) -> None:
        """The far end moved (re-INVITE): send there and latch afresh on its packets."""
        self._send_to = remote
        self._latched_from = None
        self._stats.remote = remote
        self._stats.latched = False

    def hold(self, on_hold: bool) -> None:
        """Stop sending (and expecting) RTP while held (RFC 3264 §8.4 sendonly/inactive)."""
        if self._held and not on_hold:
            # A new talkspurt begins (RFC 3551 §4.1) and the far end gets a fresh timeout.
            self._marker_next = True
            self._last_rx = asyncio.get_running_loop().time()
        self._held = on_hold

    @property
    def codec(self) -> Codec:
        return self._codec

    @property
    def stats(self) -> MediaStats:
        """A snapshot of the counters."""
        return replace(self._stats, dtmf=list(self._stats.dtmf))

    async def close(self) -> None:
        """Stop sending, close the socket and give the port back. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._pacer is not None:
            self._pacer.leave(self)
        self._transport.close()
        # The socket is closed in a later loop iteration: wait so the port is really free.
        await self._protocol.closed
        self._pool.release(self.local_port)

    # -- internals ---------------------------------------------------------------------------

    def _require_listener(self) -> MediaListener:
        if self._listener is None:
            raise RuntimeError("RtpSession.start() must be called first")
        return self._listener

    def _fire_marks(self, marks: list[str]) -> None:
        if marks:
            listener = self._require_listener()
            for name in marks:
                listener.on_mark(name)

    def _fit_grid(self, pacer: Pacer) -> None:
        """Audio for an empty queue: move the send grid if it is far from where it should be."""
        if self._held or self._closed:
            return
        now = pacer.now()
        next_slot = self._t0 + self._slot * FRAME_S
        at = fit_grid(next_slot - now, self._idle, self._slack)
        if at is None:
            return
        t0 = pacer.move(self, now + at)
        if not self._idle:
            # Mid-talkspurt, moved earlier: the timestamps go on by 160 a packet (this one
            # merely leaves early, which every jitter buffer absorbs); no marker.
            self._ts_t0 += self._slot * FRAME_BYTES
            self._stats.grid_advances += 1
        elif self._slot > 0:
            # A talkspurt: the timestamp advances by the real time between the two slots
            # (RFC 3550 §5.1; both whole milliseconds of the pacer's grid), but by one frame
            # at least: a talkspurt moved earlier must not start inside the silence packet just
            # sent (a jitter buffer would drop it as already played, or overlap the two).
            last = self._slot - 1  # sent, or passed while held
            elapsed = round((t0 - self._t0 - last * FRAME_S) * 1000) * BYTES_PER_MS
            self._ts_t0 += last * FRAME_BYTES + max(elapsed, FRAME_BYTES)
        if self._idle:
            self._marker_next = True  # RFC 3551 §4.1: the first packet of a talkspurt
            self._stats.rephases += 1
        self._t0 = t0
        self._slot = 0

    def _pace(self, now: float) -> None:
        """The pacer's tick: send every slot due at ``now`` (at most MAX_BURST of them)."""
        # Floor, not int(): a session that moved to a later point is told an earlier tick's
        # time at most once (its bucket's tick running), and no slot of it is due then.
        due = math.floor((now - self._t0 + _EARLY_S) / FRAME_S) + 1  # slots 0..due-1 are due
        behind = due - self._slot
        if behind <= 0:
            return  # started after this tick's time: the first slot is the next tick
        if behind > MAX_BURST:
            skipped = behind - MAX_BURST
            self._slot += skipped
            self._stats.skipped_sends += skipped
            behind = MAX_BURST
        for _ in range(behind):
            if now - (self._t0 + self._slot * FRAME_S) >= FRAME_S:
                self._stats.late_sends += 1
            if not self._held:
                self._send_slot()
            self._slot += 1
        if not self._held and not self._timed_out:
            # A packet arrived since the last slot: "now" is its time, late by < 20 ms, so the
            # timeout is never early. The receive path reads no clock (see RtpReceiver._accept).
            if self._stats.packets_in != self._rx_count:
                self._rx_count = self._stats.packets_in
                self._last_rx = now
            elif now - self._last_rx >= self._media_timeout_s:
                self._timed_out = True
                self._require_listener().on_media_timeout()

    def _send_slot(self) -> None:
        frame, marks = self._playout.next_frame()
        self._idle = frame is None
        if frame is None:
            payload = self._silence_payload
        elif self._codec is Codec.PCMA:
            payload = ulaw_to_alaw(frame)
        else:
            payload = frame
        second = self._payload_type
        if self._marker_next:
            second |= 0x80
            self._marker_next = False
        header = _HEADER.pack(
            0x80,
            second,
            (self._seq0 + self._stats.packets_out) & 0xFFFF,
            (self._ts_t0 + self._slot * FRAME_BYTES) & 0xFFFFFFFF,
            self.ssrc,
        )
        self._transport.sendto(header + payload, self._send_to)
        self._stats.packets_out += 1
        self._stats.bytes_out += len(payload)
        self._fire_marks(marks)  # their audio is on the wire now
