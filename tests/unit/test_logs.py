"""logs.redact and the filter: the safety net that keeps credentials out of log lines."""

from __future__ import annotations

import logging

import pytest

from trunkline.logs import RedactingFilter, redact


@pytest.mark.parametrize(
    ("line", "redacted"),
    [
        (
            "Authorization: Bearer tl_abcdefghijklmnopqrstuvwxyz0123",
            "Authorization: Bearer ***",
        ),
        (
            'Authorization: Digest username="bob", response="0123abcd"',
            "Authorization: Digest ***",
        ),
        ("authorization: basic dXNlcjpwYXNz", "authorization: basic ***"),
        ("retrying with bearer abcdefgh12345", "retrying with bearer ***"),
        ("password=hunter2&user=bob", "password=***&user=bob"),
        ("PASSWORD: hunter2", "PASSWORD: ***"),
        ('{"password": "hunter 2", "name": "x"}', '{"password": ***, "name": "x"}'),
        ("{'password': 'hunter 2', 'name': 'x'}", "{'password': ***, 'name': 'x'}"),
        ('{"username": "alice"}', '{"username": ***}'),
        ("sip_password=hunter2", "sip_password=***"),
        ("pbx_password: x", "pbx_password: ***"),
        ('auth_password="p w"', "auth_password=***"),
        ("token tl_abcdefghijklmnopqrstuvwxyz issued", "token tl_*** issued"),
        ("stored v1:0123abcd:AAAA_-:BBBB-_", "stored v1:***"),
        ("nothing secret here: gateway=sip.acme.com", "nothing secret here: gateway=sip.acme.com"),
        ("From: <sip:acct-42@gw.test>;tag=1", "From: <sip:***@gw.test>;tag=1"),
        ("bad header 'Contact: sips:u:p@h'", "bad header 'Contact: sips:***@h'"),
        ("REGISTER sip:gw.test SIP/2.0", "REGISTER sip:gw.test SIP/2.0"),
    ],
)
def test_redact(line: str, redacted: str) -> None:
    assert redact(line) == redacted


class TestRedactingFilter:
    def test_formats_then_redacts_the_arguments(self) -> None:
        record = logging.LogRecord(
            "t", logging.INFO, __file__, 1, "sip body %s", ({"password": "hunter2"},), None
        )

        assert RedactingFilter().filter(record) is True
        assert record.getMessage() == "sip body {'password': ***}"
        assert "hunter2" not in record.getMessage()

    def test_clean_records_are_untouched(self) -> None:
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "calls=%d", (3,), None)

        RedactingFilter().filter(record)

        assert (record.msg, record.args) == ("calls=%d", (3,))
