from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trunkline.models.base import Base, IdMixin, TimestampMixin, UTCDateTime


class PhoneNumber(IdMixin, TimestampMixin, Base):
    """A number in a workspace's inventory: purchased through the provider, or external (BYO)."""

    __tablename__ = "phone_number"
    __table_args__ = (
        UniqueConstraint("workspace_id", "number"),
        Index("ix_phone_number_workspace_source_number", "workspace_id", "source", "number"),
        # Every inventory list pages in (created_at, id) order within a workspace.
        Index("ix_phone_number_workspace_created", "workspace_id", "created_at", "id"),
        # Lists filtered by source (the trunks list: external + active) page and count from this
        # index alone; status trails so its filter needs no table lookup either.
        Index(
            "ix_phone_number_workspace_source_created",
            "workspace_id",
            "source",
            "created_at",
            "id",
            "status",
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(16), index=True)  # E.164
    country_code: Mapped[str] = mapped_column(String(2))
    location: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16), default="unknown")
    source: Mapped[str] = mapped_column(String(16))  # purchased | external
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | released
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSON)
    channel_settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    monthly_fee: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    compliance: Mapped[dict[str, Any]] = mapped_column(JSON)
    # What the buy request supplied for compliance, as sent (docs/api-decisions.md §6.7).
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    requirements: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    purchased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_external(self) -> bool:
        return self.source == "external"
