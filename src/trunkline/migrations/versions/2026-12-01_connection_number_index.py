"""connection_number_index: a connection's number indexed across workspaces

Every INVITE reads the call sources of the dialled number across workspaces (binding/routes.py).
Trunk rows, provisioned numbers and PBX connectors are found by their number's index; SIP
connections were scanned (their number was indexed only after the workspace), which kept the
whole read off SQLite's loop thread: a worker round trip per INVITE. Partial: most connections
hold no number of their own.

Revision ID: 2790b4debbaf
Revises: 7b3e9d1c4a52
Create Date: 2026-12-01 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2790b4debbaf"
down_revision: str | None = "7b3e9d1c4a52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    where = sa.text("phone_number_e164 IS NOT NULL")
    with op.batch_alter_table("sip_connection", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sip_connection_phone_number_e164",
            ["phone_number_e164"],
            unique=False,
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    with op.batch_alter_table("sip_connection", schema=None) as batch_op:
        batch_op.drop_index("ix_sip_connection_phone_number_e164")
