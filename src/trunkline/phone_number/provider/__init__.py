"""Number providers: the interface (base) and the implementations selectable by settings."""

from __future__ import annotations

from trunkline.errors import ServiceUnavailable
from trunkline.phone_number.provider.base import (
    NumberProvider,
    NumberType,
    Offer,
    Rate,
    Requirement,
    SentSms,
)
from trunkline.phone_number.provider.sandbox import SandboxProvider

_PROVIDERS: dict[str, NumberProvider] = {"sandbox": SandboxProvider()}


def provider_named(name: str) -> NumberProvider:
    """The provider ``Settings.provider.name`` selects (503 if none by that name exists)."""
    try:
        return _PROVIDERS[name]
    except KeyError:
        raise ServiceUnavailable(f"Number provider {name!r} is not available.") from None


__all__ = [
    "NumberProvider",
    "NumberType",
    "Offer",
    "Rate",
    "Requirement",
    "SandboxProvider",
    "SentSms",
    "provider_named",
]
