from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from trunkline.kit.clock import utcnow
from trunkline.kit.currency import DEFAULT_CURRENCY
from trunkline.models.base import Base, IdMixin, UTCDateTime


class Workspace(IdMixin, Base):
    __tablename__ = "workspace"

    slug: Mapped[str] = mapped_column(String(63), unique=True)
    # ISO 4217: what the workspace's prices, rates and bills are in (kit/currency.py).
    currency: Mapped[str] = mapped_column(
        String(3), default=DEFAULT_CURRENCY, server_default=DEFAULT_CURRENCY
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiToken(IdMixin, Base):
    __tablename__ = "api_token"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    # SHA-256 of the token: tokens carry ≥256 bits of entropy, so a fast hash is safe here.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(255))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
