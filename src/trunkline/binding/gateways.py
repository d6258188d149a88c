"""Check 1 of an inbound call, "is the caller a gateway at all": the marker branch of the
routing read (``binding.routes``), true when any call source's gateway is one of the caller's
names, even when the dialled number is not held through it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Table, or_, select
from sqlalchemy.sql.elements import BindParameter

from trunkline.db.one_of import one_of
from trunkline.models import PbxConnector, SipConnection, Trunk

# The tables, not the ORM entities: the routing read is Core (binding/routes.py).
_TRUNK: Table = Trunk.__table__  # type: ignore[assignment]
_CONNECTION: Table = SipConnection.__table__  # type: ignore[assignment]
_PBX: Table = PbxConnector.__table__  # type: ignore[assignment]


def gateway_marker(
    names: BindParameter[list[str]], workspace_id: BindParameter[uuid.UUID] | None
) -> ColumnElement[bool]:
    """Whether any call source's gateway (or PBX allowed IP) is one of ``names``: one check
    per column, each answered by that column's index (an OR of two columns in one check made
    SQLite scan the table once it had statistics of mostly-NULL secondary gateways).

    Each check is "the first such gateway in index order" (``ORDER BY … LIMIT 1``), not an
    ``EXISTS``: PostgreSQL switches a prepared statement to a generic plan after five
    executions, and that plan cannot see the names. When one gateway holds most trunks (one
    carrier, 100,000 numbers), the generic estimate of "gateway = any name" is "nearly every
    row", so an ``EXISTS`` became a sequential scan expecting to stop at once — and read all
    100,000 trunks for a caller that is nobody's gateway (a SIP scanner: 21-27 ms of database
    time per INVITE). The ordered first row is an index scan in every plan, generic or custom
    (tests/db/test_routes_plan.py); SQLite plans it as the same index search. bench.routing,
    PostgreSQL, 100,000 trunks on one gateway, scanner INVITEs: 80-89 -> 8-10 ms of wall per
    decision (paired, load 5-6). Cheaper than ``plan_cache_mode = force_custom_plan``, which
    replans this UNION per INVITE: 2.9-3.7 ms of planning against 0.05 ms."""
    columns = (
        (_TRUNK, _TRUNK.c.sip_gateway),
        (_TRUNK, _TRUNK.c.sip_secondary_gateway),
        (_CONNECTION, _CONNECTION.c.gateway),
        (_CONNECTION, _CONNECTION.c.secondary_gateway),
        (_PBX, _PBX.c.registrar_server),
        (_PBX, _PBX.c.allowed_ip),
    )
    checks: list[Any] = []
    for table, column in columns:
        first = select(column).where(one_of(column, names))
        if workspace_id is not None:  # the dry run: one workspace's sources
            first = first.where(table.c.workspace_id == workspace_id)
        checks.append(first.order_by(column).limit(1).scalar_subquery().is_not(None))
    return or_(*checks)
