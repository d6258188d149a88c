"""Secrets never reach traces."""

from __future__ import annotations

from datetime import UTC, datetime

from trunkline.sip import TraceEntry, redact_trace
from trunkline.sip.trace import redact_text

SENT = (
    "REGISTER sip:siplab.test SIP/2.0\r\n"
    "From: <sip:trunk1@siplab.test>;tag=1\r\n"
    'Authorization: Digest username="trunk1", realm="siplab.test", nonce="N0NCE", '
    'uri="sip:siplab.test", response="abcdef0123", algorithm=SHA-256, cnonce="CN", '
    'qop=auth, nc=00000001, opaque="OPQ"\r\n'
    "proxy-authorization:Digest username=bob,response=deadbeef,nonce=x\r\n"
    "Content-Length: 0\r\n\r\n"
)


def test_redact_text_hides_digest_secrets_keeps_shape() -> None:
    out = redact_text(SENT)
    for secret in ("N0NCE", "abcdef0123", '"CN"', "OPQ", 'username="trunk1"', "deadbeef", "bob"):
        assert secret not in out
    assert "Authorization: Digest" in out
    assert "algorithm=SHA-256" in out and 'realm="siplab.test"' in out and "qop=auth" in out
    assert 'response="***"' in out
    assert "From: <sip:***@siplab.test>" in out  # the account's AOR user is hidden too
    assert "trunk1" not in out


def test_uri_users_hidden_in_every_header() -> None:
    text = (
        "SIP/2.0 200 OK\r\n"
        'To: "Trunk" <sip:acct-42@gw.test>;tag=9\r\n'
        "Contact: <sip:acct-42@10.0.0.5:5060;transport=udp>;expires=60\r\n"
        "P-Asserted-Identity: <sips:acct-42:pw@gw.test>\r\n"
        "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1\r\n\r\n"
    )

    out = redact_text(text)

    assert "acct-42" not in out and ":pw@" not in out
    assert "<sip:***@gw.test>" in out and "<sip:***@10.0.0.5:5060;transport=udp>" in out
    assert "<sips:***@gw.test>" in out
    assert "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1" in out
    assert redact_text(out) == out


def test_redact_trace_is_idempotent() -> None:
    entry = TraceEntry("sent", datetime.now(UTC), "127.0.0.1:5060", SENT)
    once = redact_trace([entry])
    assert redact_trace(once) == once
    assert once[0].text == redact_text(SENT)


def test_challenge_nonce_redacted() -> None:
    text = 'WWW-Authenticate: Digest realm="r", nonce="secretnonce", qop="auth"\r\n'
    assert "secretnonce" not in redact_text(text)
