"""SIP message model, parser and serializer (RFC 3261 §7, §20, §25). Pure: no I/O.

The parser is deliberately small and tolerant where RFC 3261 asks receivers to be (header
folding, compact header names, whitespace around the colon), and strict where a mistake
would mislead the transaction layer (start line, Content-Length, CSeq). Whatever the input,
it raises nothing but :class:`SipParseError`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from trunkline.sip.errors import SipParseError

# RFC 3261 §7.3.3 (+ later extensions): compact forms of header names.
COMPACT_FORMS: dict[str, str] = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "e": "content-encoding",
    "k": "supported",
    "s": "subject",
    "o": "event",
    "r": "refer-to",
    "u": "allow-events",
    "x": "session-expires",
    "b": "referred-by",
}
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
# RFC 3261 §8.1.1.7: a branch starting with this cookie was built by an RFC 3261 element.
BRANCH_MAGIC = "z9hG4bK"


@functools.lru_cache(maxsize=1024)  # hot path: every header lookup normalises names
def canonical_name(name: str) -> str:
    """Lower-case header name with compact forms expanded (header names are case-insensitive)."""
    low = name.strip().lower()
    return COMPACT_FORMS.get(low, low)


def _is_token(text: str) -> bool:
    return bool(text) and all(ch in _TOKEN_CHARS for ch in text)


def _parse_uint(text: str, what: str) -> int:
    text = text.strip()
    # str.isdigit() accepts non-ASCII digits that int() would also accept; require ASCII.
    if not text or not text.isascii() or not text.isdigit() or len(text) > 10:
        raise SipParseError(f"invalid {what}: {text[:20]!r}")
    return int(text)


@dataclass(slots=True, kw_only=True)
class SipMessage:
    """Headers in wire order as (name, value) pairs; lookups are case-insensitive."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def get_all(self, name: str) -> list[str]:
        """Every value of a header, in order (separate header lines are not comma-split)."""
        want = canonical_name(name)
        return [v for n, v in self.headers if canonical_name(n) == want]

    def get(self, name: str) -> str | None:
        want = canonical_name(name)
        for n, v in self.headers:
            if canonical_name(n) == want:
                return v
        return None

    def values(self, name: str) -> list[str]:
        """Header values with comma-separated lists split (RFC 3261 §7.3.1), e.g. Via, Contact."""
        return [part for v in self.get_all(name) for part in split_list(v)]

    @property
    def call_id(self) -> str:
        value = self.get("call-id")
        if not value:
            raise SipParseError("missing Call-ID")
        return value.strip()

    @property
    def cseq(self) -> tuple[int, str]:
        """(sequence number, method) from the CSeq header (RFC 3261 §8.1.1.5)."""
        value = self.get("cseq")
        parts = (value or "").split()
        if len(parts) != 2 or not _is_token(parts[1]):
            raise SipParseError("missing or malformed CSeq")
        return _parse_uint(parts[0], "CSeq number"), parts[1].upper()

    @property
    def top_via_branch(self) -> str | None:
        value = self.get("via")
        if not value:
            return None
        # Only the first via-parm matters; skip the quote-aware split when no quotes appear.
        first = split_list(value)[0] if '"' in value else value.partition(",")[0]
        return parse_params(first.partition(";")[2]).get("branch")

    def _head_lines(self) -> list[str]:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """Serialize; Content-Length is always (re)computed from the body (RFC 3261 §20.14)."""
        lines = self._head_lines()
        lines.extend(f"{n}: {v}" for n, v in self.headers if canonical_name(n) != "content-length")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(slots=True, kw_only=True)
class SipRequest(SipMessage):
    method: str
    uri: str

    def _head_lines(self) -> list[str]:
        return [f"{self.method} {self.uri} SIP/2.0"]


@dataclass(slots=True, kw_only=True)
class SipResponse(SipMessage):
    status: int
    reason: str

    def _head_lines(self) -> list[str]:
        return [f"SIP/2.0 {self.status} {self.reason}"]


