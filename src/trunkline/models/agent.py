from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from trunkline.models.base import Base, IdMixin, TimestampMixin


class Agent(IdMixin, TimestampMixin, Base):
    __tablename__ = "agent"
    __table_args__ = (Index("ix_agent_workspace_created", "workspace_id", "created_at", "id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="active")
    # The rest of the upstream API's agent object (docs/api-decisions.md §6.3): kept and shown,
    # not used by routing.
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    language: Mapped[str] = mapped_column(String(35), default="en", server_default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    settings: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
    # Where Trunkline connects for each answered call (docs/calls.md §2), and the bearer token
    # it sends there: a kit.crypto ciphertext sealed to this row and column, never plaintext.
    stream_url: Mapped[str | None] = mapped_column(String(2048))
    stream_auth_token_secret: Mapped[str | None] = mapped_column(Text)
