"""The key-read lane's reads of holdings and trunk rows (``trunkline.lane``): the statements
``binding.repository`` runs through a session, run here on a ``db.hot`` connection.

Same statements, same rows: an E.164 number's holdings (the one query builder,
``binding.holdings``) and one number's trunk rows (call before whatsapp), both key reads by
unique or per-number indexes (tests/db/test_key_read_plans.py checks the plans of the
repository's marked twins). tests/phone_number/test_lane.py holds the lane's answers to the
session path's.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, select

from trunkline.binding.holdings import Lookup, holdings_select
from trunkline.binding.rules import Channel, Holding, Via
from trunkline.db.hot import HotConnection, HotRead
from trunkline.models import Trunk

_HOLDINGS = HotRead(holdings_select(Lookup.number, None))
_T = Trunk.__table__.c
_TRUNKS = HotRead(
    select(*(c for c in _T if c.name != "workspace_id"))
    .where(_T.phone_number_id == bindparam("phone_number_id"))
    .order_by(_T.channel)
)


async def holdings_for_e164(
    conn: HotConnection, workspace_id: uuid.UUID, e164: str
) -> list[Holding]:
    """Every holding of the E.164 number ``e164`` on every channel (``is_e164_shaped``)."""
    rows = await conn.fetch(_HOLDINGS, {"workspace_id": workspace_id, "number": e164})
    return [Holding(r[1], r[2], r[0], Channel(r[3]), Via(r[4]), r[5], r[6]) for r in rows]


async def trunks_for_number(conn: HotConnection, phone_number_id: uuid.UUID) -> list[Any]:
    """The number's trunk rows (named tuples with the table's column names), call first."""
    return await conn.fetch(_TRUNKS, {"phone_number_id": phone_number_id})
