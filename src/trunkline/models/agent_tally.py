from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from trunkline.models.base import Base


class AgentTally(Base):
    """How many agent rows a workspace has: the exact total of GET /agents without counting
    100,000 index entries per request (the count was ~5 ms of CPU on SQLite, more than the rest
    of a page).

    Database triggers on ``agent`` keep it (migration ``agent_tally``), in the same transaction
    as the rows it counts, as ``phone_number_tally`` does for numbers: PostgreSQL spreads a
    workspace's count over 16 ``slot`` rows (a hash of the agent's id) so concurrent creates do
    not queue on one hot row; SQLite serializes writers anyway and uses slot 0.
    """

    __tablename__ = "agent_tally"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
