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


def events(
    call_id: uuid.UUID, at: datetime, items: Sequence[tuple[EventKind, Check]]
) -> list[CallEvent]:
    return [
        CallEvent(id=uuid.uuid4(), call_id=call_id, at=at + i * _TICK, kind=kind, detail=dict(d))
        for i, (kind, d) in enumerate(items)
    ]


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
