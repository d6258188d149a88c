from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, PlainSerializer

from trunkline.kit.schema import ResponseModel, UtcDatetime
from trunkline.kit.sip_status import SipStatus
from trunkline.models import SipStatusEvent


def _iso_ms(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Trace timing matters to an operator (retransmissions, RTT), so keep milliseconds there.
MsDatetime = Annotated[datetime, PlainSerializer(_iso_ms, return_type=str)]


class TraceEntryRead(ResponseModel):
    direction: Literal["sent", "received"]
    at: MsDatetime
    remote: str = Field(examples=["203.0.113.7:5060"])
    text: str = Field(description="The SIP message; digest responses, nonces and users redacted.")


class CheckResult(ResponseModel):
    uuid: uuid.UUID
    status: SipStatus = Field(examples=["active"])
    status_detail: dict[str, Any] = Field(
        description="gateway, transport, sip_code, reason, rtt_ms, checked_at, registered_until, "
        "hint (likely cause in plain words), tls_cert_expires_at, secondary, misses"
    )
    last_checked_at: UtcDatetime | None
    trace: list[TraceEntryRead]


class StatusEventRead(ResponseModel):
    event_uuid: uuid.UUID
    from_status: SipStatus | None
    to_status: SipStatus
    detail: dict[str, Any] | None
    created_at: UtcDatetime

    @classmethod
    def of(cls, e: SipStatusEvent) -> StatusEventRead:
        return cls(
            event_uuid=e.id,
            from_status=e.from_status,
            to_status=e.to_status,
            detail=e.detail,
            created_at=e.created_at,
        )
