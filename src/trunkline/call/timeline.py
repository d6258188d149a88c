"""A call's timeline: its events, and the guarded status moves that write them."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.call import repository as repo
from trunkline.call.rules import CallStatus, EventKind, can_transition, is_live
from trunkline.errors import CallNotFound
from trunkline.kit.clock import utcnow
from trunkline.models import Call, CallEvent

log = logging.getLogger(__name__)

Check = Mapping[str, Any]  # a routing check as the routing decision reports it

EMPTY_MEDIA: dict[str, Any] = {"codec": None, "packets_in": 0, "packets_out": 0, "dtmf": 0}

# Events written together get distinct, increasing times, so ordering by time keeps their order
# (the clock can return one microsecond twice).
_TICK = timedelta(microseconds=1)


def event_rows(
    call_id: uuid.UUID, at: datetime, items: Sequence[tuple[EventKind, Check]]
) -> list[dict[str, Any]]:
    """A call's events as rows for a Core INSERT (the call worker's path: no ORM objects)."""
    return [
        {
            "id": uuid.uuid4(),
            "call_id": call_id,
            "at": at + i * _TICK,
            "kind": kind,
            "detail": dict(d),
        }
        for i, (kind, d) in enumerate(items)
    ]


def events(
    call_id: uuid.UUID, at: datetime, items: Sequence[tuple[EventKind, Check]]
) -> list[CallEvent]:
    """``event_rows`` as ORM objects (the paths that keep the unit of work)."""
    return [CallEvent(**row) for row in event_rows(call_id, at, items)]


def check_events(checks: Sequence[Check]) -> list[tuple[EventKind, Check]]:
    return [(EventKind.routing_check, check) for check in checks]


async def live_call(
    session: AsyncSession, call_id: uuid.UUID, new: CallStatus, *, strict: bool = False
) -> Call | None:
    """The call when it may move to ``new``; None (logged) for a late or repeated event.

    ``strict``: a live call that cannot reach ``new`` is the caller's bug (ending an answered
    call as ``busy``), raised rather than ignored, since ignoring it would leave the call
    live for ever."""
    call = await repo.get_by_id(session, call_id)
    if call is None:
        raise CallNotFound(field="call_uuid")
    current = CallStatus(call.status)
    if not can_transition(current, new):
        if strict and is_live(current):
            raise ValueError(f"call {call_id} cannot go from {current} to {new}")
        log.info("call %s: ignoring %s → %s", call_id, current.value, new.value)
        return None
    return call


async def move(
    session: AsyncSession,
    call_id: uuid.UUID,
    new: CallStatus,
    values: Mapping[str, Any],
    kind: EventKind,
    detail: Mapping[str, Any],
    *,
    at: datetime,
    strict: bool = False,
    media: Mapping[str, Any] | None = None,
) -> bool:
    """Move a live call to ``new`` with ``values`` and its event, in Core statements: one key
    read of its status, one UPDATE guarded by that status, one INSERT. False (logged, nothing
    written) for a late or repeated move, or when another transaction moved it meanwhile.
    ``media``: figures merged into the call's ``media`` column. ``strict`` as ``live_call``."""
    state = await repo.call_state(session, call_id)
    if state is None:
        raise CallNotFound(field="call_uuid")
    status, stored_media = state
    current = CallStatus(status)
    if not can_transition(current, new):
        if strict and is_live(current):
            raise ValueError(f"call {call_id} cannot go from {current} to {new}")
        log.info("call %s: ignoring %s → %s", call_id, current.value, new.value)
        return False
    changes = {"status": new.value, **values}
    if media is not None:
        changes["media"] = {**EMPTY_MEDIA, **(stored_media or {}), **media}
    if not await repo.move_call(session, call_id, status, changes):
        log.info("call %s: moved meanwhile, not %s → %s", call_id, current.value, new.value)
        return False
    await repo.insert_events(session, event_rows(call_id, at, [(kind, detail)]))
    return True


async def flush_with_event(
    session: AsyncSession,
    call: Call,
    kind: EventKind,
    detail: Mapping[str, Any],
    *,
    at: datetime | None = None,
) -> None:
    event = CallEvent(
        id=uuid.uuid4(), call_id=call.id, at=at or utcnow(), kind=kind, detail=dict(detail)
    )
    await repo.add_event(session, event)
