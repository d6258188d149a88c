"""RTP packet parse/serialize (RFC 3550 §5.1), including hostile input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trunkline.media.rtp import RtpError, RtpPacket


def _header(
    *,
    version: int = 2,
    padding: bool = False,
    extension: bool = False,
    csrc_count: int = 0,
    marker: bool = False,
    payload_type: int = 0,
    sequence: int = 1,
    timestamp: int = 160,
    ssrc: int = 0x01020304,
) -> bytes:
    first = (version << 6) | (0x20 if padding else 0) | (0x10 if extension else 0) | csrc_count
    second = (0x80 if marker else 0) | payload_type
    return struct.pack("!BBHII", first, second, sequence, timestamp, ssrc)


class TestParse:
    def test_minimal_packet(self) -> None:
        packet = RtpPacket.parse(_header(marker=True, payload_type=8) + b"\xd5" * 160)
        assert packet == RtpPacket(
            payload_type=8,
            sequence=1,
            timestamp=160,
            ssrc=0x01020304,
            marker=True,
            payload=b"\xd5" * 160,
        )

    def test_csrc_list_is_skipped(self) -> None:
        data = _header(csrc_count=2) + b"\x00" * 8 + b"audio"
        assert RtpPacket.parse(data).payload == b"audio"

    def test_header_extension_is_skipped(self) -> None:
        # RFC 8285 one-byte header extension: profile 0xBEDE, length 1 word.
        data = _header(extension=True) + b"\xbe\xde\x00\x01" + b"\x10\xaa\x00\x00" + b"audio"
        assert RtpPacket.parse(data).payload == b"audio"

    def test_padding_is_removed(self) -> None:
        data = _header(padding=True) + b"audio" + b"\x00\x00\x03"
        assert RtpPacket.parse(data).payload == b"audio"

    def test_empty_payload_is_valid(self) -> None:
        assert RtpPacket.parse(_header()).payload == b""

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (b"", "shorter"),
            (_header()[:11], "shorter"),
            (_header(version=1), "version 1"),
            (_header(version=0) + b"x" * 20, "version 0"),
            (_header(padding=True) + b"ab\x00", "zero padding"),
            (_header(padding=True) + b"ab\x05", "before padding"),
            (_header(csrc_count=3) + b"\x00" * 8, "header needs"),
            (_header(extension=True) + b"\xbe\xde", "no room"),
            (_header(extension=True) + b"\xbe\xde\x00\x02" + b"\x00" * 4, "header needs"),
            (_header(csrc_count=1, padding=True) + b"\x00\x00\x00\x02", "before padding"),
        ],
    )
    def test_malformed_raises_rtp_error(self, data: bytes, message: str) -> None:
        with pytest.raises(RtpError, match=message):
            RtpPacket.parse(data)

    @given(st.binary(max_size=300))
    def test_fuzz_only_rtp_error(self, data: bytes) -> None:
        try:
            packet = RtpPacket.parse(data)
        except RtpError:
            return
        assert len(packet.payload) <= len(data) - 12

    @given(
        st.integers(0, 127),
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.booleans(),
        st.binary(max_size=64),
        st.integers(0, 15),
        st.binary(max_size=8),
    )
    def test_fuzz_structured_headers(
        self,
        pt: int,
        seq: int,
        ts: int,
        ssrc: int,
        marker: bool,
        payload: bytes,
        cc: int,
        junk: bytes,
    ) -> None:
        # Valid-looking headers with random CSRC counts and trailing junk: RtpError or a packet.
        data = _header(
            csrc_count=cc, marker=marker, payload_type=pt, sequence=seq, timestamp=ts, ssrc=ssrc
        )
        try:
            packet = RtpPacket.parse(data + junk + payload)
        except RtpError:
            assert len(junk + payload) < 4 * cc
            return
        assert (packet.payload_type, packet.sequence, packet.timestamp) == (pt, seq, ts)


class TestSerialize:
    @given(
        st.integers(0, 127),
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.booleans(),
        st.binary(max_size=400),
    )
    def test_round_trip(
        self, pt: int, seq: int, ts: int, ssrc: int, marker: bool, payload: bytes
    ) -> None:
        packet = RtpPacket(pt, seq, ts, ssrc, marker, payload)
        assert RtpPacket.parse(packet.to_bytes()) == packet

    def test_wire_layout(self) -> None:
        packet = RtpPacket(
            payload_type=0,
            sequence=0x1234,
            timestamp=0x01020304,
            ssrc=7,
            marker=True,
            payload=b"\xff",
        )
        assert packet.to_bytes() == bytes.fromhex("8080123401020304000000 07ff".replace(" ", ""))

    @pytest.mark.parametrize(
        "fields",
        [
            {"payload_type": 128},
            {"payload_type": -1},
            {"sequence": 0x10000},
            {"timestamp": 1 << 32},
            {"ssrc": -1},
        ],
    )
    def test_out_of_range_fields_raise(self, fields: dict[str, int]) -> None:
        base: dict[str, int] = {"payload_type": 0, "sequence": 0, "timestamp": 0, "ssrc": 0}
        with pytest.raises(RtpError, match="out of range"):
            RtpPacket(**(base | fields), marker=False, payload=b"")
