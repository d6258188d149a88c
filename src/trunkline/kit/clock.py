"""Time in one place, so tests can reason about it."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_z(value: datetime | None) -> str | None:
    """ISO 8601 UTC with ``Z`` and whole seconds (docs/api-decisions.md §2.5).

    Every timestamp of every response goes through here (a list page: 200-350 of them), so the
    common case is kept short: a value already in ``datetime.UTC`` (what the models' UTCDateTime
    columns return) is not converted again, and ``isoformat`` writes it, ~3 x less CPU than
    ``strftime`` (2.3 vs 8.0 us a call, measured on the shared 2-core machine; the same
    characters for every year from 1000 on, which tests/kit/test_clock.py checks against
    ``strftime``)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if value.year < 1000:  # isoformat pads the year to 4 digits; strftime's %Y does not
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat(timespec="seconds")[:19] + "Z"
