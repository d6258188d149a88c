"""inbound_route_indexes: the inbound facts read finds its rows through indexes

Every INVITE reads the call sources of the dialled number across workspaces, and asks "is the
caller any call source's gateway" (binding/routes.py). The number columns were indexed only
after the workspace, and the gateway columns not at all: both questions scanned every number,
trunk and connector (100,000 bindings and trunks per INVITE with 100,000 numbers;
an INVITE from an unknown address, a scanner's, paid the most).

Revision ID: 8c4f0a52d1b3
Revises: 7b3e9d41c2a8
Create Date: 2026-12-01 13:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8c4f0a52d1b3"
down_revision: str | None = "7b3e9d41c2a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, partial): a partial index covers only the rows where the column is set —
# secondary gateways and allowed IPs are mostly NULL, and a full index of them makes a planner
# with statistics scan the table instead.
_INDEXES = (
    ("phone_number", "number", False),
    ("pbx_connector", "phone_number", False),
    ("trunk", "sip_gateway", True),
    ("trunk", "sip_secondary_gateway", True),
    ("sip_connection", "gateway", False),
    ("sip_connection", "secondary_gateway", True),
    ("pbx_connector", "registrar_server", False),
    ("pbx_connector", "allowed_ip", True),
)


def upgrade() -> None:
    for table, column, partial in _INDEXES:
        where = sa.text(f"{column} IS NOT NULL") if partial else None
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                f"ix_{table}_{column}",
                [column],
                unique=False,
                sqlite_where=where,
                postgresql_where=where,
            )


def downgrade() -> None:
    for table, column, _ in reversed(_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_{column}")
