"""DTMF from RFC 4733 telephone-events in RTP, and from SIP INFO bodies.

RFC 4733 §2.3 payload (4 octets)::

    event (8) | E (1) | R (1) | volume (6) | duration (16)

One key press is one *event*: every packet of it carries the same RTP timestamp (the event's
start, §2.3.1), the duration grows, and the final packet has E set and is sent three times
(§2.5.1.4). A receiver therefore reports a digit the first time it sees a new timestamp — on
the start packet normally, or on a later one when the start was lost — and never again for
that timestamp. Two presses of the same key are two timestamps, hence two digits.
"""

from __future__ import annotations

from collections import deque

from trunkline.media.rtp import RtpPacket

__all__ = ["DTMF_EVENTS", "DtmfReceiver", "parse_dtmf_relay"]

# RFC 4733 §3.2 Table 7: events 0-15 are the DTMF keys.
DTMF_EVENTS = "0123456789*#ABCD"
_VALID_DIGITS = frozenset(DTMF_EVENTS)
_REMEMBERED_EVENTS = 16  # late duplicates of an event older than this many events are unlikely


class DtmfReceiver:
    """Turns a stream of telephone-event packets into digits, each exactly once."""

    def __init__(self) -> None:
        # (ssrc, timestamp) of recent events: retransmitted and reordered packets of an event
        # already reported must stay silent even after a newer event began.
        self._seen: deque[tuple[int, int]] = deque(maxlen=_REMEMBERED_EVENTS)

    def feed(self, packet: RtpPacket) -> str | None:
        """The digit this packet starts, or None (continuation, retransmission, non-DTMF)."""
        payload = packet.payload
        if len(payload) < 4:
            return None  # §2.3: the payload is at least 4 octets; ignore a truncated one
        event = payload[0]
        if event >= len(DTMF_EVENTS):
            return None  # flash-hook and tones (§3.2) are not digits
        key = (packet.ssrc, packet.timestamp)
        if key in self._seen:
            return None
        self._seen.append(key)
        return DTMF_EVENTS[event]


def parse_dtmf_relay(body: str) -> str | None:
    """The digit in a SIP INFO body: ``application/dtmf-relay`` or ``application/dtmf``.

    ``application/dtmf-relay`` (the de-facto Cisco format) carries ``Signal=5`` and
    ``Duration=160`` lines; ``application/dtmf`` carries the bare key. Some devices send the
    RFC 4733 event number instead of the key for ``*`` and ``#`` (``Signal=10``/``11``).
    """
    value: str | None = None
    for line in body.splitlines():
        name, sep, rest = line.partition("=")
        if sep and name.strip().lower() == "signal":
            value = rest.strip()
            break
    if value is None:
        value = body.strip()
    if value.isdigit() and 10 <= int(value) < len(DTMF_EVENTS):
        return DTMF_EVENTS[int(value)]
    value = value.upper()
    return value if len(value) == 1 and value in _VALID_DIGITS else None
