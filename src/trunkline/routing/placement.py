"""Placing an outbound call (``POST /api/v1/calls``): the outbound decision, then — in the
request's transaction — the ``queued`` call record and its lease. Refusals answer as API
errors before any SIP is sent (docs/calls.md §4); the call worker takes it from there.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.call.control import OutboundPlan
from trunkline.call.leases import lease_service
from trunkline.call.rules import CallDirection, RejectedBy
from trunkline.call.service import call_service
from trunkline.errors import (
    AgentNotFound,
    AgentUnavailable,
    CallRefused,
    ChannelLimitReached,
    DestinationBlocked,
    DestinationInvalid,
    DestinationNotAllowed,
    NoNumber,
    NoTrunk,
    OutboundDisabled,
    TrunklineError,
)
from trunkline.models import Call
from trunkline.routing.schemas import CallCreate
from trunkline.routing.service import routing_service

UNCLAIMED = "unclaimed"

_REFUSALS: dict[RejectedBy, type[TrunklineError]] = {
    RejectedBy.agent_not_found: AgentNotFound,
    RejectedBy.agent_unavailable: AgentUnavailable,
    RejectedBy.no_number: NoNumber,
    RejectedBy.outbound_disabled: OutboundDisabled,
    RejectedBy.invalid_destination: DestinationInvalid,
    RejectedBy.destination_not_allowed: DestinationNotAllowed,
    RejectedBy.destination_blocked: DestinationBlocked,
    RejectedBy.no_trunk: NoTrunk,
    RejectedBy.channel_limit_reached: ChannelLimitReached,
}
# Every error POST /calls may answer with (its OpenAPI responses).
REFUSAL_ERRORS: tuple[type[TrunklineError], ...] = tuple(dict.fromkeys(_REFUSALS.values()))
_FIELDS = {
    RejectedBy.agent_not_found: "agent_uuid",
    RejectedBy.no_number: "from",
    RejectedBy.invalid_destination: "to",
    RejectedBy.destination_not_allowed: "to",
    RejectedBy.destination_blocked: "to",
}


def refusal(rejected_by: RejectedBy, detail: str) -> TrunklineError:
    """The API error of a refused outbound call: its code is the check's ``rejected_by``."""
    error = _REFUSALS[rejected_by]
    field = _FIELDS.get(rejected_by)
    if not issubclass(error, CallRefused):  # agent_not_found: the usual 404
        return error(field=field)
    data = {"rejected_by": rejected_by.value}
    return error(f"{error.default_message} ({detail})", field=field, data=data)


class Placement:
    async def place(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        body: CallCreate,
        *,
        worker_id: str | None,
        lease_ttl_s: float,
        default_ring_timeout_s: float,
    ) -> tuple[Call, OutboundPlan]:
        """Decide, then record the ``queued`` call and take its lease; or raise the refusal.

        ``worker_id``: the call worker of this process that will dial, or None — the call then
        waits, ``queued``, for any worker's next heartbeat to claim it (call/control.py)."""
        decision = await routing_service.outbound(
            session,
            workspace_id,
            agent_uuid=body.agent_uuid,
            from_number=body.from_,
            to=body.to,
            lease_counts=lease_service.lease_counts,
        )
        line, invite = decision.line, decision.invite
        if decision.rejected_by is not None or line is None or invite is None:
            assert decision.rejected_by is not None
            raise refusal(decision.rejected_by, decision.checks[-1].detail)
        call = await call_service.open_outbound(
            session,
            workspace_id=workspace_id,
            from_number=line.number,
            to_number=body.to,
            phone_number_id=line.phone_number_id,
            agent_id=body.agent_uuid,
            via=(line.via, line.via_id),
            worker_id=worker_id,
            checks=decision.check_records(),
            custom_parameters=body.custom_parameters,
        )
        # The channel limit again, authoritatively, under the line's lock: racing POSTs
        # cannot both take the last channel.
        leased = await lease_service.acquire_lease(
            session,
            line_id=line.line_id,
            call_id=call.id,
            direction=CallDirection.outbound,
            # Unclaimed until a worker takes it: that worker's heartbeat then renews it.
            worker_id=worker_id or UNCLAIMED,
            ttl_s=lease_ttl_s,
            inbound_limit=None,
            total_limit=line.total_limit,
        )
        if not leased:
            raise refusal(RejectedBy.channel_limit_reached, "the last channel was taken meanwhile")
        plan = OutboundPlan(
            call_id=call.id,
            workspace_id=workspace_id,
            agent_id=body.agent_uuid,
            via_kind=line.via.value,
            via_id=line.via_id,
            phone_number_id=line.phone_number_id,
            from_number=line.number,
            to=body.to,
            request_uri=invite.request_uri,
            from_uri=invite.from_uri,
            to_uri=invite.to_uri,
            p_asserted_identity=invite.p_asserted_identity,
            ring_timeout_s=body.ring_timeout_s or default_ring_timeout_s,
            custom_parameters=dict(body.custom_parameters or {}),
        )
        await call_service.keep_plan(call, plan)
        return call, plan


placement = Placement()
