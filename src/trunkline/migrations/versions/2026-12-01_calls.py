"""calls: call records, call events, call leases; the agent's stream URL and token

Revision ID: 2026_12_01_calls
Revises: fee92400d5d6
Create Date: 2026-12-01 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trunkline.models.base

revision: str = "2026_12_01_calls"
down_revision: str | None = "fee92400d5d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stream_url", sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column("stream_auth_token_secret", sa.Text(), nullable=True))

    op.create_table(
        "call",
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("from_number", sa.String(length=64), nullable=False),
        sa.Column("to_number", sa.String(length=64), nullable=False),
        sa.Column("phone_number_id", sa.Uuid(), nullable=True),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("via_kind", sa.String(length=16), nullable=True),
        sa.Column("via_id", sa.Uuid(), nullable=True),
        sa.Column("sip_call_id", sa.String(length=255), nullable=True),
        sa.Column("sip_code", sa.Integer(), nullable=True),
        sa.Column("sip_reason", sa.String(length=255), nullable=True),
        sa.Column("rejected_by", sa.String(length=32), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column(
            "hangup_requested_at",
            trunkline.models.base.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("worker_id", sa.String(length=64), nullable=True),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("custom_parameters", sa.JSON(), nullable=False),
        sa.Column("dial_plan", sa.JSON(), nullable=True),
        sa.Column("created_at", trunkline.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", trunkline.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", trunkline.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_call_agent_id_agent"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["phone_number_id"],
            ["phone_number.id"],
            name=op.f("fk_call_phone_number_id_phone_number"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_call_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call")),
    )
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.create_index(
            "ix_call_workspace_created", ["workspace_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_call_sip_call_id", ["sip_call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_call_phone_number_id"), ["phone_number_id"], unique=False
        )

    op.create_table(
        "call_event",
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("at", trunkline.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call.id"], name=op.f("fk_call_event_call_id_call"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_event")),
    )
    with op.batch_alter_table("call_event", schema=None) as batch_op:
        batch_op.create_index("ix_call_event_call_at", ["call_id", "at"], unique=False)

    op.create_table(
        "call_lease",
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("line_id", sa.Uuid(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", trunkline.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call.id"], name=op.f("fk_call_lease_call_id_call"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_lease")),
        sa.UniqueConstraint("call_id", name=op.f("uq_call_lease_call_id")),
    )
    with op.batch_alter_table("call_lease", schema=None) as batch_op:
        batch_op.create_index("ix_call_lease_line_expires", ["line_id", "expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_lease_worker_id"), ["worker_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_lease", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_lease_worker_id"))
        batch_op.drop_index("ix_call_lease_line_expires")
    op.drop_table("call_lease")

    with op.batch_alter_table("call_event", schema=None) as batch_op:
        batch_op.drop_index("ix_call_event_call_at")
    op.drop_table("call_event")

    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_phone_number_id"))
        batch_op.drop_index(batch_op.f("ix_call_agent_id"))
        batch_op.drop_index("ix_call_sip_call_id")
        batch_op.drop_index("ix_call_workspace_created")
    op.drop_table("call")

    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_column("stream_auth_token_secret")
        batch_op.drop_column("stream_url")
