"""What to do with a request that carries an Idempotency-Key: pure functions over plain data."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# How long a key and its answer are kept: a client retrying later than this acts anew.
KEY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class Action(StrEnum):
    act = "act"  # first use (or the old answer expired): serve the request and store the answer
    replay = "replay"  # same key, same request: the stored answer, without acting again
    reused = "reused"  # same key, another request: 422 idempotency_key_reused
    in_progress = "in_progress"  # the first request is still being served: 409


@dataclass(frozen=True)
class StoredKey:
    request_hash: str
    status_code: int | None  # None while the first request is in progress
    created_at: datetime


def decide(stored: StoredKey | None, request_hash: str, now: datetime) -> Action:
    """The action for a request whose key was found as ``stored`` (None: never seen)."""
    if stored is None or now - stored.created_at >= KEY_TTL:
        return Action.act
    if stored.request_hash != request_hash:
        return Action.reused
    if stored.status_code is None:
        return Action.in_progress
    return Action.replay


def request_hash(method: str, path: str, query: str, body: bytes) -> str:
    """Identifies "the same request": method, path, query and body. A JSON body is compared by
    value (key order and spacing do not matter); anything else byte for byte."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))  # length-prefixed: no ambiguous joins
        digest.update(part)
    return digest.hexdigest()


def valid_key(key: str) -> bool:
    """1-255 visible ASCII characters (RFC 9110 field value without spaces or controls)."""
    return 0 < len(key) <= MAX_KEY_LENGTH and all(33 <= ord(c) <= 126 for c in key)


def should_store(status_code: int) -> bool:
    """Answers worth replaying: everything but server errors, which a retry may get past."""
    return status_code < 500
