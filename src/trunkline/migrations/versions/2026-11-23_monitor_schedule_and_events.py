"""monitor_schedule_and_events

Revision ID: 9e8b6b002fc8
Revises: 13e5e2a9a778
Create Date: 2026-11-23 12:02:33.992284
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trunkline.models.base

revision: str = "9e8b6b002fc8"
down_revision: str | None = "13e5e2a9a778"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "sip_status_event",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("created_at", trunkline.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_sip_status_event_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sip_status_event")),
    )
    with op.batch_alter_table("sip_status_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sip_status_event_target", ["target_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sip_status_event_workspace_id"), ["workspace_id"], unique=False
        )

    with op.batch_alter_table("pbx_connector", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "next_check_at",
                trunkline.models.base.UTCDateTime(timezone=True),
                server_default=sa.text("CURRENT_TIMESTAMP"),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "lease_until", trunkline.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("check_misses", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_pbx_connector_next_check_at"), ["next_check_at"], unique=False
        )

    with op.batch_alter_table("sip_connection", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "next_check_at",
                trunkline.models.base.UTCDateTime(timezone=True),
                server_default=sa.text("CURRENT_TIMESTAMP"),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "lease_until", trunkline.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("check_misses", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_sip_connection_next_check_at"), ["next_check_at"], unique=False
        )

    with op.batch_alter_table("trunk", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "next_check_at",
                trunkline.models.base.UTCDateTime(timezone=True),
                server_default=sa.text("CURRENT_TIMESTAMP"),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "lease_until", trunkline.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("check_misses", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_trunk_next_check_at"), ["next_check_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("trunk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trunk_next_check_at"))
        batch_op.drop_column("check_misses")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
        batch_op.drop_column("next_check_at")

    with op.batch_alter_table("sip_connection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sip_connection_next_check_at"))
        batch_op.drop_column("check_misses")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
        batch_op.drop_column("next_check_at")

    with op.batch_alter_table("pbx_connector", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pbx_connector_next_check_at"))
        batch_op.drop_column("check_misses")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
        batch_op.drop_column("next_check_at")

    with op.batch_alter_table("sip_status_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sip_status_event_workspace_id"))
        batch_op.drop_index("ix_sip_status_event_target")

    op.drop_table("sip_status_event")
