"""Logging setup with a redaction filter: secrets must never reach a log line.

Trunkline never logs credentials on purpose; the filter is the safety net for third-party
messages (e.g. a driver echoing a statement) that might carry an Authorization header, a bearer
token or a ``password=`` pair.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    (re.compile(r"(?i)(authorization:\s*)(bearer|digest|basic)\s+[^\r\n]*"), r"\1\2 ***"),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1***"),
    # Keys quoted JSON-style ("password") or repr-style ('password', a logged dict).
    (
        re.compile(
            r"(?i)([\"']?(?:password|pbx_password|auth_password|username"
            r"|stream_auth_token)[\"']?\s*[:=]\s*)"
            r"(\"[^\"]*\"|'[^']*'|[^\s,}&]+)"
        ),
        r"\1***",
    ),
    (re.compile(r"\btl_[A-Za-z0-9_-]{20,}"), "tl_***"),
    # SIP URI users ("sip:trunk-user@gw"): account names, redacted like traces (sip/trace.py).
    (re.compile(r"(?i)\b(sips?:)[^@\s<>\"']+@"), r"\1***@"),
    (re.compile(r"v1:[0-9a-f]{8}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+"), "v1:***"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
