"""What an RTP session is made of: its codec, what it reports, what it counts.

:class:`Codec` (the two G.711 laws), :class:`MediaListener` (the session's callbacks) and
:class:`MediaStats` (its counters), with the 20 ms frame constants. The session module,
:mod:`trunkline.media.session`, exports them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from trunkline.media.g711 import ALAW_SILENCE, ULAW_SILENCE

FRAME_S = 0.020  # one packet every 20 ms (RFC 3551 §4.5: G.711's default packetisation)
FRAME_BYTES = 160  # 20 ms of 8 kHz G.711: one byte per sample
BYTES_PER_MS = 8


class Codec(StrEnum):
    """The two G.711 laws, by their RTP encoding names (RFC 3551 §6 Table 4)."""

    PCMU = "PCMU"
    PCMA = "PCMA"

    @property
    def payload_type(self) -> int:
        """Static payload type: 0 for PCMU, 8 for PCMA (RFC 3551 §6)."""
        return 0 if self is Codec.PCMU else 8

    @property
    def silence(self) -> int:
        """The code word for (near) zero amplitude."""
        return ULAW_SILENCE if self is Codec.PCMU else ALAW_SILENCE


class MediaListener(Protocol):
    """What the session reports; called on the event loop, must not block."""

    def on_audio(self, ulaw: bytes) -> None:
        """Exactly 160 bytes (20 ms) of the far end's audio as μ-law, in order."""

    def on_dtmf(self, digit: str) -> None:
        """A key pressed by the far end (RFC 4733), once per press."""

    def on_mark(self, name: str) -> None:
        """A mark whose preceding audio has been sent (or was cleared or dropped)."""

    def on_media_timeout(self) -> None:
        """No RTP from the far end for ``media_timeout_s``; reported once."""

    def on_audio_dropped(self, dropped_ms: int) -> None:
        """The play queue exceeded its bound; this much of the oldest audio was dropped."""


@dataclass
class MediaStats:
    """Counters of one session (a snapshot: ``RtpSession.stats`` returns a copy)."""

    codec: str
    packets_in: int = 0  # accepted media and telephone-event packets
    packets_out: int = 0
    bytes_in: int = 0  # RTP payload bytes
    bytes_out: int = 0
    dtmf: list[str] = field(default_factory=list)
    late_sends: int = 0  # packets sent one period or more after their slot
    skipped_sends: int = 0  # slots skipped because the loop was more than MAX_BURST late
    rephases: int = 0  # talkspurts that moved the send grid (each one interval other than 20 ms)
    grid_advances: int = 0  # mid-talkspurt moves earlier (agent audio kept arriving early)
    malformed: int = 0  # datagrams that are not RTP
    ignored: int = 0  # RTP with a payload type we did not negotiate, or from a foreign source
    out_of_order: int = 0  # duplicate or late packets dropped to keep the stream in order
    dropped_ms: int = 0  # queued audio dropped at the bound
    send_errors: int = 0  # ICMP errors reported for our sends (e.g. port unreachable)
    remote: tuple[str, int] | None = None  # where packets go now
    latched: bool = False  # remote was learnt from the far end's packets
