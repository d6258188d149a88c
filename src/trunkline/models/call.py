"""Call records, their event timelines, and the lease rows that count live calls.

Closed vocabularies (status, direction, end_reason, rejected_by, via_kind, event kind) are the
StrEnums of ``trunkline.call.rules``; columns are plain strings (non-native enums, portable).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from trunkline.kit.clock import utcnow
from trunkline.models.base import Base, IdMixin, UTCDateTime


class Call(IdMixin, Base):
    """One call, inbound or outbound, from the INVITE (or API request) to its end.

    ``workspace_id`` is null only for rejections that matched no workspace (an untrusted source
    or a number nobody holds): they are kept for the operator (logs, CLI), never shown by the API.
    """

    __tablename__ = "call"
    __table_args__ = (
        # Every list pages newest first in (created_at, id) order within a workspace.
        Index("ix_call_workspace_created", "workspace_id", "created_at", "id"),
        # The SIP edge finds a call by the dialog's Call-ID (in-dialog requests, BYE, CANCEL).
        Index("ix_call_sip_call_id", "sip_call_id"),
        # Every call worker's heartbeat looks for live calls (queued ones to claim, abandoned
        # ones to end): a partial index holds only those, however many calls have ended.
        Index(
            "ix_call_live",
            "created_at",
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE")
    )
    direction: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    # As dialled, normalised to E.164 where they parse (an extension or a SIP user may not).
    from_number: Mapped[str] = mapped_column(String(64))
    to_number: Mapped[str] = mapped_column(String(64))
    # A call record outlives the number and the agent it touched: their ids become null.
    phone_number_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("phone_number.id", ondelete="SET NULL"), index=True
    )
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agent.id", ondelete="SET NULL"), index=True
    )
    # How the number reached the agent: trunk | connection | pbx | provision, and that row's id.
    via_kind: Mapped[str | None] = mapped_column(String(16))
    via_id: Mapped[uuid.UUID | None] = mapped_column()
    sip_call_id: Mapped[str | None] = mapped_column(String(255))
    sip_code: Mapped[int | None] = mapped_column(Integer)
    sip_reason: Mapped[str | None] = mapped_column(String(255))
    rejected_by: Mapped[str | None] = mapped_column(String(32))
    end_reason: Mapped[str | None] = mapped_column(String(32))
    hangup_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    worker_id: Mapped[str | None] = mapped_column(String(64))
    media: Mapped[dict[str, Any]] = mapped_column(JSON)
    custom_parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    # An outbound call's INVITE as the API decided it (call.control.OutboundPlan, no secrets):
    # a call worker in another process claims the queued call and sends exactly this.
    dial_plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CallEvent(IdMixin, Base):
    """One step of a call's timeline (INVITE received, a routing check, answered, hang-up …)."""

    __tablename__ = "call_event"
    __table_args__ = (Index("ix_call_event_call_at", "call_id", "at"),)

    call_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class CallLease(IdMixin, Base):
    """A live call holding one channel of its line (docs/calls.md §6).

    One row per live call, refreshed by its worker's heartbeat: limits are a count of unexpired
    rows, so a crashed worker's calls stop counting once their leases expire (no counter to
    drift). The *line* is the number's inventory row, or — for a number only a SIP connection
    or PBX connector holds (stored verbatim, not in the inventory) — that connection or
    connector: hence no foreign key. A deleted line's leases end with their calls.
    """

    __tablename__ = "call_lease"
    __table_args__ = (Index("ix_call_lease_line_expires", "line_id", "expires_at"),)

    call_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("call.id", ondelete="CASCADE"), unique=True
    )
    line_id: Mapped[uuid.UUID] = mapped_column()
    direction: Mapped[str] = mapped_column(String(16))
    worker_id: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
