"""From what a gateway answered to what an operator needs to read: pure functions only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trunkline.kit.clock import iso_z
from trunkline.kit.sip_status import SipStatus

# RFC 3261 §21 codes (and transport failures) → the likely cause, in plain words.
_HINTS: dict[int | str, str] = {
    200: "The gateway answered and accepted the request.",
    401: "The gateway wants authentication: check the username and password.",
    403: (
        "Forbidden: wrong username or password, or this server's IP is not allowed at the provider."
    ),
    404: "Not found: the user, extension or domain is unknown to the provider.",
    405: "The gateway does not allow this method, but it is reachable.",
    407: "A proxy wants authentication: check the username and password.",
    408: "No answer in time: check the host, port, transport and any firewall in between.",
    423: "The registrar demanded a longer registration interval.",
    480: "The provider says the account is temporarily unavailable.",
    500: "The provider had an internal error; retry later or contact the provider.",
    502: "The provider's upstream failed (bad gateway).",
    503: "The provider is overloaded or in maintenance; retry later.",
    504: "The provider's upstream timed out.",
    "timeout": "No answer: check the host, port, transport and any firewall in between.",
    "refused": "Connection refused: nothing listens on that port with that transport.",
    "dns": "The gateway host name does not resolve.",
    "tls": "TLS failed: check that the port speaks TLS and its certificate is valid.",
    "network": "The network to the gateway is unreachable from this server.",
    "not_allowed": (
        "No SIP was sent: the gateway's address is refused by this server's egress policy "
        "(loopback, link-local, unspecified and multicast addresses are refused unless "
        "TRUNKLINE_SECURITY__ALLOW_ADDRESSES allows them)."
    ),
}


def hint_for(sip_code: int | None, error: str | None) -> str:
    if sip_code is not None:
        if sip_code in _HINTS:
            return _HINTS[sip_code]
        if 200 <= sip_code < 300:
            return _HINTS[200]
        return f"The gateway answered {sip_code}; see the reason phrase."
    return _HINTS.get(error or "", "The check could not run.")


@dataclass(frozen=True)
class GatewayOutcome:
    """One gateway's answer to OPTIONS (and REGISTER, when we register)."""

    gateway: str
    transport: str
    reachable: bool
    sip_code: int | None
    reason: str | None
    rtt_ms: float | None
    error: str | None = None
    tls_cert_expires_at: datetime | None = None


@dataclass(frozen=True)
class RegisterOutcome:
    gateway: str
    registered: bool
    auth_failed: bool
    sip_code: int | None
    reason: str | None
    rtt_ms: float | None
    error: str | None
    registered_until: datetime | None


@dataclass(frozen=True)
class Evaluation:
    status: str
    misses: int
    detail: dict[str, Any]


def _detail(g: GatewayOutcome, reg: RegisterOutcome | None) -> dict[str, Any]:
    """What one gateway said; a REGISTER answer, when there is one, is the more telling."""
    code, reason, error = g.sip_code, g.reason, g.error
    if reg is not None:
        code, reason, error = reg.sip_code, reg.reason, reg.error
    return {
        "gateway": g.gateway,
        "transport": g.transport,
        "sip_code": code,
        "reason": reason or error,
        "rtt_ms": round(g.rtt_ms, 1) if g.rtt_ms is not None else None,
        "hint": hint_for(code, error),
    }


def _usable(g: GatewayOutcome | None, reg: RegisterOutcome | None, registering: bool) -> bool:
    if g is None or not g.reachable:
        return False
    return not registering or (reg is not None and reg.registered)


def evaluate(
    *,
    primary: GatewayOutcome,
    secondary: GatewayOutcome | None,
    registering: bool,
    primary_reg: RegisterOutcome | None,
    secondary_reg: RegisterOutcome | None,
    previous_status: str,
    previous_misses: int,
    misses_before_unreachable: int,
    checked_at: datetime,
) -> Evaluation:
    """The API status (docs/api-decisions.md §4.4) of a target from one round of checks.

    A gateway is *usable* when it gave any final answer to OPTIONS (even 401/403/404/405) and,
    when we register, accepted the REGISTER. Then:

    - ``auth_failed``: a registrar rejected the credentials (401/403/404/407 after auth);
    - ``active``: the primary is usable; ``degraded``: only the secondary is;
    - ``unreachable``: no gateway usable for ``misses_before_unreachable`` consecutive rounds;
      before that the previous status stands and ``detail.misses`` counts, so one lost packet
      does not flap the status.
    """
    primary_ok = _usable(primary, primary_reg, registering)
    secondary_ok = _usable(secondary, secondary_reg, registering)
    if not primary_ok and secondary_ok and secondary is not None:
        shown, shown_reg = secondary, secondary_reg
    else:
        shown, shown_reg = primary, primary_reg

    detail: dict[str, Any] = {
        **_detail(shown, shown_reg),
        "checked_at": iso_z(checked_at),
        "registered_until": (
            iso_z(shown_reg.registered_until) if shown_reg and shown_reg.registered else None
        ),
        "tls_cert_expires_at": iso_z(shown.tls_cert_expires_at),
    }
    if secondary is not None:
        detail["secondary"] = _detail(secondary, secondary_reg)

    rejected = next((r for r in (primary_reg, secondary_reg) if r and r.auth_failed), None)
    if rejected is not None and not primary_ok:
        if rejected is secondary_reg and secondary is not None:
            detail.update(_detail(secondary, secondary_reg))
        return Evaluation(SipStatus.auth_failed, 0, detail)
    if primary_ok:
        return Evaluation(SipStatus.active, 0, detail)
    if secondary_ok:
        detail["hint"] = (
            "The primary gateway fails; the secondary works. "
            + _detail(primary, primary_reg)["hint"]
        )
        return Evaluation(SipStatus.degraded, 0, detail)

    misses = previous_misses + 1
    detail["misses"] = misses
    if misses >= misses_before_unreachable:
        return Evaluation(SipStatus.unreachable, misses, detail)
    return Evaluation(previous_status, misses, detail)
