"""Shared Pydantic pieces: UTC timestamp serialization, host validation, strict models."""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

from trunkline.kit.clock import iso_z
from trunkline.kit.e164 import parse_e164
from trunkline.kit.egress import check_host, current_policy

UtcDatetime = Annotated[
    datetime,
    PlainSerializer(iso_z, return_type=str, when_used="always"),
]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


# C0 and C1 control characters (tab and newline included: a name is one line) and the Unicode
# bidirectional embeddings, overrides and isolates (UAX #9 §2: U+202A-U+202E, U+2066-U+2069),
# which make a name display as something else in dashboards, logs and terminals. The implicit
# marks (LRM, RLM, ALM) stay allowed: right-to-left names may need them.
_UNSAFE_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def check_name(value: Any) -> Any:
    """Refuse control characters and bidi overrides in a display name."""
    if isinstance(value, str) and _UNSAFE_IN_NAMES.search(value):
        raise PydanticCustomError(
            "name_unsafe_characters",
            "Names must not contain control characters or bidirectional overrides.",
        )
    return value


class RequestModel(BaseModel):
    """Request bodies: unknown keys are refused (422 naming the key): a client that sends
    ``secondary_gatway`` must learn its failover was not stored. Every field the upstream API
    documents is declared (tests/api/test_unknown_fields.py checks against its OpenAPI).

    NUL characters are refused in every string, nested ones included: PostgreSQL cannot store
    them in text or JSON, and no SIP or phone field has a use for them. A ``name`` field, in any
    request model, refuses control characters and bidi overrides (``check_name``).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise PydanticCustomError(
                "string_nul", "Text must not contain NUL (\\u0000) characters."
            )
        return value

    @field_validator("name", mode="after", check_fields=False)
    @classmethod
    def _safe_name(cls, value: Any) -> Any:
        return check_name(value)


class ResponseModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def is_host(value: str) -> bool:
    """A DNS host name (RFC 1123) or an IPv4/IPv6 address — no scheme, port, path or user."""
    if not value or len(value) > 255:
        return False
    candidate = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        ipaddress.ip_address(candidate)
        return True
    except ValueError:
        pass
    # One trailing dot is the DNS root; fullmatch, because "$" would accept a trailing newline.
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return False
    # A top label without a letter is not a host name (RFC 3696 §2): it is a phone number
    # ("12025550123", "1-202-555-0123") or a malformed IPv4.
    return any(c.isalpha() for c in labels[-1])


def _gateway(value: str) -> str:
    if not is_host(value):
        raise PydanticCustomError(
            "invalid_gateway",
            "The gateway must be a host name or IP address, without scheme or port "
            "(for example sip.telnyx.com).",
        )
    # Where Trunkline will send SIP: refuse loopback, link-local... on write (kit/egress.py).
    if (reason := check_host(value, current_policy())) is not None:
        raise PydanticCustomError(
            "address_not_allowed", "Address not allowed: {reason}.", {"reason": reason}
        )
    return value


# The length limit lives in the type so it is checked before the host rule on every field,
# including optional ones (``Gateway | None``), where a Field(max_length=...) ran after it.
Gateway = Annotated[str, StringConstraints(max_length=255), AfterValidator(_gateway)]


def _e164(value: str) -> str:
    info = parse_e164(value)
    if info is None:
        raise PydanticCustomError(
            "invalid_phone_number",
            "Must be a valid phone number in E.164 format, e.g. +12025550123.",
        )
    return info.e164


E164 = Annotated[str, AfterValidator(_e164)]


def json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
