"""The inbound variant of "who holds this number on call": every call source (trunk row,
provisioned number, SIP connection, PBX connector) of a dialled number, across workspaces,
with what routing needs to trust and decide — in one statement per INVITE.

Inbound SIP arrives before any workspace is known: the source address and the dialled number
decide which workspace a call belongs to. The statement is one UNION ALL:

- one branch per way of holding a number on ``call``, filtered by the E.164 readings of the
  dialled number (``numbers``), or — for national forms, whose country is not known yet — by a
  suffix of the number among sources whose gateway is the caller (``names``);
- with ``source_ids``, the routes of registrations Trunkline holds (an INVITE sent to the
  contact of one of its registrations);
- a marker row when any call source's gateway is one of ``names``: check 1, "is the caller a
  gateway at all", even when the number is not held through it (its own branch of the same
  UNION, so the INVITE's facts cost one round trip).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    String,
    Table,
    and_,
    bindparam,
    cast,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from trunkline.binding.gateways import gateway_marker
from trunkline.binding.rules import Channel, Via
from trunkline.db.one_of import list_param, one_of
from trunkline.db.sqlite_driver import KEY_READ
from trunkline.models import (
    Agent,
    Binding,
    PbxConnector,
    PhoneNumber,
    SipConnection,
    SipConnectionAssignment,
    Trunk,
)


@dataclass(frozen=True)
class RouteRow:
    """One call source of a number as stored: plain values for ``routing`` to decide on."""

    workspace_id: uuid.UUID
    number: str
    phone_number_id: uuid.UUID | None
    country_code: str | None
    channel_settings: dict[str, Any] | None
    via: Via
    via_id: uuid.UUID
    gateway: str | None
    secondary_gateway: str | None
    allowed_ip: str | None
    setup: str | None  # trunk direction or PBX setup mode
    normalizer: dict[str, Any] | None
    agent_id: uuid.UUID | None
    agent_name: str | None
    agent_status: str | None
    agent_stream_url: str | None
    assigned_at: datetime | None
    # The agent's stream token as stored (sealed): the call worker opens it, no second read.
    agent_stream_token_sealed: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CallSources:
    routes: list[RouteRow]
    names_are_gateways: bool  # some call source's gateway is one of the names asked


# The tables, not the ORM entities: the statement is Core, so SQLAlchemy skips the ORM's
# compile and row-loading steps on every INVITE (bench.routing: see bench/README.md
# "2026-12-01 (third session)").
def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


_AGENT = _table(Agent)
_BINDING = _table(Binding)
_NUMBER = _table(PhoneNumber)
_TRUNK = _table(Trunk)
_CONNECTION = _table(SipConnection)
_ASSIGNMENT = _table(SipConnectionAssignment)
_PBX = _table(PbxConnector)

# On PostgreSQL one array parameter per list, not an expanding IN: the SQL stays the same for
# any count of values (db/one_of.py), so PostgreSQL prepares it once. SQLite expands as before.
_NUMBERS = list_param("numbers")
_NAMES = list_param("names")
_SOURCE_IDS: BindParameter[list[uuid.UUID]] = bindparam("source_ids", expanding=True)
_SUFFIX = bindparam("suffix", type_=String)
_WS: BindParameter[uuid.UUID] = bindparam("workspace_id")


def _number_in(
    column: Any, gateways: Sequence[Any], national: bool, source: Any, by_source: bool
) -> Any:
    """The branch filter: the dialled number's E.164 readings; a national form's suffix among
    the caller's own gateways; or the source itself (reached through its registration). Only
    the clauses the INVITE needs: an OR the planner cannot serve from one index (the source
    of a trunk row is an outer-joined table) makes SQLite scan every binding."""
    clauses: list[Any] = [one_of(column, _NUMBERS)]
    if by_source:
        clauses.append(source.in_(_SOURCE_IDS))
    if national:
        clauses.append(and_(or_(*(one_of(g, _NAMES) for g in gateways)), column.like(_SUFFIX)))
    return or_(*clauses)


def inventory_row(alias: Any, workspace_id: Any, number: Any) -> Any:
    """Join condition: the inventory row (``alias`` of ``phone_number``) of a number a
    connection or PBX connector holds, in its workspace (its channel settings and line)."""
    return and_(alias.c.workspace_id == workspace_id, alias.c.number == number)


@functools.cache
def _routes_stmt(national: bool, scoped: bool, by_source: bool) -> Any:
    agent_cols = (
        _AGENT.c.name,
        _AGENT.c.status,
        _AGENT.c.stream_url,
        _AGENT.c.stream_auth_token_secret,
    )
    # Trunk rows and provisioned numbers: a binding row on call (a trunk row's number always
    # has its binding; the trunk row is joined for its gateways and direction).
    trunk = _TRUNK.alias("route_trunk")
    bindings = (
        select(
            _NUMBER.c.workspace_id,
            _NUMBER.c.number,
            _NUMBER.c.id,
            _NUMBER.c.country_code,
            _NUMBER.c.channel_settings,
            _BINDING.c.kind,
            _BINDING.c.phone_number_id,
            trunk.c.id,
            trunk.c.sip_gateway,
            trunk.c.sip_secondary_gateway,
            cast(null(), String),
            trunk.c.direction,
            cast(null(), _PBX.c.normalizer.type),
            _BINDING.c.agent_id,
            *agent_cols,
            _BINDING.c.created_at,
        )
        .join(
            _BINDING,
            and_(
                _BINDING.c.phone_number_id == _NUMBER.c.id, _BINDING.c.channel == Channel.call.value
            ),
        )
        .join(_AGENT, _AGENT.c.id == _BINDING.c.agent_id)
        .outerjoin(
            trunk,
            and_(trunk.c.phone_number_id == _NUMBER.c.id, trunk.c.channel == Channel.call.value),
        )
        .where(
            _NUMBER.c.status == "active",
            _number_in(
                _NUMBER.c.number,
                (trunk.c.sip_gateway, trunk.c.sip_secondary_gateway),
                national,
                trunk.c.id,
                by_source,
            ),
        )
    )
    # A connection's number may also be in the inventory: its row gives the channel settings.
    conn_number = _NUMBER.alias("conn_number")
    connections = (
        select(
            _CONNECTION.c.workspace_id,
            _CONNECTION.c.phone_number_e164,
            conn_number.c.id,
            conn_number.c.country_code,
            conn_number.c.channel_settings,
            literal(Via.connection.value),
            _CONNECTION.c.id,
            _CONNECTION.c.id,
            _CONNECTION.c.gateway,
            _CONNECTION.c.secondary_gateway,
            cast(null(), String),
            cast(null(), String),
            cast(null(), _PBX.c.normalizer.type),
            _ASSIGNMENT.c.agent_id,
            *agent_cols,
            _ASSIGNMENT.c.created_at,
        )
        .outerjoin(_ASSIGNMENT, _ASSIGNMENT.c.connection_id == _CONNECTION.c.id)
        .outerjoin(_AGENT, _AGENT.c.id == _ASSIGNMENT.c.agent_id)
        .outerjoin(
            conn_number,
            inventory_row(conn_number, _CONNECTION.c.workspace_id, _CONNECTION.c.phone_number_e164),
        )
        .where(
            _CONNECTION.c.phone_number_e164.is_not(None),
            _CONNECTION.c.status != "disabled",
            _number_in(
                _CONNECTION.c.phone_number_e164,
                (_CONNECTION.c.gateway, _CONNECTION.c.secondary_gateway),
                national,
                _CONNECTION.c.id,
                by_source,
            ),
        )
    )
    pbx_number = _NUMBER.alias("pbx_number")
    connectors = (
        select(
            _PBX.c.workspace_id,
            _PBX.c.phone_number,
            pbx_number.c.id,
            pbx_number.c.country_code,
            pbx_number.c.channel_settings,
            literal(Via.pbx.value),
            _PBX.c.id,
            _PBX.c.id,
            _PBX.c.registrar_server,
            cast(null(), String),
            _PBX.c.allowed_ip,
            _PBX.c.setup_mode,
            _PBX.c.normalizer,
            _PBX.c.agent_id,
            *agent_cols,
            _PBX.c.created_at,
        )
        .join(_AGENT, _AGENT.c.id == _PBX.c.agent_id)
        .outerjoin(
            pbx_number,
            inventory_row(pbx_number, _PBX.c.workspace_id, _PBX.c.phone_number),
        )
        .where(
            _PBX.c.status != "disabled",
            _number_in(
                _PBX.c.phone_number,
                (_PBX.c.registrar_server,),
                national,
                _PBX.c.id,
                by_source,
            ),
        )
    )
    if scoped:  # the dry run: one workspace's sources only
        bindings = bindings.where(_NUMBER.c.workspace_id == _WS)
        connections = connections.where(_CONNECTION.c.workspace_id == _WS)
        connectors = connectors.where(_PBX.c.workspace_id == _WS)
    # Last, so the branches above have typed every column (PostgreSQL types a UNION's columns
    # from left to right): the marker row is NULL but for its kind.
    width = len(bindings.selected_columns)
    marker = select(*(literal(_MARKER) if i == _KIND else null() for i in range(width))).where(
        gateway_marker(_NAMES, _WS if scoped else None)
    )
    statement = union_all(bindings, connections, connectors, marker)
    if national or by_source:
        return statement  # a suffix search may read a busy gateway's numbers: the worker's job
    # On SQLite the read runs on the event loop's thread (db/sqlite_driver.py): every branch
    # finds its rows through an index (tests/db/test_key_read_plans.py) but SIP connections',
    # one per provider account, not per number. Not registered as a key read (that check
    # allows no scan at all); test_the_inbound_facts_read_never_scans guards it instead.
    # bench.routing, SQLite, known number, 4 alternated pairs at load 6-7: 2.7-3.6 ms of CPU
    # per decision against 3.1-3.6 without (mean -6 %); the decision's wall time is spared
    # the worker thread's wake-up under load.
    return statement.execution_options(**{KEY_READ: True})


_MARKER = "gateway_marker"  # the kind column of the marker row
_KIND = 5  # the kind column's place in every branch


def _row(r: Any) -> RouteRow:
    (
        ws,
        number,
        pn_id,
        country,
        cs,
        kind,
        via_id,
        trunk_id,
        gw,
        gw2,
        allowed,
        setup,
        normalizer,
        agent_id,
        agent_name,
        agent_status,
        stream_url,
        stream_token,
        at,
    ) = r
    via = Via(kind)
    return RouteRow(
        workspace_id=ws,
        number=number,
        phone_number_id=pn_id,
        country_code=country,
        channel_settings=cs,
        via=via,
        # A trunk route is the trunk row; a provisioned number is its binding's number.
        via_id=trunk_id if via is Via.trunk and trunk_id else via_id,
        gateway=gw,
        secondary_gateway=gw2,
        allowed_ip=allowed,
        setup=setup,
        normalizer=normalizer,
        agent_id=agent_id,
        agent_name=agent_name,
        agent_status=agent_status,
        agent_stream_url=stream_url,
        assigned_at=at,
        agent_stream_token_sealed=stream_token,
    )


async def call_sources(
    session: AsyncSession,
    *,
    numbers: Sequence[str],
    names: Sequence[str],
    national_suffix: str | None = None,
    source_ids: Sequence[uuid.UUID] = (),
    workspace_id: uuid.UUID | None = None,
) -> CallSources:
    """Routes for the dialled number's readings (and registrations hit), plus whether any
    call source's gateway is one of ``names`` (the caller's address and the gateway host names
    known to resolve to it), in one statement. ``workspace_id`` limits both to one workspace
    (the dry run)."""
    national = national_suffix is not None
    scoped = workspace_id is not None
    params: dict[str, Any] = {"numbers": list(numbers), "names": list(names)}
    if source_ids:
        params["source_ids"] = list(source_ids)
    if national:
        params["suffix"] = f"%{national_suffix}"
    if scoped:
        params["workspace_id"] = workspace_id
    stmt = _routes_stmt(national, scoped, bool(source_ids))
    rows = list(await session.execute(stmt, params))
    routes = [_row(r) for r in rows if r[_KIND] != _MARKER]
    return CallSources(routes, len(routes) < len(rows))


@functools.cache
def _gateway_names_stmt() -> Any:
    parts = [
        select(Trunk.sip_gateway).where(Trunk.sip_gateway.is_not(None)),
        select(Trunk.sip_secondary_gateway).where(Trunk.sip_secondary_gateway.is_not(None)),
        select(SipConnection.gateway),
        select(SipConnection.secondary_gateway).where(SipConnection.secondary_gateway.is_not(None)),
        select(PbxConnector.registrar_server),
    ]
    return union_all(*parts)


async def gateway_names(session: AsyncSession) -> set[str]:
    """Every gateway host of every call source (for the call worker's resolver index)."""
    return {name for (name,) in await session.execute(_gateway_names_stmt()) if name}
