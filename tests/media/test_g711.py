"""G.711 tables against the code points of ITU-T G.711 and against each other."""

from __future__ import annotations

import struct

import pytest

from trunkline.media import g711


def _pcm(*samples: int) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


class TestDecode:
    # (code word, linear value on the 16-bit scale) — G.711 Tables 1a/2a decision values.
    @pytest.mark.parametrize(
        ("code", "value"),
        [
            (0xFF, 0),  # +0
            (0x7F, 0),  # -0: μ-law has two zeros
            (0xFE, 8),  # smallest positive step
            (0x7E, -8),
            (0xF0, 120),  # top of segment 0
            (0xEF, 132),  # bottom of segment 1
            (0x80, 32124),  # largest positive
            (0x00, -32124),  # largest negative
        ],
    )
    def test_ulaw(self, code: int, value: int) -> None:
        assert g711.ulaw_decode_sample(code) == value
        assert g711.ulaw_to_pcm16(bytes([code])) == _pcm(value)

    @pytest.mark.parametrize(
        ("code", "value"),
        [
            (0xD5, 8),  # smallest positive: A-law has no zero
            (0x55, -8),
            (0xD4, 24),
            (0xC5, 264),  # segment 1 starts where segment 0 ends (same step size)
            (0xAA, 32256),  # largest positive
            (0x2A, -32256),  # largest negative
        ],
    )
    def test_alaw(self, code: int, value: int) -> None:
        assert g711.alaw_decode_sample(code) == value
        assert g711.alaw_to_pcm16(bytes([code])) == _pcm(value)


class TestEncode:
    @pytest.mark.parametrize(
        ("value", "ulaw", "alaw"),
        [
            (0, 0xFF, 0xD5),
            (-1, 0x7E, 0x55),  # shifting rounds towards -inf: -1 lands in the first negative step
            (32767, 0x80, 0xAA),  # clipped to the largest code
            (-32768, 0x00, 0x2A),
            (1000, 0xCE, 0xFA),
            (-1000, 0x4E, 0x7A),
        ],
    )
    def test_code_points(self, value: int, ulaw: int, alaw: int) -> None:
        assert g711.pcm16_to_ulaw(_pcm(value)) == bytes([ulaw])
        assert g711.pcm16_to_alaw(_pcm(value)) == bytes([alaw])

    def test_silence_constants_are_the_codes_of_zero(self) -> None:
        assert g711.pcm16_to_ulaw(_pcm(0)) == bytes([g711.ULAW_SILENCE])
        assert g711.pcm16_to_alaw(_pcm(0)) == bytes([g711.ALAW_SILENCE])

    def test_odd_length_pcm_is_refused(self) -> None:
        with pytest.raises(ValueError, match="even"):
            g711.pcm16_to_ulaw(b"\x00\x00\x00")

    def test_encoding_is_monotonic(self) -> None:
        # Larger inputs never decode to smaller outputs: the segment arithmetic is consistent.
        pcm = _pcm(*range(-32768, 32768, 7))
        decoded = struct.unpack(f"<{len(pcm) // 2}h", g711.ulaw_to_pcm16(g711.pcm16_to_ulaw(pcm)))
        assert list(decoded) == sorted(decoded)
        decoded = struct.unpack(f"<{len(pcm) // 2}h", g711.alaw_to_pcm16(g711.pcm16_to_alaw(pcm)))
        assert list(decoded) == sorted(decoded)


class TestRoundTrip:
    def test_every_ulaw_code_survives_decode_encode(self) -> None:
        codes = bytes(range(256))
        # -0 (0x7F) comes back as +0 (0xFF); every other code is its own round trip.
        assert g711.pcm16_to_ulaw(g711.ulaw_to_pcm16(codes)) == codes.replace(b"\x7f", b"\xff")

    def test_every_alaw_code_survives_decode_encode(self) -> None:
        codes = bytes(range(256))
        assert g711.pcm16_to_alaw(g711.alaw_to_pcm16(codes)) == codes

    def test_encode_error_is_within_half_a_step(self) -> None:
        # A segment's step is 1/16 of its lower bound and decoding reconstructs at the middle of
        # a step, so the error stays within |x|/32 plus the finest half-step (8) of either law.
        samples = list(range(-32000, 32000, 13))
        pcm = _pcm(*samples)
        for law_to_pcm, pcm_to_law in (
            (g711.ulaw_to_pcm16, g711.pcm16_to_ulaw),
            (g711.alaw_to_pcm16, g711.pcm16_to_alaw),
        ):
            back = struct.unpack(f"<{len(samples)}h", law_to_pcm(pcm_to_law(pcm)))
            too_far = [
                (a, b) for a, b in zip(samples, back, strict=True) if abs(a - b) > abs(a) / 32 + 8
            ]
            assert too_far == []


class TestTranslate:
    def test_ulaw_to_alaw_matches_decode_then_encode(self) -> None:
        codes = bytes(range(256))
        assert g711.ulaw_to_alaw(codes) == g711.pcm16_to_alaw(g711.ulaw_to_pcm16(codes))

    def test_alaw_to_ulaw_matches_decode_then_encode(self) -> None:
        codes = bytes(range(256))
        assert g711.alaw_to_ulaw(codes) == g711.pcm16_to_ulaw(g711.alaw_to_pcm16(codes))

    def test_silence_maps_to_silence(self) -> None:
        assert g711.ulaw_to_alaw(bytes([g711.ULAW_SILENCE])) == bytes([g711.ALAW_SILENCE])
        assert g711.alaw_to_ulaw(bytes([g711.ALAW_SILENCE])) == bytes([0xFE])  # +8 is μ-law +8

    def test_length_is_preserved(self) -> None:
        assert len(g711.ulaw_to_alaw(bytes(160))) == 160
        assert len(g711.alaw_to_ulaw(bytes(240))) == 240
