"""How JSON columns are read back (the engines' ``json_deserializer``, both databases).

Every number row carries four JSON columns (capabilities, channel settings, compliance,
address), a trunk row one, an agent its settings: a list page of 50 numbers decodes ~250 of them.
``loads`` gives exactly what ``json.loads`` gives, ~2.5 x faster (the 200 values of a trunks
page: 0.45-0.64 -> 0.22-0.26 ms of CPU, min-median of 15 alternating blocks), by way of orjson,
except where orjson reads differently, which goes to ``json.loads``:

- integers beyond 64 bits, which orjson turns into floats: any run of 19 or more digits (an
  integer of fewer digits always fits; a string or a float with such a run just takes the slow
  path). Found by a byte translation and a substring search, which cost about what orjson does;
  a regular expression (``\\d{19}``) cost twice that;
- what orjson refuses and ``json.loads`` accepts (NaN and Infinity, a number that overflows to
  ``inf``, lone surrogates).

Writes stay ``json.dumps``. tests/db/test_json_columns.py holds ``loads`` to ``json.loads``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Every digit as "0": a run of 19 zeros in the translated bytes is a run of 19 digits.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19


def loads(text: str) -> Any:
    """``json.loads(text)``, through orjson where it reads the same."""
    try:
        raw = text.encode()
    except UnicodeEncodeError:  # a lone surrogate (not an escape): json.loads reads it
        return json.loads(text)
    if _LONG_RUN in raw.translate(_DIGITS_AS_ZERO):
        return json.loads(text)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(text)
