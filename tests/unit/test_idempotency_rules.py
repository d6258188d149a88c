"""The pure decisions behind Idempotency-Key (idempotency/rules.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trunkline.idempotency.rules import (
    KEY_TTL,
    Action,
    StoredKey,
    decide,
    request_hash,
    should_store,
    valid_key,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
H = "a" * 64


@pytest.mark.parametrize(
    ("stored", "incoming", "expected"),
    [
        (None, H, Action.act),
        (StoredKey(H, 201, NOW - timedelta(minutes=1)), H, Action.replay),
        (StoredKey(H, 409, NOW - timedelta(minutes=1)), H, Action.replay),  # 4xx replays too
        (StoredKey(H, None, NOW - timedelta(seconds=1)), H, Action.in_progress),
        (StoredKey("b" * 64, 201, NOW - timedelta(minutes=1)), H, Action.reused),
        (StoredKey("b" * 64, None, NOW), H, Action.reused),
        (StoredKey(H, 201, NOW - KEY_TTL + timedelta(seconds=1)), H, Action.replay),
        (StoredKey(H, 201, NOW - KEY_TTL), H, Action.act),  # expired: acts anew
        (StoredKey("b" * 64, 201, NOW - KEY_TTL - timedelta(hours=1)), H, Action.act),
        (StoredKey(H, None, NOW - KEY_TTL), H, Action.act),  # a claim abandoned long ago
    ],
)
def test_decide(stored: StoredKey | None, incoming: str, expected: Action) -> None:
    assert decide(stored, incoming, NOW) is expected


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (("POST", "/x", "", b'{"a": 1, "b": 2}'), ("POST", "/x", "", b'{"b":2,"a":1}'), True),
        (("POST", "/x", "", b'{"a": 1}'), ("POST", "/x", "", b'{"a": 2}'), False),
        (("POST", "/x", "", b"{}"), ("POST", "/y", "", b"{}"), False),
        (("POST", "/x", "q=1", b"{}"), ("POST", "/x", "q=2", b"{}"), False),
        (("POST", "/x", "", b"not json"), ("POST", "/x", "", b"not json"), True),
        (("POST", "/x", "", b"not json"), ("POST", "/x", "", b"not json "), False),
        (("POST", "/xa", "", b""), ("POST", "/x", "a", b""), False),  # no ambiguous joins
    ],
)
def test_request_hash(
    a: tuple[str, str, str, bytes], b: tuple[str, str, str, bytes], same: bool
) -> None:
    assert (request_hash(*a) == request_hash(*b)) is same


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("8e03978e-40d5-43e8-bc93-6894a57f9324", True),
        ("k", True),
        ("x" * 255, True),
        ("", False),
        ("x" * 256, False),
        ("has space", False),
        ("tab\t", False),
        ("caf\u00e9", False),
    ],
)
def test_valid_key(key: str, valid: bool) -> None:
    assert valid_key(key) is valid


@pytest.mark.parametrize(
    ("status", "store"),
    [(200, True), (201, True), (409, True), (422, True), (500, False), (503, False)],
)
def test_should_store(status: int, store: bool) -> None:
    assert should_store(status) is store
