from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from trunkline.kit.clock import utcnow
from trunkline.models.base import Base, IdMixin, TimestampMixin, UTCDateTime, not_null_index
from trunkline.models.sip_status import SipStatusMixin


class SipConnection(IdMixin, TimestampMixin, SipStatusMixin, Base):
    """A SIP account at a provider, attachable to agents' call channels (docs/api-decisions.md
    §4.4)."""

    __tablename__ = "sip_connection"
    __table_args__ = (
        Index("ix_sip_connection_workspace_created", "workspace_id", "created_at", "id"),
        Index("ix_sip_connection_workspace_e164", "workspace_id", "phone_number_e164"),
        not_null_index("sip_connection", "secondary_gateway"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    phone_number: Mapped[str] = mapped_column(String(32))  # verbatim
    phone_number_e164: Mapped[str | None] = mapped_column(String(16))  # for comparisons
    gateway: Mapped[str] = mapped_column(String(255), index=True)
    secondary_gateway: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=5060)
    transport: Mapped[str] = mapped_column(String(8), default="udp")
    register: Mapped[bool] = mapped_column(Boolean, default=True)
    username_secret: Mapped[str] = mapped_column(Text)
    password_secret: Mapped[str] = mapped_column(Text)


class SipConnectionAssignment(IdMixin, Base):
    """A connection attached to an agent's call channel; several agents only with force."""

    __tablename__ = "sip_connection_assignment"
    __table_args__ = (UniqueConstraint("connection_id", "agent_id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sip_connection.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agent.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
