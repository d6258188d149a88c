"""kit.pagination.total_from_page: when a page tells the list's total (no COUNT needed)."""

from __future__ import annotations

import pytest

from trunkline.kit.pagination import PageParams, total_from_page

# (page, per_page, items on the page, the total the page tells, or None: count needed)
CASES = [
    (1, 50, 0, 0),  # an empty first page: an empty list
    (1, 50, 7, 7),  # a partial page ends the list
    (3, 50, 20, 120),  # ... wherever it is
    (1, 50, 50, None),  # a full page: more may follow
    (2_000, 50, 50, None),
    (4, 50, 0, None),  # past the end: how far past is unknown
    (1, 1, 1, None),
]


@pytest.mark.parametrize(("page", "per_page", "count", "expected"), CASES)
def test_total_from_page(page: int, per_page: int, count: int, expected: int | None) -> None:
    assert total_from_page(PageParams(page=page, per_page=per_page), count) == expected
