"""RFC 4733 telephone-events to digits, and SIP INFO bodies."""

from __future__ import annotations

import struct

import pytest

from trunkline.media.dtmf import DtmfReceiver, parse_dtmf_relay
from trunkline.media.rtp import RtpPacket


def _event(event: int, *, ts: int, duration: int, end: bool = False, seq: int = 0) -> RtpPacket:
    payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)
    return RtpPacket(101, seq, ts, 0xABCD, marker=duration == 160 and not end, payload=payload)


def _press(event: int, ts: int, seq: int = 0) -> list[RtpPacket]:
    """One key press as a sender emits it: start, two continuations, the end packet three times."""
    return [
        _event(event, ts=ts, duration=160, seq=seq),
        _event(event, ts=ts, duration=320, seq=seq + 1),
        _event(event, ts=ts, duration=480, seq=seq + 2),
        _event(event, ts=ts, duration=640, end=True, seq=seq + 3),
        _event(event, ts=ts, duration=640, end=True, seq=seq + 4),
        _event(event, ts=ts, duration=640, end=True, seq=seq + 5),
    ]


def _feed(receiver: DtmfReceiver, packets: list[RtpPacket]) -> list[str]:
    return [d for d in map(receiver.feed, packets) if d is not None]


class TestDtmfReceiver:
    def test_one_press_is_one_digit(self) -> None:
        assert _feed(DtmfReceiver(), _press(5, ts=1000)) == ["5"]

    def test_lost_start_still_yields_the_digit(self) -> None:
        assert _feed(DtmfReceiver(), _press(9, ts=1000)[2:]) == ["9"]

    def test_only_the_end_packets_arrive(self) -> None:
        assert _feed(DtmfReceiver(), _press(0, ts=1000)[3:]) == ["0"]

    def test_two_identical_digits_in_a_row(self) -> None:
        packets = _press(1, ts=1000) + _press(1, ts=3000, seq=6)
        assert _feed(DtmfReceiver(), packets) == ["1", "1"]

    def test_late_retransmission_of_an_earlier_event_is_silent(self) -> None:
        first, second = _press(2, ts=1000), _press(3, ts=3000, seq=6)
        packets = [*second[:2], first[-1], *second[2:]]
        assert _feed(DtmfReceiver(), first + packets) == ["2", "3"]

    @pytest.mark.parametrize(
        ("event", "digit"),
        [(0, "0"), (9, "9"), (10, "*"), (11, "#"), (12, "A"), (15, "D")],
    )
    def test_event_codes(self, event: int, digit: str) -> None:
        assert _feed(DtmfReceiver(), _press(event, ts=1)) == [digit]

    @pytest.mark.parametrize("payload", [b"", b"\x05\x0a", struct.pack("!BBH", 16, 10, 160)])
    def test_short_payload_and_flash_hook_are_ignored(self, payload: bytes) -> None:
        packet = RtpPacket(101, 1, 1, 1, marker=False, payload=payload)
        assert DtmfReceiver().feed(packet) is None


class TestParseDtmfRelay:
    @pytest.mark.parametrize(
        ("body", "digit"),
        [
            ("Signal=5\r\nDuration=160\r\n", "5"),
            ("Signal= 5\r\nDuration= 160", "5"),
            ("signal=#\nduration=250", "#"),
            ("Duration=100\r\nSignal=*\r\n", "*"),
            ("Signal=10\r\nDuration=160", "*"),
            ("Signal=11\r\nDuration=160", "#"),
            ("Signal=a\r\n", "A"),
            ("7", "7"),  # application/dtmf: the bare key
            ("  #\r\n", "#"),
            ("", None),
            ("Signal=\r\nDuration=160", None),
            ("Signal=55\r\n", None),
            ("Signal=X", None),
            ("hello", None),
        ],
    )
    def test_bodies(self, body: str, digit: str | None) -> None:
        assert parse_dtmf_relay(body) == digit
