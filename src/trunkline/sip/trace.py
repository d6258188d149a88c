"""Message traces for operators, with credentials redacted before they are stored."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

_AUTH_HEADER = re.compile(
    r"^((?:proxy-)?(?:authorization|authenticate)|www-authenticate)[ \t]*:.*$",
    re.IGNORECASE | re.MULTILINE,
)
# Values that let someone replay or brute-force a digest exchange. The algorithm, realm and
# qop stay visible so a failed exchange can still be explained from the trace.
_SECRET_PARAM = re.compile(
    r'\b(username|response|nonce|cnonce|opaque)([ \t]*=[ \t]*)("(?:[^"\\]|\\.)*"|[^,\s]*)',
    re.IGNORECASE,
)
# RFC 3261 §19.1.1: the userinfo of a SIP/SIPS URI ("sip:alice:pw@host") names the account
# (a trunk's username is usually its AOR user): hidden in every header, From/To/Contact included.
_URI_USERINFO = re.compile(r"\b(sips?:)[^@\s<>\"]+@", re.IGNORECASE)
REDACTED = "***"


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One SIP message as sent or received, text already redacted."""

    direction: Literal["sent", "received"]
    at: datetime
    remote: str
    text: str


def redact_text(text: str) -> str:
    """Hide SIP URI users everywhere and digest secrets in (Proxy-)Authorization /
    *-Authenticate headers (idempotent)."""
    if "@" in text:
        text = _URI_USERINFO.sub(rf"\1{REDACTED}@", text)
    if "uthori" not in text and "uthenti" not in text:
        return text  # fast path: most messages (OPTIONS, replies) carry no auth headers

    def scrub(line: re.Match[str]) -> str:
        return _SECRET_PARAM.sub(lambda m: f'{m.group(1)}{m.group(2)}"{REDACTED}"', line.group(0))

    return _AUTH_HEADER.sub(scrub, text)


def redact_trace(entries: Iterable[TraceEntry]) -> list[TraceEntry]:
    """Return a copy of ``entries`` with secrets redacted (idempotent)."""
    return [replace(e, text=redact_text(e.text)) for e in entries]
