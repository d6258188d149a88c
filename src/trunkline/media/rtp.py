"""RTP packets (RFC 3550 §5.1): parse what arrives, serialize what we send.

We only ever *send* the minimal form (no padding, CSRC list or header extension), but we
*accept* all of them, because carriers and SBCs do use extensions (RFC 8285) and padding (SRTP
gateways, RFC 3550 §5.1 P bit). Anything that is not a well-formed version-2 packet raises
:class:`RtpError` — the one exception the session has to catch for a hostile datagram.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["RTP_HEADER_SIZE", "RtpError", "RtpPacket"]

RTP_HEADER_SIZE = 12
_HEADER = struct.Struct("!BBHII")


class RtpError(ValueError):
    """A datagram that is not a well-formed RTP packet."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet; CSRCs and header extensions are validated on parse and then dropped."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    marker: bool
    payload: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.payload_type <= 0x7F:
            raise RtpError(f"payload type {self.payload_type} out of range 0..127")
        if not 0 <= self.sequence <= 0xFFFF:
            raise RtpError(f"sequence {self.sequence} out of range 0..65535")
        if not 0 <= self.timestamp <= 0xFFFFFFFF:
            raise RtpError(f"timestamp {self.timestamp} out of range 0..2^32-1")
        if not 0 <= self.ssrc <= 0xFFFFFFFF:
            raise RtpError(f"ssrc {self.ssrc} out of range 0..2^32-1")

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one datagram; raises :class:`RtpError` on anything malformed."""
        if len(data) < RTP_HEADER_SIZE:
            raise RtpError(f"{len(data)} bytes is shorter than the 12-byte RTP header")
        first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
        if first >> 6 != 2:
            raise RtpError(f"RTP version {first >> 6}, expected 2")
        end = len(data)
        if first & 0x20:
            # P bit: the last octet counts the padding octets, itself included (§5.1).
            padding = data[-1]
            if padding == 0:
                raise RtpError("padding bit set with a zero padding count")
            end -= padding
        offset = RTP_HEADER_SIZE + 4 * (first & 0x0F)  # CC: number of 32-bit CSRC identifiers
        if first & 0x10:
            # X bit: 16-bit profile field, 16-bit length in 32-bit words, then the words (§5.3.1).
            if offset + 4 > end:
                raise RtpError("header extension bit set but no room for its header")
            (words,) = struct.unpack_from("!H", data, offset + 2)
            offset += 4 + 4 * words
        if offset > end:
            raise RtpError(f"header needs {offset} bytes but the packet has {end} before padding")
        return cls(
            payload_type=second & 0x7F,
            sequence=sequence,
            timestamp=timestamp,
            ssrc=ssrc,
            marker=bool(second & 0x80),
            payload=bytes(data[offset:end]),
        )

    def to_bytes(self) -> bytes:
        """The packet in its minimal form: V=2, no padding, no extension, no CSRCs."""
        header = _HEADER.pack(
            0x80,
            (0x80 if self.marker else 0) | self.payload_type,
            self.sequence,
            self.timestamp,
            self.ssrc,
        )
        return header + self.payload
