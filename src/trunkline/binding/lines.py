"""The outbound variant of "who holds this number on call": every number an agent holds on
``call`` — through a trunk row, a provisioned number, a SIP connection or a PBX connector — with
the gateway an outbound call would be sent to, in one statement per ``POST /calls``.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, bindparam, cast, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from trunkline.binding.routes import inventory_row
from trunkline.binding.rules import Channel, Via
from trunkline.models import (
    Binding,
    PbxConnector,
    PhoneNumber,
    SipConnection,
    SipConnectionAssignment,
    Trunk,
)

_WS: BindParameter[uuid.UUID] = bindparam("workspace_id")
_AGENT: BindParameter[uuid.UUID] = bindparam("agent_id")


@dataclass(frozen=True)
class LineRow:
    """A number an agent holds on ``call``, with what calling out through it needs."""

    number: str
    phone_number_id: uuid.UUID | None
    country_code: str | None
    channel_settings: dict[str, Any] | None
    via: Via
    via_id: uuid.UUID
    gateway: str | None
    port: int | None
    transport: str | None
    secondary_gateway: str | None
    setup: str | None  # trunk direction or PBX setup mode
    additional_settings: dict[str, Any] | None
    assigned_at: datetime


@functools.cache
def _lines_stmt() -> Any:
    trunk = Trunk.__table__.alias("line_trunk")
    bindings = (
        select(
            PhoneNumber.number,
            PhoneNumber.id,
            PhoneNumber.country_code,
            PhoneNumber.channel_settings,
            Binding.kind,
            trunk.c.id,
            trunk.c.sip_gateway,
            trunk.c.sip_port,
            trunk.c.sip_transport,
            trunk.c.sip_secondary_gateway,
            trunk.c.direction,
            trunk.c.additional_settings,
            Binding.created_at,
        )
        .join(Binding, Binding.phone_number_id == PhoneNumber.id)
        .outerjoin(
            trunk,
            and_(trunk.c.phone_number_id == PhoneNumber.id, trunk.c.channel == Channel.call.value),
        )
        .where(
            Binding.agent_id == _AGENT,
            Binding.workspace_id == _WS,
            Binding.channel == Channel.call.value,
            PhoneNumber.status == "active",
        )
    )
    conn_number = PhoneNumber.__table__.alias("line_conn_number")
    connections = (
        select(
            SipConnection.phone_number_e164,
            conn_number.c.id,
            conn_number.c.country_code,
            conn_number.c.channel_settings,
            literal(Via.connection.value),
            SipConnection.id,
            SipConnection.gateway,
            SipConnection.port,
            SipConnection.transport,
            SipConnection.secondary_gateway,
            cast(null(), String),
            cast(null(), Trunk.additional_settings.type),
            SipConnectionAssignment.created_at,
        )
        .join(SipConnection, SipConnection.id == SipConnectionAssignment.connection_id)
        .outerjoin(
            conn_number,
            inventory_row(conn_number, SipConnection.workspace_id, SipConnection.phone_number_e164),
        )
        .where(
            SipConnectionAssignment.agent_id == _AGENT,
            SipConnectionAssignment.workspace_id == _WS,
            SipConnection.phone_number_e164.is_not(None),
            SipConnection.status != "disabled",
        )
    )
    pbx_number = PhoneNumber.__table__.alias("line_pbx_number")
    connectors = (
        select(
            PbxConnector.phone_number,
            pbx_number.c.id,
            pbx_number.c.country_code,
            pbx_number.c.channel_settings,
            literal(Via.pbx.value),
            PbxConnector.id,
            PbxConnector.registrar_server,
            PbxConnector.port,
            PbxConnector.connection_type,
            cast(null(), String),
            PbxConnector.setup_mode,
            cast(null(), Trunk.additional_settings.type),
            PbxConnector.created_at,
        )
        .outerjoin(
            pbx_number,
            inventory_row(pbx_number, PbxConnector.workspace_id, PbxConnector.phone_number),
        )
        .where(
            PbxConnector.agent_id == _AGENT,
            PbxConnector.workspace_id == _WS,
            PbxConnector.status != "disabled",
        )
    )
    return union_all(bindings, connections, connectors)


async def agent_call_lines(
    session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID
) -> list[LineRow]:
    """Every number ``agent_id`` holds on call, through any source, with its gateway."""
    rows = await session.execute(
        _lines_stmt(), {"workspace_id": workspace_id, "agent_id": agent_id}
    )
    out = []
    for (
        number,
        pn_id,
        country,
        cs,
        kind,
        via_id,
        gw,
        port,
        transport,
        gw2,
        setup,
        extra,
        at,
    ) in rows:
        via = Via(kind)
        out.append(
            LineRow(
                number=number,
                phone_number_id=pn_id,
                country_code=country,
                channel_settings=cs,
                via=via,
                via_id=via_id if via_id is not None else pn_id,
                gateway=gw,
                port=port,
                transport=transport,
                secondary_gateway=gw2,
                setup=setup,
                additional_settings=extra,
                assigned_at=at,
            )
        )
    return out