def split_list(value: str) -> list[str]:
    """Split a comma-separated header value, ignoring commas inside quotes or <...>."""
    parts: list[str] = []
    depth_angle, quoted, escaped, start = False, False, False, 0
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif quoted:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth_angle = True
        elif ch == ">":
            depth_angle = False
        elif ch == "," and not depth_angle:
            parts.append(value[start:i])
            start = i + 1
    parts.append(value[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_params(text: str, sep: str = ";") -> dict[str, str]:
    """Parse ``a=1;b="x y";lr`` into a dict with lower-case names; quotes are removed."""
    params: dict[str, str] = {}
    for item in _split_outside_quotes(text, sep):
        name, eq, value = item.partition("=")
        name = name.strip().lower()
        if not name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[name] = value if eq else ""
    return params


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    out: list[str] = []
    quoted, escaped, start = False, False, 0
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def parse_name_addr(value: str) -> tuple[str, dict[str, str]]:
    """(URI, header params) of a From/To/Contact value, with or without <> (RFC 3261 §20.10)."""
    value = value.strip()
    if "<" in value:
        start = value.index("<")
        end = value.find(">", start)
        if end < 0:
            raise SipParseError("unterminated <URI>")
        return value[start + 1 : end].strip(), parse_params(value[end + 1 :].lstrip(";"))
    # Without angle brackets, ";params" after the URI belong to the header, not the URI.
    uri, _, rest = value.partition(";")
    return uri.strip(), parse_params(rest)


def parse_message(data: bytes) -> SipRequest | SipResponse:
    """Parse one complete SIP message (a UDP datagram or one framed TCP/TLS message)."""
    head_bytes, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        head_bytes, sep, rest = data.partition(b"\n\n")  # tolerate bare-LF senders
    try:
        head = head_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError("message head is not UTF-8") from exc
    lines = head.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)  # RFC 3261 §7.5: ignore CRLFs before the start line
    if not lines:
        raise SipParseError("empty message")
    start, header_lines = lines[0], lines[1:]
    headers: list[tuple[str, str]] = []
    for line in header_lines:
        if line[:1] in (" ", "\t"):
            # RFC 3261 §7.3.1: a line starting with whitespace continues the previous header.
            if not headers:
                raise SipParseError("continuation line before first header")
            name, prev = headers[-1]
            headers[-1] = (name, f"{prev} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or not _is_token(name):
            raise SipParseError(f"malformed header line: {line[:40]!r}")
        headers.append((name, value.strip()))
    body = rest
    length_values = [v for n, v in headers if canonical_name(n) == "content-length"]
    if length_values:
        length = _parse_uint(length_values[0], "Content-Length")
        if length > len(rest):
            raise SipParseError("body shorter than Content-Length")
        body = rest[:length]  # RFC 3261 §18.3: extra bytes after the body are discarded
    msg: SipRequest | SipResponse
    if start.startswith("SIP/"):
        version, _, tail = start.partition(" ")
        code, _, reason = tail.partition(" ")
        if version != "SIP/2.0" or len(code) != 3:
            raise SipParseError(f"malformed status line: {start[:40]!r}")
        status = _parse_uint(code, "status code")
        if not 100 <= status <= 699:
            raise SipParseError(f"status code out of range: {status}")
        msg = SipResponse(status=status, reason=reason.strip(), headers=headers, body=body)
    else:
        parts = start.split(" ")
        if len(parts) != 3 or parts[2] != "SIP/2.0" or not _is_token(parts[0]) or not parts[1]:
            raise SipParseError(f"malformed request line: {start[:40]!r}")
        msg = SipRequest(method=parts[0], uri=parts[1], headers=headers, body=body)
    return msg


def frame_length(buffer: bytes | bytearray) -> int | None:
    """Length of the first complete message in a stream buffer, or None if incomplete.

    RFC 3261 §18.3: on stream transports Content-Length is mandatory and delimits messages.
    Raises SipParseError when the head is complete but has no usable Content-Length.
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > 65536:
            raise SipParseError("message head too large")
        return None
    head = bytes(buffer[:end])
    length: int | None = None
    for raw in head.split(b"\r\n")[1:]:
        name, colon, value = raw.partition(b":")
        if colon and name.strip().lower() in (b"content-length", b"l"):
            length = _parse_uint(value.decode("ascii", "replace"), "Content-Length")
            break
    if length is None:
        raise SipParseError("stream message without Content-Length")
    total = end + 4 + length
    return total if len(buffer) >= total else None
