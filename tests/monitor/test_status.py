"""evaluate(): what the gateways answered → API status (docs/api-decisions.md §4.4). One table of
cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trunkline.monitor.status import GatewayOutcome, RegisterOutcome, evaluate, hint_for

NOW = datetime(2026, 11, 23, 7, 31, 56, tzinfo=UTC)
UNTIL = datetime(2026, 11, 23, 7, 36, 56, tzinfo=UTC)


def gw(host: str, ok: bool, code: int | None = 200, error: str | None = None) -> GatewayOutcome:
    return GatewayOutcome(
        gateway=host,
        transport="udp",
        reachable=ok,
        sip_code=code if ok else None,
        reason="OK" if ok else None,
        rtt_ms=1.25 if ok else None,
        error=None if ok else (error or "timeout"),
    )


def reg(
    host: str, *, registered: bool, auth_failed: bool = False, code: int = 200
) -> RegisterOutcome:
    return RegisterOutcome(
        gateway=host,
        registered=registered,
        auth_failed=auth_failed,
        sip_code=code,
        reason="OK" if registered else "Forbidden",
        rtt_ms=2.0,
        error=None,
        registered_until=UNTIL if registered else None,
    )


P, S = "primary.example", "secondary.example"

CASES = [
    # id, primary, secondary, registering, p_reg, s_reg, prev status, prev misses → status, misses
    ("options-ok", gw(P, True), None, False, None, None, "pending", 0, "active", 0),
    (
        "options-403-is-reachable",
        gw(P, True, 403),
        None,
        False,
        None,
        None,
        "pending",
        0,
        "active",
        0,
    ),
    (
        "options-405-is-reachable",
        gw(P, True, 405),
        None,
        False,
        None,
        None,
        "unreachable",
        3,
        "active",
        0,
    ),
    ("first-miss-keeps-status", gw(P, False), None, False, None, None, "active", 0, "active", 1),
    (
        "second-miss-unreachable",
        gw(P, False),
        None,
        False,
        None,
        None,
        "active",
        1,
        "unreachable",
        2,
    ),
    ("first-miss-from-pending", gw(P, False), None, False, None, None, "pending", 0, "pending", 1),
    (
        "primary-down-secondary-up",
        gw(P, False),
        gw(S, True),
        False,
        None,
        None,
        "active",
        0,
        "degraded",
        0,
    ),
    (
        "both-down-twice",
        gw(P, False),
        gw(S, False),
        False,
        None,
        None,
        "degraded",
        1,
        "unreachable",
        2,
    ),
    (
        "registered",
        gw(P, True),
        None,
        True,
        reg(P, registered=True),
        None,
        "pending",
        0,
        "active",
        0,
    ),
    (
        "wrong-password",
        gw(P, True),
        None,
        True,
        reg(P, registered=False, auth_failed=True, code=403),
        None,
        "active",
        0,
        "auth_failed",
        0,
    ),
    (
        "register-503-is-a-miss",
        gw(P, True),
        None,
        True,
        reg(P, registered=False, code=503),
        None,
        "active",
        1,
        "unreachable",
        2,
    ),
    (
        "registered-on-secondary",
        gw(P, False),
        gw(S, True),
        True,
        None,
        reg(S, registered=True),
        "active",
        0,
        "degraded",
        0,
    ),
    (
        "secondary-rejects-creds",
        gw(P, False),
        gw(S, True),
        True,
        None,
        reg(S, registered=False, auth_failed=True, code=403),
        "active",
        0,
        "auth_failed",
        0,
    ),
    (
        "primary-ok-secondary-down",
        gw(P, True),
        gw(S, False),
        False,
        None,
        None,
        "degraded",
        0,
        "active",
        0,
    ),
]


@pytest.mark.parametrize(
    (
        "primary",
        "secondary",
        "registering",
        "p_reg",
        "s_reg",
        "prev",
        "prev_misses",
        "status",
        "misses",
    ),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_evaluate(
    primary: GatewayOutcome,
    secondary: GatewayOutcome | None,
    registering: bool,
    p_reg: RegisterOutcome | None,
    s_reg: RegisterOutcome | None,
    prev: str,
    prev_misses: int,
    status: str,
    misses: int,
) -> None:
    ev = evaluate(
        primary=primary,
        secondary=secondary,
        registering=registering,
        primary_reg=p_reg,
        secondary_reg=s_reg,
        previous_status=prev,
        previous_misses=prev_misses,
        misses_before_unreachable=2,
        checked_at=NOW,
    )
    assert (ev.status, ev.misses) == (status, misses)
    assert ev.detail["checked_at"] == "2026-11-23T07:31:56Z"
    assert ev.detail["hint"]


def test_detail_of_a_registered_primary() -> None:
    ev = evaluate(
        primary=gw(P, True),
        secondary=None,
        registering=True,
        primary_reg=reg(P, registered=True),
        secondary_reg=None,
        previous_status="pending",
        previous_misses=0,
        misses_before_unreachable=2,
        checked_at=NOW,
    )
    assert ev.detail == {
        "gateway": P,
        "transport": "udp",
        "sip_code": 200,
        "reason": "OK",
        "rtt_ms": 1.2,
        "hint": "The gateway answered and accepted the request.",
        "checked_at": "2026-11-23T07:31:56Z",
        "registered_until": "2026-11-23T07:36:56Z",
        "tls_cert_expires_at": None,
    }


def test_degraded_detail_names_the_secondary_and_explains_the_primary() -> None:
    ev = evaluate(
        primary=gw(P, False, error="refused"),
        secondary=gw(S, True),
        registering=False,
        primary_reg=None,
        secondary_reg=None,
        previous_status="active",
        previous_misses=0,
        misses_before_unreachable=2,
        checked_at=NOW,
    )
    assert ev.status == "degraded"
    assert ev.detail["gateway"] == S
    assert ev.detail["hint"].startswith("The primary gateway fails; the secondary works.")
    assert "Connection refused" in ev.detail["hint"]


@pytest.mark.parametrize(
    ("code", "error", "needle"),
    [
        (403, None, "IP is not allowed"),
        (408, None, "firewall"),
        (None, "timeout", "firewall"),
        (503, None, "overloaded"),
        (None, "dns", "does not resolve"),
        (None, "tls", "TLS"),
        (599, None, "answered 599"),
    ],
)
def test_hints(code: int | None, error: str | None, needle: str) -> None:
    assert needle in hint_for(code, error)
