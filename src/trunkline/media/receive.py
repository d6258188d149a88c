"""The receive path of an RtpSession: :class:`RtpReceiver`, which the session inherits.

Each datagram is parsed (RFC 3550 §5.1), filtered by payload type, latched on or rejected by its
source (symmetric RTP, RFC 4961 §4), put in order and re-cut into 20 ms μ-law frames for the
listener (RFC 3551 §4.5.14); telephone-events become digits (RFC 4733). The module docstring of
:mod:`trunkline.media.session` tells the whole story of a session.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from trunkline.media.dtmf import DtmfReceiver
from trunkline.media.g711 import alaw_to_ulaw
from trunkline.media.rtp import RTP_HEADER_SIZE, RtpError, RtpPacket
from trunkline.media.session_types import FRAME_BYTES, Codec, MediaListener, MediaStats

_HEADER = struct.Struct("!BBHII")


class RtpReceiver:
    """The receive half of :class:`~trunkline.media.session.RtpSession`, which inherits it.

    The state it shares with the session is declared here and set up by
    ``RtpSession.__init__``.
    """

    _stats: MediaStats
    _codec: Codec
    _payload_type: int
    _dtmf_payload_type: int | None
    _dtmf: DtmfReceiver
    _send_to: tuple[str, int]
    _latched_from: tuple[str, int] | None
    _rx_buffer: bytearray
    _rx_ssrc: int | None
    _rx_highest_seq: int
    _started: bool
    _closed: bool

    if TYPE_CHECKING:  # defined by RtpSession

        def _require_listener(self) -> MediaListener: ...

    def _on_datagram(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if not self._started or self._closed:
            return  # early media before the answer is known: nothing to give it to
        # The common packet first: a minimal header (V=2, no padding, extension or CSRCs)
        # carrying our audio type from the latched source. Everything else takes the full path.
        if (
            len(data) > RTP_HEADER_SIZE
            and data[0] == 0x80
            and data[1] & 0x7F == self._payload_type
            and addr == self._latched_from
        ):
            _, _, sequence, _, ssrc = _HEADER.unpack_from(data)
            self._accept(len(data) - RTP_HEADER_SIZE)
            self._on_audio_packet(sequence, ssrc, data[RTP_HEADER_SIZE:])
            return
        try:
            packet = RtpPacket.parse(data)
        except RtpError:
            self._stats.malformed += 1
            return
        payload_type = packet.payload_type
        is_audio = payload_type == self._payload_type
        if not is_audio and payload_type != self._dtmf_payload_type:
            # Also keeps multiplexed RTCP (RFC 5761 §4: PT 72-76 as seen here) out.
            self._stats.ignored += 1
            return
        source = (str(addr[0]), int(addr[1]))
        if self._latched_from is None:
            self._latched_from = source
            self._send_to = source
            self._stats.remote = source
            self._stats.latched = True
        elif source != self._latched_from:
            self._stats.ignored += 1
            return
        self._accept(len(packet.payload))
        if is_audio:
            self._on_audio_packet(packet.sequence, packet.ssrc, packet.payload)
            return
        digit = self._dtmf.feed(packet)
        if digit is not None:
            self._stats.dtmf.append(digit)
            self._require_listener().on_dtmf(digit)

    def _accept(self, payload_bytes: int) -> None:
        # No clock read here: the media timeout notices the count move at the next slot
        # (RtpSession._pace). asyncio.get_running_loop() costs a getpid() system call on
        # Python 3.11 (its fork check), 3.2 µs on this VM: 50 a call-second, 2-4 % of the media
        # process's CPU (-3 % measured at 50 and 100 calls; bench/README.md, fifth session).
        stats = self._stats
        stats.packets_in += 1
        stats.bytes_in += payload_bytes

    def _on_audio_packet(self, sequence: int, ssrc: int, payload: bytes) -> None:
        if ssrc != self._rx_ssrc:
            # A new source (first packet, or the far end restarted its stream): new numbering.
            self._rx_ssrc = ssrc
            self._rx_buffer.clear()
        else:
            # RFC 3550 Appendix A.1: compare sequence numbers modulo 2^16.
            delta = (sequence - self._rx_highest_seq) & 0xFFFF
            if delta == 0 or delta >= 0x8000:
                self._stats.out_of_order += 1
                return
        self._rx_highest_seq = sequence
        ulaw = payload if self._codec is Codec.PCMU else alaw_to_ulaw(payload)
        listener = self._require_listener()
        if not self._rx_buffer and len(ulaw) == FRAME_BYTES:
            listener.on_audio(ulaw)  # the common case: already one 20 ms frame
            return
        self._rx_buffer += ulaw
        while len(self._rx_buffer) >= FRAME_BYTES:
            chunk = bytes(self._rx_buffer[:FRAME_BYTES])
            del self._rx_buffer[:FRAME_BYTES]
            listener.on_audio(chunk)
