"""The phone-number reads of the key-read lane (``trunkline.lane``; ``router.LANE`` lists them).

``PhoneNumberService.snapshot_by_number`` and ``read`` on a ``db.hot`` connection: the same
rules (a number is looked up as ``normalize_query`` gives it, an unknown one is
``PhoneNumberNotFound``) and the same views (``views.build_snapshot``, ``views.item_json``),
returned JSON-ready. tests/phone_number/test_lane.py holds every answer to the session path's.
"""

from __future__ import annotations

import re
import uuid
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, select
from starlette.datastructures import QueryParams
from starlette.types import Scope

from trunkline.binding import hot as binding_hot
from trunkline.binding.rules import Source
from trunkline.db.hot import HotConnection, HotRead
from trunkline.errors import PhoneNumberNotFound
from trunkline.kit.e164 import normalize_query
from trunkline.models import PhoneNumber
from trunkline.phone_number.views import build_snapshot, item_json
from trunkline.workspace.service import AuthContext

_C = PhoneNumber.__table__.c
_BY_ID = HotRead(
    select(*_C).where(
        _C.id == bindparam("phone_number_id"), _C.workspace_id == bindparam("workspace_id")
    )
)
_BY_NUMBER = HotRead(
    select(*_C).where(
        _C.workspace_id == bindparam("workspace_id"), _C.number == bindparam("number")
    )
)

# The ``number`` query parameter as the FastAPI route declares it: Query(min_length=1,
# max_length=32). Other lengths (and a missing one) are the route's 422 to answer.
_NUMBER_LENGTHS = range(1, 33)


def number_query(_path: re.Match[str], scope: Scope) -> str | None:
    """``?number=`` as FastAPI reads it (the last one given), when the route would accept it."""
    number = QueryParams(scope["query_string"]).get("number")
    return number if number is not None and len(number) in _NUMBER_LENGTHS else None


def uuid_path(path: re.Match[str], _scope: Scope) -> uuid.UUID:
    """The path's canonical uuid (``lane.UUID_SEGMENT``; other spellings go to the route)."""
    return uuid.UUID(path["uuid"])


async def channels_snapshot(auth: AuthContext, conn: HotConnection, raw: str) -> Any:
    """``GET /phone-numbers/channels?number=``: the number's ChannelsSnapshot."""
    e164 = normalize_query(raw)
    rows = await conn.fetch(_BY_NUMBER, {"workspace_id": auth.workspace_id, "number": e164})
    if not rows:
        raise PhoneNumberNotFound(field="number")
    number = rows[0]
    held = await binding_hot.holdings_for_e164(conn, auth.workspace_id, number.number)
    # build_snapshot reads a model's attributes, is_external among them.
    view = SimpleNamespace(**number._asdict(), is_external=number.source == Source.external)
    return build_snapshot(view, held).model_dump(mode="json")  # type: ignore[arg-type]


async def number_item(auth: AuthContext, conn: HotConnection, phone_number_id: uuid.UUID) -> Any:
    """``GET /phone-numbers/{uuid}``: the PhoneNumber item.

    The currency is the one read with the cached token (``AuthContext.currency``): what
    ``WorkspaceService.currency`` answers while that cache entry lives, which the lane
    requires."""
    rows = await conn.fetch(
        _BY_ID, {"phone_number_id": phone_number_id, "workspace_id": auth.workspace_id}
    )
    if not rows:
        raise PhoneNumberNotFound()
    number = rows[0]
    held = await binding_hot.holdings_for_e164(conn, auth.workspace_id, number.number)
    own = (
        await binding_hot.trunks_for_number(conn, number.id)
        if number.source == Source.external
        else []
    )
    return item_json(number, held, own, auth.currency)
