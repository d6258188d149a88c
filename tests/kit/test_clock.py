"""kit.clock.iso_z: the fast path writes exactly what strftime wrote (every response's
timestamps go through it)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from trunkline.kit.clock import iso_z


def reference(value: datetime) -> str:
    """The former implementation: convert to UTC, then strftime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TestIsoZ:
    def test_none_stays_none(self) -> None:
        assert iso_z(None) is None

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (datetime(2026, 12, 1, 16, 0, 0, tzinfo=UTC), "2026-12-01T16:00:00Z"),
            (datetime(2026, 12, 1, 16, 0, 0, 999_999, tzinfo=UTC), "2026-12-01T16:00:00Z"),
            (datetime(2026, 12, 1, 16, 0, 0), "2026-12-01T16:00:00Z"),  # naive = UTC
            (
                datetime(2026, 12, 1, 18, 30, 5, tzinfo=timezone(timedelta(hours=2, minutes=30))),
                "2026-12-01T16:00:05Z",
            ),
            (datetime(1000, 1, 1, tzinfo=UTC), "1000-01-01T00:00:00Z"),
            (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), "9999-12-31T23:59:59Z"),
        ],
    )
    def test_table(self, value: datetime, expected: str) -> None:
        assert iso_z(value) == expected

    def test_years_before_1000_as_strftime_wrote_them(self) -> None:
        value = datetime(999, 3, 4, 5, 6, 7, tzinfo=UTC)
        assert iso_z(value) == reference(value)

    def test_same_as_strftime_over_random_values(self) -> None:
        rng = random.Random(15)
        zones = [
            UTC,
            None,
            timezone(timedelta(hours=-5)),
            timezone(timedelta(hours=13, minutes=45)),
        ]
        for _ in range(5_000):
            value = datetime.fromtimestamp(rng.uniform(-30e9, 250e9), UTC).replace(
                microsecond=rng.randrange(1_000_000)
            )
            zone = rng.choice(zones)
            value = value.replace(tzinfo=None) if zone is None else value.astimezone(zone)
            assert iso_z(value) == reference(value), value
