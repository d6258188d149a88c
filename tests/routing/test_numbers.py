"""Dialled-number forms → E.164 readings: one row per form a carrier or PBX sends."""

from __future__ import annotations

import pytest

from trunkline.kit.e164 import parse_e164
from trunkline.routing.numbers import (
    apply_normalizer,
    candidates,
    clean,
    national_suffix,
    valid_e164,
)


@pytest.mark.parametrize(
    "value",
    [
        "+12025550123",
        "+14155550100",
        "+442079460123",
        "+33612345678",
        "+61291234567",
        "+18005550123",
        "+19995550123",  # invalid area code
        "+1202555012",  # too short
        "+4420794601234567",  # too long
        "+0012025550123",
        "12025550123",  # no "+"
        "+12025550123\n",
        "+",
        "",
    ],
)
def test_the_lean_check_agrees_with_the_full_parse(value: str) -> None:
    """Routing's own validity check skips the region and type (the trick's guard)."""
    info = parse_e164(value)
    assert valid_e164(value) == (info.e164 if info else None)


class TestCandidates:
    @pytest.mark.parametrize(
        ("user", "regions", "expected"),
        [
            ("+12025550123", (), ("+12025550123",)),
            ("12025550123", (), ("+12025550123",)),
            ("0012025550123", (), ("+12025550123",)),
            ("01112025550123", (), ("+12025550123",)),
            ("2025550123", ("US",), ("+12025550123",)),
            ("(202) 555-0123", ("US",), ("+12025550123",)),
            ("+1-202-555-0123", (), ("+12025550123",)),
            ("+1.202.555.0123", (), ("+12025550123",)),
            ("+12025550123;npdi;rn=+12025550000", (), ("+12025550123",)),
            ("02079460123", ("GB",), ("+442079460123",)),
            ("+442079460123", ("US",), ("+442079460123",)),
            # national digits read in every country the trusting source holds numbers in
            ("2025550123", ("GB", "US"), ("+12025550123",)),
            # bare digits that are valid both ways: both readings, international first
            ("442079460123", ("GB",), ("+442079460123",)),
            ("2025550123", (), ()),  # national without a country: no reading
            ("+19995550123", (), ()),  # not a valid number
            ("alice", ("US",), ()),
            ("", ("US",), ()),
        ],
    )
    def test_reading(self, user: str, regions: tuple[str, ...], expected: tuple[str, ...]) -> None:
        dialled = clean(user)
        got = candidates(dialled, regions) if dialled else ()
        assert got == expected


class TestClean:
    def test_letters_are_no_number(self) -> None:
        assert clean("201x") is None

    def test_plus_marks_international(self) -> None:
        assert clean("+442079460123") is not None
        assert clean("+442079460123").international_digits == "442079460123"  # type: ignore[union-attr]

    def test_idd_prefix_needs_a_number_behind_it(self) -> None:
        # "0012" is a short internal extension, not "+12"
        dialled = clean("0012")
        assert dialled is not None and dialled.international_digits is None


class TestNormalizer:
    @pytest.mark.parametrize(
        ("digits", "normalizer", "expected"),
        [
            (
                "2025550123",
                {"default_prefix": "+1", "condition_length": "10", "condition_prefix": None},
                "12025550123",
            ),
            (
                "2025550123",
                {"default_prefix": "1", "condition_length": "11", "condition_prefix": None},
                "2025550123",
            ),
            (
                "2025550123",
                {"default_prefix": "1", "condition_length": None, "condition_prefix": "2"},
                "12025550123",
            ),
            (
                "3025550123",
                {"default_prefix": "1", "condition_length": None, "condition_prefix": "2"},
                "3025550123",
            ),
            (
                "2025550123",
                {"default_prefix": None, "condition_length": "10", "condition_prefix": None},
                "2025550123",
            ),
            ("2025550123", None, "2025550123"),
        ],
    )
    def test_rewrite(
        self, digits: str, normalizer: dict[str, str | None] | None, expected: str
    ) -> None:
        assert apply_normalizer(digits, normalizer) == expected


class TestNationalSuffix:
    def test_drops_trunk_prefix(self) -> None:
        assert national_suffix(clean("02079460123")) == "2079460123"  # type: ignore[arg-type]

    def test_none_for_international(self) -> None:
        assert national_suffix(clean("+12025550123")) is None  # type: ignore[arg-type]

    def test_none_for_short(self) -> None:
        assert national_suffix(clean("201")) is None  # type: ignore[arg-type]
