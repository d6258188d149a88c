"""kit/e164: numbers through the numbering-plan library (docs/api-decisions.md §2.4)."""

from __future__ import annotations

import pytest

from trunkline.kit.e164 import NumberInfo, e164_or_none, normalize_query, parse_e164


class TestParseE164:
    @pytest.mark.parametrize(
        ("value", "info"),
        [
            ("+14155550100", NumberInfo("+14155550100", "US", "local")),
            ("+12345678901", NumberInfo("+12345678901", "US", "local")),
            ("+18005550199", NumberInfo("+18005550199", "US", "toll_free")),
            ("+442071838750", NumberInfo("+442071838750", "GB", "local")),
            ("+447400123456", NumberInfo("+447400123456", "GB", "mobile")),
            # The plan, not the +44 prefix, decides: 7911 1… is a Guernsey mobile range.
            ("+447911123456", NumberInfo("+447911123456", "GG", "mobile")),
            ("+4915123456789", NumberInfo("+4915123456789", "DE", "mobile")),
            ("+33612345678", NumberInfo("+33612345678", "FR", "mobile")),
        ],
    )
    def test_valid(self, value: str, info: NumberInfo) -> None:
        assert parse_e164(value) == info
        assert info.digits == value[1:]

    @pytest.mark.parametrize(
        "value",
        [
            "14155550100",  # no +
            "+1 415 555 0100",
            "+1-415-555-0100",
            "+1(415)5550100",
            "+14155550100\n",
            " +14155550100",
            "+1415555010",  # too short for the US plan
            "+141555501000",  # too long
            "+11234567890",  # area code cannot start with 1
            "+4479111234567",  # too long for the UK plan
            "+99912345678",  # unassigned country code
            "+0123456789",
            "+1234567890123456",  # more than 15 digits
            "+",
            "",
            "tel:+14155550100",
        ],
    )
    def test_invalid(self, value: str) -> None:
        assert parse_e164(value) is None

    def test_non_string(self) -> None:
        assert parse_e164(14155550100) is None  # type: ignore[arg-type]


class TestNormalizeQuery:
    @pytest.mark.parametrize(
        ("value", "normalized"),
        [
            ("+14155550100", "+14155550100"),
            ("14155550100", "+14155550100"),
            (" 14155550100", "+14155550100"),  # an unescaped "+" arrives as a space
            ("14155550100 ", "+14155550100"),
        ],
    )
    def test_with_or_without_plus(self, value: str, normalized: str) -> None:
        assert normalize_query(value) == normalized


class TestE164OrNone:
    @pytest.mark.parametrize(
        ("value", "e164"),
        [
            ("+14155550100", "+14155550100"),
            ("+1 (415) 555-0100", "+14155550100"),
            ("14155550100", "+14155550100"),
            ("+44 20 7183 8750", "+442071838750"),
            ("4155550100", None),  # national format: no country to parse it in
            ("ext. 12", None),
            ("<string>", None),
            ("", None),
        ],
    )
    def test_comparison_form(self, value: str, e164: str | None) -> None:
        assert e164_or_none(value) == e164
