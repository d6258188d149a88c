from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trunkline.models.base import Base, IdMixin, TimestampMixin, not_null_index
from trunkline.models.sip_status import SipStatusMixin


class PbxConnector(IdMixin, TimestampMixin, SipStatusMixin, Base):
    """Trunkline registered as an agent's extension on a customer PBX.

    See docs/api-decisions.md §4.6."""

    __tablename__ = "pbx_connector"
    __table_args__ = (
        Index("ix_pbx_connector_workspace_created", "workspace_id", "created_at", "id"),
        Index("ix_pbx_connector_workspace_number", "workspace_id", "phone_number"),
        not_null_index("pbx_connector", "allowed_ip"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agent.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    phone_number: Mapped[str] = mapped_column(String(16), index=True)  # E.164
    registrar_server: Mapped[str] = mapped_column(String(255), index=True)
    port: Mapped[int] = mapped_column(Integer)
    connection_type: Mapped[str] = mapped_column(String(8), default="udp")
    setup_mode: Mapped[str] = mapped_column(String(16), default="both")
    username_extension: Mapped[str] = mapped_column(String(255))
    pbx_password_secret: Mapped[str] = mapped_column(Text)
    auth_username: Mapped[str | None] = mapped_column(String(255))
    auth_password_secret: Mapped[str | None] = mapped_column(Text)
    allowed_ip: Mapped[str | None] = mapped_column(String(64))
    normalizer: Mapped[dict[str, Any]] = mapped_column(JSON)
