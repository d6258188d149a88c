"""agent profile: description, language, timezone and settings, so an agent is the whole object
the upstream API returns (docs/api-decisions.md §6.3)

Revision ID: 7b3e9d1c4a52
Revises: 8c4f0a52d1b3
Create Date: 2026-12-01 13:20:00

Existing agents get the same defaults as new ones.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7b3e9d1c4a52"
down_revision: str | None = "8c4f0a52d1b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.add_column(sa.Column("description", sa.Text(), server_default="", nullable=False))
        batch.add_column(
            sa.Column("language", sa.String(length=35), server_default="en", nullable=False)
        )
        batch.add_column(
            sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False)
        )
        batch.add_column(
            sa.Column("settings", sa.JSON(), server_default=sa.text("'{}'"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        for column in ("settings", "timezone", "language", "description"):
            batch.drop_column(column)
