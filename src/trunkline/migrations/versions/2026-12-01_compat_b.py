"""compat_b: workspace currency, purchase compliance data, the SMS outbox

Revision ID: 7b3e9d41c2a8
Revises: 5c1d7e2a9b40
Create Date: 2026-12-01 13:10:00

- ``workspace.currency``: the ISO 4217 currency of a workspace's prices, rates and bills
  (existing workspaces get EUR, the default).
- ``phone_number.address`` / ``phone_number.requirements``: what a buy request supplied for
  compliance, as sent.
- ``sms_message``: SMS sent by agents through the number provider (the sandbox's outbox).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trunkline.models.base

revision: str = "7b3e9d41c2a8"
down_revision: str | None = "5c1d7e2a9b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "workspace",
        sa.Column("currency", sa.String(length=3), server_default="EUR", nullable=False),
    )
    op.add_column("phone_number", sa.Column("address", sa.JSON(), nullable=True))
    op.add_column("phone_number", sa.Column("requirements", sa.JSON(), nullable=True))
    op.create_table(
        "sms_message",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_message_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", trunkline.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_sms_message_agent_id_agent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_sms_message_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_message")),
    )
    op.create_index(op.f("ix_sms_message_agent_id"), "sms_message", ["agent_id"])
    op.create_index(
        "ix_sms_message_workspace_created", "sms_message", ["workspace_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_sms_message_workspace_created", table_name="sms_message")
    op.drop_index(op.f("ix_sms_message_agent_id"), table_name="sms_message")
    op.drop_table("sms_message")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy of phone_number would
    # drop its tally triggers.
    op.drop_column("phone_number", "requirements")
    op.drop_column("phone_number", "address")
    op.drop_column("workspace", "currency")
