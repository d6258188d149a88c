"""Rows → check specs. Credentials are decrypted here, held only in memory for the check."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, true

from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.kit.sip_status import TargetKind, endpoint_of
from trunkline.models import PbxConnector, SipConnection, Trunk
from trunkline.sip import Credentials, Target


@dataclass(frozen=True)
class CheckSpec:
    kind: TargetKind
    id: uuid.UUID
    workspace_id: uuid.UUID
    primary: Target
    secondary: Target | None
    register: bool
    credentials: Credentials | None = field(repr=False)
    aor_user: str | None
    status: str
    misses: int

    @property
    def fingerprint(self) -> str:
        """Identifies what a registration depends on; a change means re-register from scratch."""
        creds = self.credentials
        raw = repr((self.primary, self.secondary, self.aor_user)) + (
            f"{creds.username}\0{creds.password}" if creds else ""
        )
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Kind:
    name: TargetKind
    model: Any
    monitored: ColumnElement[bool]  # which rows of the table have something to check


KINDS: tuple[Kind, ...] = (
    Kind(TargetKind.connection, SipConnection, true()),
    Kind(TargetKind.trunk, Trunk, Trunk.sip_gateway.is_not(None)),
    Kind(TargetKind.pbx, PbxConnector, true()),
)
KIND_BY_NAME = {k.name: k for k in KINDS}


def _open(box: SecretBox, table: str, column: str, row: Any) -> str | None:
    token = getattr(row, column)
    return box.decrypt(token, aad_for(table, column, row.id)) if token else None


def _targets(kind: TargetKind, row: Any, tls_ca_file: str | None) -> tuple[Target, Target | None]:
    """The primary and secondary SIP targets, from the one column mapping (kit/sip_status)."""
    e = endpoint_of(kind, row)
    assert e.gateway is not None  # only monitored rows get here (trunks: sip_gateway set)

    def target(host: str) -> Target:
        transport = e.transport or "udp"
        return Target(host=host, port=e.port, transport=transport, tls_ca_file=tls_ca_file)  # type: ignore[arg-type]

    secondary = target(e.secondary_gateway) if e.secondary_gateway else None
    return target(e.gateway), secondary


def _credentials(
    kind: TargetKind, row: Any, box: SecretBox
) -> tuple[Credentials | None, str | None]:
    """(credentials to authenticate with, the AOR user) of a target."""
    if kind is TargetKind.pbx:
        p: PbxConnector = row
        password = _open(box, "pbx_connector", "auth_password_secret", p) or _open(
            box, "pbx_connector", "pbx_password_secret", p
        )
        auth_user = p.auth_username or p.username_extension
        return (Credentials(auth_user, password) if password else None), p.username_extension
    table, prefix = ("sip_connection", "") if kind is TargetKind.connection else ("trunk", "sip_")
    user = _open(box, table, f"{prefix}username_secret", row)
    password = _open(box, table, f"{prefix}password_secret", row)
    return (Credentials(user, password) if user and password else None), user


def _registers(kind: TargetKind, row: Any) -> bool:
    """Whether the target keeps a registration (given credentials)."""
    if kind is TargetKind.connection:
        return bool(row.register)
    if kind is TargetKind.pbx:
        # The agent registers as its extension to receive calls; outbound-only needs no binding.
        return bool(row.setup_mode != "outbound")
    return True  # a BYO trunk with credentials registers; without, it is IP-authenticated


def build_spec(kind: TargetKind, row: Any, box: SecretBox, tls_ca_file: str | None) -> CheckSpec:
    """The check to run for one monitored row."""
    primary, secondary = _targets(kind, row, tls_ca_file)
    creds, aor_user = _credentials(kind, row, box)
    return CheckSpec(
        kind,
        row.id,
        row.workspace_id,
        primary,
        secondary,
        register=_registers(kind, row) and creds is not None,
        credentials=creds,
        aor_user=aor_user,
        status=row.status,
        misses=row.check_misses,
    )
