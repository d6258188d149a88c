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
    assert "From: <sip:trunk1@siplab.test>" in out  # only auth headers are touched


def test_redact_trace_is_idempotent() -> None:
    entry = TraceEntry("sent", datetime.now(UTC), "127.0.0.1:5060", SENT)
    once = redact_trace([entry])
    assert redact_trace(once) == once
    assert once[0].text == redact_text(SENT)


def test_challenge_nonce_redacted() -> None:
    text = 'WWW-Authenticate: Digest realm="r", nonce="secretnonce", qop="auth"\r\n'
    assert "secretnonce" not in redact_text(text)
