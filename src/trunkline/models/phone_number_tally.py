from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from trunkline.models.base import Base


class PhoneNumberTally(Base):
    """How many phone_number rows a workspace has per (source, status): the exact list totals
    without counting 100,000 index entries per request.

    Database triggers on ``phone_number`` keep it (migration ``phone_number_tally``), in the
    same transaction as the rows it counts, whoever writes them. A workspace's count is spread
    over ``slot`` rows (PostgreSQL: 16, by a hash of the number's id) so concurrent inserts of
    one workspace do not queue on one hot row; the total is their sum. SQLite serializes
    writers anyway and uses slot 0.
    """

    __tablename__ = "phone_number_tally"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
