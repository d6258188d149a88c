from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trunkline.models.base import Base, IdMixin, TimestampMixin, not_null_index
from trunkline.models.sip_status import SipStatusMixin


class Trunk(IdMixin, TimestampMixin, SipStatusMixin, Base):
    """An external trunk row: one per (number, channel), channel ∈ {call, whatsapp}."""

    __tablename__ = "trunk"
    __table_args__ = (
        UniqueConstraint("phone_number_id", "channel"),
        not_null_index("trunk", "sip_gateway"),
        not_null_index("trunk", "sip_secondary_gateway"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    phone_number_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("phone_number.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    direction: Mapped[str] = mapped_column(String(16), default="both")
    sip_gateway: Mapped[str | None] = mapped_column(String(255))
    sip_port: Mapped[int | None] = mapped_column(Integer)
    sip_secondary_gateway: Mapped[str | None] = mapped_column(String(255))
    sip_transport: Mapped[str | None] = mapped_column(String(8))
    # Ciphertexts from kit.crypto (never plaintext); the read side only sees has_* flags.
    sip_username_secret: Mapped[str | None] = mapped_column(Text)
    sip_password_secret: Mapped[str | None] = mapped_column(Text)
    additional_settings: Mapped[dict[str, Any]] = mapped_column(JSON)
