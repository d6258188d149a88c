"""``db.json_columns.loads`` (the engines' JSON column reader) reads every text exactly as
``json.loads`` does: same values, same types (an int stays an int however long), same key
order; it only goes faster where orjson agrees."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, bindparam, select

from trunkline.db import json_columns

EDGE_CASES = [
    '{"voice": {"enabled": true, "channel_limit": null, "whitelisted_destinations": ["US"]}}',
    "123456789012345678901234567890",  # beyond 64 bits: orjson would give a float
    "-9223372036854775809",  # just below int64
    "18446744073709551615",  # uint64's largest
    "9223372036854775807",
    "[1.0, -0.0, 1e-7, 1E2, 0.30000000000000004, 1.7976931348623157e308]",
    "1e400",  # overflows to inf
    "NaN",
    "[Infinity, -Infinity]",
    '"\\ud800"',  # a lone surrogate, as json.dumps escapes it
    '"\ud800"',  # a lone surrogate itself (json.dumps with ensure_ascii=False writes it)
    "[12345678901234567890.5, 1234567890123456789e3]",  # long runs in floats
    '"\\u00e9t\\u00e9 \\ud83d\\ude00"',
    '"été 😀"',
    '{"a": 1, "a": 2}',
    '  {"b": [], "a": {}}  ',
    '{"id": "12345678901234567890123"}',  # a long digit run in a string: the slow path
    "[]",
    "null",
    "true",
]


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types, keys in the same order (repr tells 1 from 1.0, and an
    object's key order)."""
    return repr(a) == repr(b)


@pytest.mark.parametrize("raw", EDGE_CASES)
def test_reads_as_json_loads(raw: str) -> None:
    assert same(json_columns.loads(raw), json.loads(raw))


def test_refuses_what_json_loads_refuses() -> None:
    for raw in ("", "{", "[1,]", "{'a': 1}"):
        with pytest.raises(ValueError):
            json.loads(raw)
        with pytest.raises(ValueError):
            json_columns.loads(raw)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.booleans())
def test_any_value_json_dumps_writes_reads_back_as_json_loads_reads_it(
    value: Any, ensure_ascii: bool
) -> None:
    raw = json.dumps(value, ensure_ascii=ensure_ascii)
    assert same(json_columns.loads(raw), json.loads(raw))


async def test_the_engine_reads_json_columns_with_it(engine: Any) -> None:
    """Both databases' engines use it (SQLAlchemy's JSON type on SQLite, asyncpg's codec on
    PostgreSQL): a value beyond 64 bits comes back an int."""
    assert engine.dialect._json_deserializer is json_columns.loads
    big = 2**70
    async with engine.connect() as conn:
        value = (await conn.execute(select(bindparam("v", type_=JSON)), {"v": [big]})).scalar()
    assert value == [big] and isinstance(value[0], int)
