"""list_index: source-filtered lists (the trunks list) page and count from one index alone

Revision ID: fee92400d5d6
Revises: fefd538d1bbd
Create Date: 2026-11-23 12:59:47.590282
"""

from collections.abc import Sequence

from alembic import op

revision: str = "fee92400d5d6"
down_revision: str | None = "fefd538d1bbd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("phone_number", schema=None) as batch_op:
        batch_op.create_index(
            "ix_phone_number_workspace_source_created",
            ["workspace_id", "source", "created_at", "id", "status"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("phone_number", schema=None) as batch_op:
        batch_op.drop_index("ix_phone_number_workspace_source_created")
