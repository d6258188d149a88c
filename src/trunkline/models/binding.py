from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trunkline.kit.clock import utcnow
from trunkline.models.base import Base, IdMixin, UTCDateTime


class Binding(IdMixin, Base):
    """Which agent answers a (number, channel). The unique constraints are the race backstop:

    - one agent per (number, channel);
    - one number per (agent, channel).
    """

    __tablename__ = "binding"
    __table_args__ = (
        UniqueConstraint("phone_number_id", "channel"),
        UniqueConstraint("agent_id", "channel"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    phone_number_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("phone_number.id", ondelete="CASCADE")
    )
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # call | sms | whatsapp
    kind: Mapped[str] = mapped_column(String(16))  # trunk | provision
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
