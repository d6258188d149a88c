"""Read models of the calls API (docs/calls.md §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from trunkline.binding.rules import Via
from trunkline.call.rules import (
    CallDirection,
    CallStatus,
    EndReason,
    EventKind,
    RejectedBy,
    duration_s,
)
from trunkline.kit.schema import ResponseModel, UtcDatetime
from trunkline.models import Call, CallEvent


class CallVia(ResponseModel):
    kind: Via = Field(
        description="trunk: an external trunk row; connection: a SIP trunk connection; pbx: a "
        "PBX extension connector; provision: an owned number bound to the agent"
    )
    uuid: UUID = Field(description="That trunk row, connection, connector or binding")


class CallMedia(ResponseModel):
    codec: str | None = Field(
        description="The negotiated G.711 codec (PCMU or PCMA); null before the answer",
        examples=["PCMU"],
    )
    packets_in: int = Field(description="RTP packets received from the far end")
    packets_out: int = Field(description="RTP packets sent to the far end")
    dtmf: int = Field(
        description="How many DTMF digits the caller sent (RFC 4733 events or SIP INFO); the "
        "digits are in the call's events"
    )

    @classmethod
    def of(cls, media: dict[str, Any]) -> CallMedia:
        return cls(
            codec=media.get("codec"),
            packets_in=int(media.get("packets_in") or 0),
            packets_out=int(media.get("packets_out") or 0),
            dtmf=int(media.get("dtmf") or 0),
        )


class CallRead(ResponseModel):
    call_uuid: UUID
    direction: CallDirection
    status: CallStatus = Field(
        description="queued (outbound, not yet sent) → ringing → in_progress → completed; or one "
        "final status instead: busy, no_answer, failed, canceled, rejected. Final statuses never "
        "change. An inbound call starts ringing (its INVITE has arrived)."
    )
    from_: str = Field(
        alias="from",
        serialization_alias="from",
        description="Caller: E.164 where it parses, else as received",
        examples=["+12025550123"],
    )
    to: str = Field(description="Callee: E.164 where it parses, else as received")
    phone_number_uuid: UUID | None = Field(
        description="Trunkline's number the call used; null when none matched or it was deleted"
    )
    agent_uuid: UUID | None = Field(description="The agent the call reached or came from")
    via: CallVia | None = Field(description="How the number reached the agent")
    sip_call_id: str | None = Field(description="The SIP dialog's Call-ID (RFC 3261 §8.1.1.4)")
    sip_code: int | None = Field(
        description="The final SIP response code of the INVITE (ours when we rejected it)",
        examples=[200],
    )
    sip_reason: str | None = Field(description="Its reason phrase, or the Reason header we sent")
    rejected_by: RejectedBy | None = Field(description="The routing check that refused the call")
    end_reason: EndReason | None = Field(description="Why an answered or ringing call ended")
    created_at: UtcDatetime
    answered_at: UtcDatetime | None
    ended_at: UtcDatetime | None
    duration_s: int | None = Field(
        description="Talk time in whole seconds (answer to end, rounded down); 0 for a call "
        "never answered; null while the call is live"
    )
    media: CallMedia

    @classmethod
    def of(cls, call: Call) -> CallRead:
        status = CallStatus(call.status)
        return cls(
            call_uuid=call.id,
            direction=CallDirection(call.direction),
            status=status,
            from_=call.from_number,
            to=call.to_number,
            phone_number_uuid=call.phone_number_id,
            agent_uuid=call.agent_id,
            via=(
                CallVia(kind=Via(call.via_kind), uuid=call.via_id)
                if call.via_kind is not None and call.via_id is not None
                else None
            ),
            sip_call_id=call.sip_call_id,
            sip_code=call.sip_code,
            sip_reason=call.sip_reason,
            rejected_by=RejectedBy(call.rejected_by) if call.rejected_by else None,
            end_reason=EndReason(call.end_reason) if call.end_reason else None,
            created_at=call.created_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at,
            duration_s=duration_s(call.answered_at, call.ended_at, status),
            media=CallMedia.of(call.media),
        )


class CallEventRead(ResponseModel):
    kind: EventKind
    at: UtcDatetime
    offset_ms: int = Field(
        description="Milliseconds since the call was created: the timeline at a finer grain "
        "than ``at``'s whole seconds"
    )
    detail: dict[str, Any] = Field(
        description="What happened, by kind: a routing check's {check, passed, detail}, a SIP "
        "response's {code, reason}, a DTMF event's {digit}, an end's {status, end_reason}, "
        "lease_expired's {worker_id, status} (the call's worker was gone: docs/calls.md §6) …"
    )

    @classmethod
    def of(cls, event: CallEvent, call_created_at: datetime) -> CallEventRead:
        offset = event.at - call_created_at
        return cls(
            kind=EventKind(event.kind),
            at=event.at,
            offset_ms=max(0, int(offset.total_seconds() * 1000)),
            detail=event.detail,
        )
