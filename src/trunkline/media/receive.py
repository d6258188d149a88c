"""The receive path of an RtpSession: :class:`RtpReceiver`, which the session inherits.

Each datagram is parsed (RFC 3550 §5.1), filtered by payload type, latched on or rejected by its
source (symmetric RTP, RFC 4961 §4), put in order and re-cut into 20 ms μ-law frames for the
listener (RFC 3551 §4.5.14); telephone-events become digits (RFC 4733). The module docstring of
:mod:`trunkline.media.session` tells the whole story of a session.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from trunkline.media.dtmf import DtmfReceiver
from trunkline.media.g711 import alaw_to_ulaw
from trunkline.media.rtp import RtpError, RtpPacket
from trunkline.media.session_types import FRAME_BYTES, Codec, MediaListener, MediaStats


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
    _last_rx: float
    _started: bool
    _closed: bool

    if TYPE_CHECKING:  # defined by RtpSession

        def _require_listener(self) -> MediaListener: ...

    def _on_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self._started or self._closed:
            return  # early media before the answer is known: nothing to give it to
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
        if self._latched_from is None:
            self._latched_from = addr
            self._send_to = addr
            self._stats.remote = addr
            self._stats.latched = True
        elif addr != self._latched_from:
            self._stats.ignored += 1
            return
        self._last_rx = asyncio.get_running_loop().time()
        self._stats.packets_in += 1
        self._stats.bytes_in += len(packet.payload)
        if is_audio:
            self._on_audio_packet(packet)
            return
        digit = self._dtmf.feed(packet)
        if digit is not None:
            self._stats.dtmf.append(digit)
            self._require_listener().on_dtmf(digit)

    def _on_audio_packet(self, packet: RtpPacket) -> None:
        if packet.ssrc != self._rx_ssrc:
            # A new source (first packet, or the far end restarted its stream): new numbering.
            self._rx_ssrc = packet.ssrc
            self._rx_buffer.clear()
        else:
            # RFC 3550 Appendix A.1: compare sequence numbers modulo 2^16.
            delta = (packet.sequence - self._rx_highest_seq) & 0xFFFF
            if delta == 0 or delta >= 0x8000:
                self._stats.out_of_order += 1
                return
        self._rx_highest_seq = packet.sequence
        ulaw = packet.payload if self._codec is Codec.PCMU else alaw_to_ulaw(packet.payload)
        listener = self._require_listener()
        if not self._rx_buffer and len(ulaw) == FRAME_BYTES:
            listener.on_audio(ulaw)  # the common case: already one 20 ms frame
            return
        self._rx_buffer += ulaw
        while len(self._rx_buffer) >= FRAME_BYTES:
            chunk = bytes(self._rx_buffer[:FRAME_BYTES])
            del self._rx_buffer[:FRAME_BYTES]
            listener.on_audio(chunk)
