"""phone_number_created_index: index-backed (created_at, id) paging of a workspace's inventory

Revision ID: fefd538d1bbd
Revises: 9e8b6b002fc8
Create Date: 2026-11-23 12:03:43.505177
"""

from collections.abc import Sequence

from alembic import op

revision: str = "fefd538d1bbd"
down_revision: str | None = "9e8b6b002fc8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("phone_number", schema=None) as batch_op:
        batch_op.create_index(
            "ix_phone_number_workspace_created", ["workspace_id", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("phone_number", schema=None) as batch_op:
        batch_op.drop_index("ix_phone_number_workspace_created")
