"""call_live_index: live calls found through a partial index

Every call worker's heartbeat asks for live calls: queued outbound calls to claim, and calls
whose lease expired to end as abandoned. Without an index both read every call ever made.

Revision ID: 9d2e6b7a4c10
Revises: c00198c6ac07
Create Date: 2026-12-01 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d2e6b7a4c10"
down_revision: str | None = "c00198c6ac07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    live = sa.text("ended_at IS NULL")
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.create_index(
            "ix_call_live", ["created_at"], unique=False, sqlite_where=live, postgresql_where=live
        )


def downgrade() -> None:
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_index("ix_call_live")
