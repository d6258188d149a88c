from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trunkline.kit.clock import utcnow
from trunkline.models.base import Base, IdMixin, UTCDateTime


class SmsMessage(IdMixin, Base):
    """One SMS a workspace's agent sent through the number provider (the sandbox's outbox)."""

    __tablename__ = "sms_message"
    # The outbox lists newest first within a workspace.
    __table_args__ = (
        Index("ix_sms_message_workspace_created", "workspace_id", "created_at", "id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    # The message outlives its agent (SET NULL): what was sent stays on record.
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agent.id", ondelete="SET NULL"), index=True
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column()
    sender: Mapped[str] = mapped_column(String(16))  # E.164: the agent's SMS number
    recipient: Mapped[str] = mapped_column(String(16))  # E.164
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # SmsStatus
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
