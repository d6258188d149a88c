"""Calls: the records the call worker writes as a call proceeds, the leases that count live
calls against a number's limits (docs/calls.md §6), and what the calls API reads.

Services never commit: the worker's ``session_scope`` (or the request) does, so a rejection and
its events, or an end and the lease it frees, land in one transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.binding.rules import Via
from trunkline.call import repository as repo
from trunkline.call import timeline
from trunkline.call.control import OutboundPlan, call_controls
from trunkline.call.repository import CallFilters
from trunkline.call.rules import (
    CallDirection,
    CallStatus,
    EndReason,
    EventKind,
    RejectedBy,
    is_live,
)
from trunkline.errors import CallNotFound
from trunkline.kit.clock import utcnow
from trunkline.kit.pagination import PageParams
from trunkline.models import Call, CallEvent

log = logging.getLogger(__name__)

CallVia = tuple[Via, uuid.UUID]
Check = timeline.Check


class CallService:
    # -- the call worker's side ----------------------------------------------------------------

    async def open_inbound(
        self,
        session: AsyncSession,
        *,
        workspace_id: uuid.UUID,
        from_number: str,
        to_number: str,
        phone_number_id: uuid.UUID | None,
        agent_id: uuid.UUID | None,
        via: CallVia | None,
        sip_call_id: str,
        worker_id: str,
        checks: Sequence[Check] = (),
        custom_parameters: Mapping[str, Any] | None = None,
    ) -> Call:
        """Record an accepted inbound INVITE: a ``ringing`` call, its INVITE and the routing
        checks it passed as its first events (Core INSERTs: the call worker's hot path)."""
        row = self._call_row(
            workspace_id=workspace_id,
            direction=CallDirection.inbound,
            status=CallStatus.ringing,
            from_number=from_number,
            to_number=to_number,
            phone_number_id=phone_number_id,
            agent_id=agent_id,
            via=via,
            sip_call_id=sip_call_id,
            worker_id=worker_id,
            custom_parameters=custom_parameters,
        )
        invite = {"from": from_number, "to": to_number, "sip_call_id": sip_call_id}
        events = timeline.event_rows(
            row["id"],
            row["created_at"],
            [(EventKind.invite_received, invite), *timeline.check_events(checks)],
        )
        await repo.insert_call(session, row, events)
        return Call(**row)

    async def open_outbound(
        self,
        session: AsyncSession,
        *,
        workspace_id: uuid.UUID,
        from_number: str,
        to_number: str,
        phone_number_id: uuid.UUID | None,
        agent_id: uuid.UUID,
        via: CallVia | None,
        worker_id: str | None = None,
        checks: Sequence[Check] = (),
        custom_parameters: Mapping[str, Any] | None = None,
    ) -> Call:
        """Record an outbound call the API accepted: ``queued`` until its INVITE is sent."""
        call = self._new_call(
            workspace_id=workspace_id,
            direction=CallDirection.outbound,
            status=CallStatus.queued,
            from_number=from_number,
            to_number=to_number,
            phone_number_id=phone_number_id,
            agent_id=agent_id,
            via=via,
            sip_call_id=None,
            worker_id=worker_id,
            custom_parameters=custom_parameters,
        )
        queued = {"from": from_number, "to": to_number}
        events = timeline.events(
            call.id, call.created_at, [(EventKind.queued, queued), *timeline.check_events(checks)]
        )
        await repo.add(session, call, events)
        return call

    async def reject(
        self,
        session: AsyncSession,
        *,
        direction: CallDirection,
        workspace_id: uuid.UUID | None,
        from_number: str,
        to_number: str,
        rejected_by: RejectedBy,
        sip_code: int,
        reason: str,
        phone_number_id: uuid.UUID | None = None,
        agent_id: uuid.UUID | None = None,
        via: CallVia | None = None,
        sip_call_id: str | None = None,
        worker_id: str | None = None,
        checks: Sequence[Check] = (),
    ) -> Call:
        """Keep a refused call (docs/calls.md §4: every rejection is a ``rejected`` call) with
        its request, the checks that ran and the refusal as events, in one flush.

        ``workspace_id`` is None when the call matched no workspace (untrusted source, unknown
        number): the row is then the operator's (logs, CLI) and no API lists it.
        """
        row = self._call_row(
            workspace_id=workspace_id,
            direction=direction,
            status=CallStatus.rejected,
            from_number=from_number,
            to_number=to_number,
            phone_number_id=phone_number_id,
            agent_id=agent_id,
            via=via,
            sip_call_id=sip_call_id,
            worker_id=worker_id,
            custom_parameters=None,
        )
        row.update(rejected_by=rejected_by.value, sip_code=sip_code, sip_reason=reason)
        first = (
            (
                EventKind.invite_received,
                {"from": from_number, "to": to_number, "sip_call_id": sip_call_id},
            )
            if direction is CallDirection.inbound
            else (EventKind.queued, {"from": from_number, "to": to_number})
        )
        refusal = {"rejected_by": rejected_by.value, "sip_code": sip_code, "reason": reason}
        items = [first, *timeline.check_events(checks), (EventKind.rejected, refusal)]
        events = timeline.event_rows(row["id"], row["created_at"], items)
        row["ended_at"] = events[-1]["at"]
        await repo.insert_call(session, row, events)
        return Call(**row)

    async def record_event(
        self,
        session: AsyncSession,
        call_id: uuid.UUID,
        kind: EventKind,
        detail: Mapping[str, Any] | None = None,
        *,
        at: datetime | None = None,
        flush: bool = True,
    ) -> CallEvent:
        """Append one event to a call's timeline (``at``: when it happened, if earlier). Without
        ``flush`` it is written with the transaction's next flush (a batch in one INSERT)."""
        at, detail = at or utcnow(), dict(detail or {})
        event = CallEvent(id=uuid.uuid4(), call_id=call_id, at=at, kind=kind, detail=detail)
        await repo.add_event(session, event, flush=flush)
        return event

    async def keep_plan(self, call: Call, plan: OutboundPlan) -> None:
        """Keep an outbound call's INVITE plan on its row (for a worker in another process)."""
        call.dial_plan = plan.as_record()

    async def claim_queued_outbound(
        self, session: AsyncSession, worker_id: str, limit: int = 20
    ) -> list[OutboundPlan]:
        """Outbound calls placed where no worker runs (their leases still live), now this
        worker's to dial."""
        calls = await repo.claim_queued_outbound(session, worker_id, limit, utcnow())
        return [
            OutboundPlan.from_record(c.id, c.workspace_id, c.dial_plan)
            for c in calls
            if c.dial_plan is not None and c.workspace_id is not None
        ]

    async def note_sip_call_id(
        self, session: AsyncSession, call_id: uuid.UUID, sip_call_id: str, gateway: str
    ) -> None:
        """An outbound INVITE went out: its Call-ID (the latest attempt's, after a failover)."""
        call = await repo.get_by_id(session, call_id)
        if call is not None:
            call.sip_call_id = sip_call_id
        await self.record_event(
            session,
            call_id,
            EventKind.invite_sent,
            {"gateway": gateway, "sip_call_id": sip_call_id},
        )

    async def mark_ringing(
        self,
        session: AsyncSession,
        call_id: uuid.UUID,
        *,
        sip_code: int | None = None,
        sip_reason: str | None = None,
    ) -> bool:
        """The far end rings (an outbound 180/183, RFC 3261 §13.2.2.1); False when the call
        has moved past ringing (the transition table decides)."""
        values = {} if sip_code is None else {"sip_code": sip_code, "sip_reason": sip_reason}
        detail = {"sip_code": sip_code, "sip_reason": sip_reason}
        return await timeline.move(
            session, call_id, CallStatus.ringing, values, EventKind.ringing, detail, at=utcnow()
        )

    async def mark_answered(
        self,
        session: AsyncSession,
        call_id: uuid.UUID,
        *,
        codec: str | None = None,
        sip_code: int = 200,
        sip_reason: str = "OK",
    ) -> bool:
        """The call is answered (2xx sent or received): ``in_progress`` from now."""
        now = utcnow()
        return await timeline.move(
            session,
            call_id,
            CallStatus.in_progress,
            {"answered_at": now, "sip_code": sip_code, "sip_reason": sip_reason},
            EventKind.answered,
            {"codec": codec, "sip_code": sip_code},
            at=now,
            media={"codec": codec},
        )

    async def mark_ended(
        self,
        session: AsyncSession,
        call_id: uuid.UUID,
        *,
        status: CallStatus,
        end_reason: EndReason | None = None,
        sip_code: int | None = None,
        sip_reason: str | None = None,
        media: Mapping[str, Any] | None = None,
        rejected_by: RejectedBy | None = None,
        at: datetime | None = None,
    ) -> bool:
        """End a call in its final ``status`` (at ``at``, default now) and free its lease, in
        this transaction. False (nothing written) when it had ended: a call ends exactly once."""
        if is_live(status):
            raise ValueError(f"{status} is not a final status")
        now = at or utcnow()
        values: dict[str, Any] = {
            "end_reason": end_reason.value if end_reason else None,
            "ended_at": now,
        }
        if sip_code is not None:
            values.update(sip_code=sip_code, sip_reason=sip_reason)
        if rejected_by is not None:
            values["rejected_by"] = rejected_by.value
        detail: dict[str, Any] = {
            "status": status.value,
            "end_reason": end_reason.value if end_reason else None,
            "sip_code": sip_code,
            "sip_reason": sip_reason,
        }
        if rejected_by is not None:
            detail["rejected_by"] = rejected_by.value
        kind = EventKind.rejected if status is CallStatus.rejected else EventKind.ended
        moved = await timeline.move(
            session, call_id, status, values, kind, detail, at=now, strict=True, media=media
        )
        if moved:
            await repo.delete_lease(session, call_id)
        return moved

    async def hangups_requested(
        self, session: AsyncSession, worker_id: str, call_ids: Collection[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of a worker's live calls the API asked to hang up (polled on each heartbeat,
        so a request reaches the worker even from another process or machine)."""
        return await repo.hangups_requested(session, worker_id, call_ids)

    # -- the API's side ------------------------------------------------------------------------

    async def get(self, session: AsyncSession, workspace_id: uuid.UUID, call_id: uuid.UUID) -> Call:
        """One call of the workspace, or ``CallNotFound`` (also for another workspace's)."""
        call = await repo.get(session, workspace_id, call_id)
        if call is None:
            raise CallNotFound(field="call_uuid")
        return call

    async def page(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        filters: CallFilters,
        params: PageParams,
    ) -> tuple[list[Call], int]:
        """A page of the workspace's calls, newest first."""
        return await repo.page(session, workspace_id, filters, params)

    async def events(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        call_id: uuid.UUID,
        params: PageParams,
    ) -> tuple[Call, list[CallEvent], int]:
        """The call and a page of its events, oldest first."""
        call = await self.get(session, workspace_id, call_id)
        events, total = await repo.events_page(session, call.id, params)
        return call, events, total

    async def request_hangup(
        self, session: AsyncSession, workspace_id: uuid.UUID, call_id: uuid.UUID
    ) -> Call:
        """Ask for a live call to be hung up: record the request (what every worker polls) and
        tell a worker of this process at once. Idempotent; an ended call is left unchanged."""
        call = await self.get(session, workspace_id, call_id)
        if not is_live(CallStatus(call.status)):
            return call
        if call.hangup_requested_at is None:
            now = utcnow()
            call.hangup_requested_at = now
            await timeline.flush_with_event(session, call, EventKind.hangup_requested, {}, at=now)
        # Asked before this transaction commits: a worker only starts the BYE/CANCEL here and
        # writes the end in its own transaction, which queues behind this one (row lock /
        # SQLite's write lock). Asked again on a repeated request: a worker that missed the
        # first (it was starting) may carry the call now; one ignores a hang-up under way.
        call_controls.hangup(call.id)
        return call

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _new_call(**fields: Any) -> Call:
        """A call as an ORM object (outbound: the placement keeps its plan on it)."""
        return Call(**CallService._call_row(**fields))

    @staticmethod
    def _call_row(
        *,
        workspace_id: uuid.UUID | None,
        direction: CallDirection,
        status: CallStatus,
        from_number: str,
        to_number: str,
        phone_number_id: uuid.UUID | None,
        agent_id: uuid.UUID | None,
        via: CallVia | None,
        sip_call_id: str | None,
        worker_id: str | None,
        custom_parameters: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """A new call's columns, as a row for a Core INSERT (or an ORM object); those left out
        are NULL (``dial_plan`` must be: a JSON column given None stores JSON ``null``)."""
        return {
            "id": uuid.uuid4(),
            "workspace_id": workspace_id,
            "direction": direction.value,
            "status": status.value,
            "from_number": from_number,
            "to_number": to_number,
            "phone_number_id": phone_number_id,
            "agent_id": agent_id,
            "via_kind": via[0].value if via else None,
            "via_id": via[1] if via else None,
            "sip_call_id": sip_call_id,
            "worker_id": worker_id,
            "media": dict(timeline.EMPTY_MEDIA),
            "custom_parameters": dict(custom_parameters or {}),
            "created_at": utcnow(),
        }


call_service = CallService()
