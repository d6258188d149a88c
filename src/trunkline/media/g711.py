"""G.711 μ-law and A-law as lookup tables (ITU-T G.711; RFC 3551 §4.5.14 PCMU/PCMA).

``audioop`` would do this in C but it is deprecated in 3.11 and gone in 3.13, so every
conversion here is a table: 256 entries to decode, 65,536 (one per 16-bit sample) to encode,
and a 256-byte ``bytes.translate`` table between the two laws. Linear audio is little-endian
signed 16-bit ("PCM16"), the layout speech engines expect.

The encoders follow G.711's segment rules directly: μ-law adds a bias of 33 (on the 14-bit
magnitude) so that every segment is a power of two, A-law's first two segments share one step
size. Each code word is the bitwise complement (μ-law) or even-bit inversion (A-law, XOR 0x55)
of sign/segment/mantissa, which is why silence is 0xFF and 0xD5 rather than zero.
"""

from __future__ import annotations

import struct
import sys

__all__ = [
    "ALAW_SILENCE",
    "ULAW_SILENCE",
    "alaw_decode_sample",
    "alaw_encode_sample",
    "alaw_to_pcm16",
    "alaw_to_ulaw",
    "pcm16_to_alaw",
    "pcm16_to_ulaw",
    "ulaw_decode_sample",
    "ulaw_encode_sample",
    "ulaw_to_alaw",
    "ulaw_to_pcm16",
]

ULAW_SILENCE = 0xFF  # +0 in μ-law (the complement of sign=0, segment=0, mantissa=0)
ALAW_SILENCE = 0xD5  # +8 in A-law: the smallest positive step; A-law has no exact zero

_ULAW_BIAS = 33  # on the 14-bit magnitude (132 on the 16-bit scale)
_ULAW_CLIP = 8158  # largest 14-bit magnitude that still fits segment 7 after the bias


def ulaw_decode_sample(code: int) -> int:
    """One μ-law code word to a 16-bit linear sample (range ±32124)."""
    code = ~code & 0xFF
    segment = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 1) + _ULAW_BIAS) << segment) - _ULAW_BIAS
    value = magnitude << 2
    return -value if code & 0x80 else value


def alaw_decode_sample(code: int) -> int:
    """One A-law code word to a 16-bit linear sample (range ±32256)."""
    code ^= 0x55
    segment = (code >> 4) & 0x07
    mantissa = code & 0x0F
    # Segments 0 and 1 share a step size; each later segment doubles it (G.711 Table 1).
    magnitude = (mantissa << 1) + 1 if segment == 0 else ((mantissa << 1) + 33) << (segment - 1)
    value = magnitude << 3
    # In A-law a set sign bit means positive.
    return value if code & 0x80 else -value


def ulaw_encode_sample(sample: int) -> int:
    """One 16-bit linear sample to its μ-law code word."""
    magnitude = sample >> 2  # 14-bit scale
    sign = 0x00
    if magnitude < 0:
        magnitude = -magnitude
        sign = 0x80
    magnitude = min(magnitude, _ULAW_CLIP) + _ULAW_BIAS
    # The segment is the position of the highest set bit above the 6 lowest ones.
    segment = max(magnitude.bit_length() - 6, 0)
    mantissa = (magnitude >> (segment + 1)) & 0x0F
    return ~(sign | (segment << 4) | mantissa) & 0xFF


def alaw_encode_sample(sample: int) -> int:
    """One 16-bit linear sample to its A-law code word."""
    magnitude = sample >> 3  # 13-bit scale
    sign = 0x80
    if magnitude < 0:
        # -1 - x keeps the negative range symmetric with the positive one on 13 bits.
        magnitude = -magnitude - 1
        sign = 0x00
    if magnitude >= 0x1000:
        return (sign | 0x7F) ^ 0x55  # clip to the largest code of the sign
    segment = max(magnitude.bit_length() - 5, 0)
    mantissa = (magnitude >> (segment if segment > 1 else 1)) & 0x0F
    return (sign | (segment << 4) | mantissa) ^ 0x55


def _pcm_table(decode: object) -> tuple[bytes, ...]:
    assert callable(decode)
    return tuple(struct.pack("<h", decode(code)) for code in range(256))


_ULAW_TO_PCM: tuple[bytes, ...] = _pcm_table(ulaw_decode_sample)
_ALAW_TO_PCM: tuple[bytes, ...] = _pcm_table(alaw_decode_sample)

# Indexed by the sample read as an *unsigned* 16-bit number, so a memoryview cast to "H"
# can look samples up without a sign fix-up per sample.
_PCM_TO_ULAW = bytes(ulaw_encode_sample(i - 0x10000 if i & 0x8000 else i) for i in range(0x10000))
_PCM_TO_ALAW = bytes(alaw_encode_sample(i - 0x10000 if i & 0x8000 else i) for i in range(0x10000))

# Law-to-law as decode then re-encode: what a transcoding gateway does, and one translate call.
_ULAW_TO_ALAW = bytes(alaw_encode_sample(ulaw_decode_sample(c)) for c in range(256))
_ALAW_TO_ULAW = bytes(ulaw_encode_sample(alaw_decode_sample(c)) for c in range(256))

_LITTLE_ENDIAN = sys.byteorder == "little"


def ulaw_to_alaw(data: bytes) -> bytes:
    """μ-law bytes to A-law bytes, one output byte per input byte."""
    return data.translate(_ULAW_TO_ALAW)


def alaw_to_ulaw(data: bytes) -> bytes:
    """A-law bytes to μ-law bytes, one output byte per input byte."""
    return data.translate(_ALAW_TO_ULAW)


def ulaw_to_pcm16(data: bytes) -> bytes:
    """μ-law bytes to little-endian signed 16-bit PCM (two output bytes per input byte)."""
    return b"".join(map(_ULAW_TO_PCM.__getitem__, data))


def alaw_to_pcm16(data: bytes) -> bytes:
    """A-law bytes to little-endian signed 16-bit PCM (two output bytes per input byte)."""
    return b"".join(map(_ALAW_TO_PCM.__getitem__, data))


def _samples(pcm: bytes) -> memoryview:
    if len(pcm) % 2:
        raise ValueError(f"PCM16 needs an even number of bytes, got {len(pcm)}")
    if not _LITTLE_ENDIAN:  # pragma: no cover - no big-endian CI
        swapped = bytearray(len(pcm))
        swapped[0::2], swapped[1::2] = pcm[1::2], pcm[0::2]
        pcm = bytes(swapped)
    return memoryview(pcm).cast("H")


def pcm16_to_ulaw(pcm: bytes) -> bytes:
    """Little-endian signed 16-bit PCM to μ-law (one output byte per sample)."""
    return bytes(map(_PCM_TO_ULAW.__getitem__, _samples(pcm)))


def pcm16_to_alaw(pcm: bytes) -> bytes:
    """Little-endian signed 16-bit PCM to A-law (one output byte per sample)."""
    return bytes(map(_PCM_TO_ALAW.__getitem__, _samples(pcm)))
