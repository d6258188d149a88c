"""A trunk row's SIP columns: written whole on register, partially on PATCH (docs/api-decisions.md
§4.1).

Credentials are sealed with the row and column as associated data, so a ciphertext copied into
another row or column does not decrypt.
"""

from __future__ import annotations

import uuid
from typing import Any

from trunkline.errors import Unprocessable
from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.models import Trunk
from trunkline.trunk.schemas import TrunkSipIn, TrunkSipPatch


def seal(box: SecretBox, trunk_id: uuid.UUID, column: str, value: str | None) -> str | None:
    """A credential sealed to its row and column; empty or missing means no credential."""
    return box.encrypt(value, aad_for("trunk", column, trunk_id)) if value else None


def sip_columns(box: SecretBox, trunk_id: uuid.UUID, sip: TrunkSipIn | None) -> dict[str, Any]:
    """The trunk's SIP columns, credentials sealed to this row."""
    if sip is None:
        return dict.fromkeys(
            (
                "sip_gateway",
                "sip_port",
                "sip_secondary_gateway",
                "sip_transport",
                "sip_username_secret",
                "sip_password_secret",
            )
        )

    return {
        "sip_gateway": sip.gateway,
        "sip_port": sip.port,
        "sip_secondary_gateway": sip.secondary_gateway,
        "sip_transport": sip.transport,
        "sip_username_secret": seal(box, trunk_id, "sip_username_secret", sip.username),
        "sip_password_secret": seal(box, trunk_id, "sip_password_secret", sip.password),
    }


def sip_patch_columns(box: SecretBox, trunk: Trunk, patch: TrunkSipPatch) -> dict[str, Any]:
    """The SIP columns a partial ``sip`` object changes (docs/api-decisions.md §4.1 PATCH)."""
    sent = patch.model_fields_set
    if trunk.sip_gateway is None and "gateway" not in sent:
        message = "gateway is required when adding SIP settings to a trunk."
        raise Unprocessable(
            f"Validation failed: sip.gateway: {message}",
            field="sip.gateway",
            fields=[{"field": "sip.gateway", "message": message}],
        )
    cols: dict[str, Any] = {}
    if "gateway" in sent:
        cols["sip_gateway"] = patch.gateway
    if "port" in sent or trunk.sip_port is None:
        cols["sip_port"] = patch.port or 5060
    if "transport" in sent or trunk.sip_transport is None:
        cols["sip_transport"] = patch.transport or "udp"
    if "secondary_gateway" in sent:
        cols["sip_secondary_gateway"] = patch.secondary_gateway
    for name, column in (("username", "sip_username_secret"), ("password", "sip_password_secret")):
        if name in sent:
            cols[column] = seal(box, trunk.id, column, getattr(patch, name))
    return cols
