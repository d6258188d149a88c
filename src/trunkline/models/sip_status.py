from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from trunkline.models.base import UTCDateTime


class SipStatusMixin:
    """Live SIP health, written by the monitor (contract §4.4 `status`)."""

    status: Mapped[str] = mapped_column(String(16), default="pending")
    status_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
