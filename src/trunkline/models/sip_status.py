from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from trunkline.kit.clock import utcnow
from trunkline.kit.sip_status import SipStatus
from trunkline.models.base import Base, IdMixin, UTCDateTime


class SipStatusMixin:
    """Live SIP health written by the monitor (docs/api-decisions.md §4.4 ``status``), and its
    schedule.

    ``next_check_at`` says when the target is due; a monitor instance claims due rows by setting
    ``lease_owner``/``lease_until`` and advancing ``next_check_at`` in one statement, so several
    instances on one database never check the same target twice in an interval.
    """

    status: Mapped[str] = mapped_column(String(16), default=SipStatus.pending)
    status_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_check_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    check_misses: Mapped[int] = mapped_column(Integer, default=0)


class SipStatusEvent(IdMixin, Base):
    """A status change of a monitored target (connection, trunk row or PBX connector)."""

    __tablename__ = "sip_status_event"
    __table_args__ = (Index("ix_sip_status_event_target", "target_id", "created_at"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    target_kind: Mapped[str] = mapped_column(String(16))  # kit.sip_status.TargetKind
    target_id: Mapped[uuid.UUID] = mapped_column()
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
