"""Call rows made through the call service, as the call worker will make them (the live SIP
path is not part of these tests)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from trunkline.binding.rules import Via
from trunkline.call.rules import CallDirection, CallStatus, EndReason, EventKind, RejectedBy
from trunkline.call.service import call_service
from trunkline.db import session_scope
from trunkline.models import Call

WORKER = "worker-test-1"

CHECKS: list[Mapping[str, Any]] = [
    {"check": "untrusted_source", "passed": True, "detail": "127.0.0.1 is a trunk gateway"},
    {"check": "unknown_number", "passed": True, "detail": "held by a trunk row"},
]


async def inbound(
    sm: async_sessionmaker[AsyncSession],
    workspace_id: uuid.UUID,
    *,
    from_number: str = "+12025550123",
    to_number: str = "+14155550100",
    agent_id: uuid.UUID | None = None,
    phone_number_id: uuid.UUID | None = None,
    via: tuple[Via, uuid.UUID] | None = None,
    checks: Sequence[Mapping[str, Any]] = CHECKS,
) -> Call:
    """A ringing inbound call."""
    async with session_scope(sm) as session:
        return await call_service.open_inbound(
            session,
            workspace_id=workspace_id,
            from_number=from_number,
            to_number=to_number,
            phone_number_id=phone_number_id,
            agent_id=agent_id,
            via=via,
            sip_call_id=f"{uuid.uuid4().hex}@127.0.0.1",
            worker_id=WORKER,
            checks=checks,
        )


async def outbound(
    sm: async_sessionmaker[AsyncSession],
    workspace_id: uuid.UUID,
    agent_id: uuid.UUID,
    *,
    from_number: str = "+14155550100",
    to_number: str = "+12025550199",
) -> Call:
    """A queued outbound call."""
    async with session_scope(sm) as session:
        return await call_service.open_outbound(
            session,
            workspace_id=workspace_id,
            from_number=from_number,
            to_number=to_number,
            phone_number_id=None,
            agent_id=agent_id,
            via=None,
            worker_id=WORKER,
        )


async def answer(sm: async_sessionmaker[AsyncSession], call_id: uuid.UUID) -> None:
    async with session_scope(sm) as session:
        assert await call_service.mark_answered(session, call_id, codec="PCMU")


async def end(
    sm: async_sessionmaker[AsyncSession],
    call_id: uuid.UUID,
    status: CallStatus = CallStatus.completed,
    end_reason: EndReason = EndReason.caller_hangup,
    **kw: Any,
) -> None:
    async with session_scope(sm) as session:
        assert await call_service.mark_ended(
            session, call_id, status=status, end_reason=end_reason, **kw
        )


async def event(
    sm: async_sessionmaker[AsyncSession],
    call_id: uuid.UUID,
    kind: EventKind,
    detail: Mapping[str, Any] | None = None,
) -> None:
    async with session_scope(sm) as session:
        await call_service.record_event(session, call_id, kind, detail)


async def rejected(
    sm: async_sessionmaker[AsyncSession],
    workspace_id: uuid.UUID | None,
    rejected_by: RejectedBy = RejectedBy.inbound_disabled,
    *,
    sip_code: int = 403,
    to_number: str = "+14155550100",
) -> Call:
    async with session_scope(sm) as session:
        return await call_service.reject(
            session,
            direction=CallDirection.inbound,
            workspace_id=workspace_id,
            from_number="+12025550123",
            to_number=to_number,
            rejected_by=rejected_by,
            sip_code=sip_code,
            reason=f'SIP;cause={sip_code};text="{rejected_by}"',
            sip_call_id="rej-1@127.0.0.1",
            worker_id=WORKER,
            checks=[{"check": str(rejected_by), "passed": False, "detail": "refused"}],
        )
