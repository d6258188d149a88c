"""Exception hierarchy of the SIP client library."""

from __future__ import annotations

from trunkline.sip.trace import redact_text


class SipError(Exception):
    """Base class of every error raised by :mod:`trunkline.sip`.

    Its text may quote a SIP message (a malformed header); it is redacted like a trace, so
    neither a log line nor an API answer built from it shows a SIP user or digest secret.
    """

    def __str__(self) -> str:
        return redact_text(super().__str__())


class SipParseError(SipError):
    """A SIP message (or a header inside it) is malformed.

    The parser promises to raise only this on bad input, so callers that read from the
    network can catch exactly one exception type.
    """


class SipTimeout(SipError):
    """A client transaction got no final response before Timer F (RFC 3261 §17.1.2.2)."""


class SipTransportError(SipError):
    """Sending failed; ``kind`` is the ProbeResult error category ("refused", "tls", ...)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
