"""The live SIP status shared by every monitored target: connections, trunk rows, PBX connectors.

One vocabulary (``SipStatus``), one name for the kind of target (``TargetKind``), one read model
of a target's SIP endpoint (``SipEndpoint``), and the one way to make a target due for a fresh
check (``reset_status``). The three tables name the same endpoint columns differently
(``gateway`` / ``sip_gateway`` / ``registrar_server``): ``ENDPOINT_COLUMNS`` maps them in this
one place rather than renaming columns (a rename migration is left for a later change).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from trunkline.kit.clock import utcnow


class SipStatus(StrEnum):
    """What the last check of a target found (docs/api-decisions.md §4.4 ``status``)."""

    pending = "pending"  # not checked since created or changed
    active = "active"  # answered (and registered, when it registers)
    degraded = "degraded"  # the primary gateway failed, the secondary answered
    auth_failed = "auth_failed"  # the gateway refused the credentials
    unreachable = "unreachable"  # no gateway answered
    disabled = "disabled"  # switched off: never checked nor registered


class TargetKind(StrEnum):
    """The tables the monitor checks; ``sip_status_event.target_kind`` stores these values."""

    connection = "connection"
    trunk = "trunk"
    pbx = "pbx"


@dataclass(frozen=True)
class SipEndpoint:
    """Where a target's SIP traffic goes, whatever its table calls the columns."""

    gateway: str | None
    secondary_gateway: str | None
    port: int | None
    transport: str | None


# Per kind: the columns holding (gateway, secondary gateway, port, transport). PBX connectors
# have no secondary registrar.
ENDPOINT_COLUMNS: dict[TargetKind, tuple[str, str | None, str, str]] = {
    TargetKind.connection: ("gateway", "secondary_gateway", "port", "transport"),
    TargetKind.trunk: ("sip_gateway", "sip_secondary_gateway", "sip_port", "sip_transport"),
    TargetKind.pbx: ("registrar_server", None, "port", "connection_type"),
}


def endpoint_of(kind: TargetKind, row: Any) -> SipEndpoint:
    """The SIP endpoint of a connection, trunk row or PBX connector row."""
    gateway, secondary, port, transport = ENDPOINT_COLUMNS[kind]
    return SipEndpoint(
        gateway=getattr(row, gateway),
        secondary_gateway=getattr(row, secondary) if secondary else None,
        port=getattr(row, port),
        transport=getattr(row, transport),
    )


def reset_status(target: Any) -> None:
    """Back to ``pending`` and due now: the monitor re-checks it on its next pass. For a target
    whose checked settings (endpoint, credentials) changed: the last result no longer holds."""
    target.status = SipStatus.pending
    target.status_detail = None
    target.last_checked_at = None
    target.check_misses = 0
    target.next_check_at = utcnow()
