"""Rows → check specs. Credentials are decrypted here, held only in memory for the check."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, true

from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.models import PbxConnector, SipConnection, Trunk
from trunkline.sip import Credentials, Target


@dataclass(frozen=True)
class CheckSpec:
    kind: str  # connection | trunk | pbx
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
    name: str
    model: Any
    monitored: ColumnElement[bool]  # which rows of the table have something to check


KINDS: tuple[Kind, ...] = (
    Kind("connection", SipConnection, true()),
    Kind("trunk", Trunk, Trunk.sip_gateway.is_not(None)),
    Kind("pbx", PbxConnector, true()),
)
KIND_BY_NAME = {k.name: k for k in KINDS}


def _open(box: SecretBox, table: str, column: str, row: Any) -> str | None:
    token = getattr(row, column)
    return box.decrypt(token, aad_for(table, column, row.id)) if token else None


def _target(host: str, port: int | None, transport: str | None, ca: str | None) -> Target:
    return Target(
        host=host,
        port=port,
        transport=(transport or "udp"),  # type: ignore[arg-type]
        tls_ca_file=ca,
    )


def build_spec(kind: str, row: Any, box: SecretBox, tls_ca_file: str | None) -> CheckSpec:
    """The check to run for one monitored row."""
    if kind == "connection":
        c: SipConnection = row
        user = _open(box, "sip_connection", "username_secret", c)
        password = _open(box, "sip_connection", "password_secret", c)
        creds = Credentials(user, password) if user and password else None
        return CheckSpec(
            kind, c.id, c.workspace_id,
            _target(c.gateway, c.port, c.transport, tls_ca_file),
            _target(c.secondary_gateway, c.port, c.transport, tls_ca_file)
            if c.secondary_gateway else None,
            register=c.register and creds is not None,
            credentials=creds, aor_user=user, status=c.status, misses=c.check_misses,
        )  # fmt: skip
    if kind == "trunk":
        t: Trunk = row
        assert t.sip_gateway is not None
        user = _open(box, "trunk", "sip_username_secret", t)
        password = _open(box, "trunk", "sip_password_secret", t)
        creds = Credentials(user, password) if user and password else None
        return CheckSpec(
            kind, t.id, t.workspace_id,
            _target(t.sip_gateway, t.sip_port, t.sip_transport, tls_ca_file),
            _target(t.sip_secondary_gateway, t.sip_port, t.sip_transport, tls_ca_file)
            if t.sip_secondary_gateway else None,
            # A BYO trunk with credentials registers; without, it is IP-authenticated.
            register=creds is not None,
            credentials=creds, aor_user=user, status=t.status, misses=t.check_misses,
        )  # fmt: skip
    p: PbxConnector = row
    password = _open(box, "pbx_connector", "auth_password_secret", p) or _open(
        box, "pbx_connector", "pbx_password_secret", p
    )
    auth_user = p.auth_username or p.username_extension
    creds = Credentials(auth_user, password) if password else None
    return CheckSpec(
        kind, p.id, p.workspace_id,
        _target(p.registrar_server, p.port, p.connection_type, tls_ca_file),
        None,
        # The agent registers as its extension to receive calls; outbound-only needs no binding.
        register=p.setup_mode != "outbound" and creds is not None,
        credentials=creds, aor_user=p.username_extension, status=p.status, misses=p.check_misses,
    )  # fmt: skip
