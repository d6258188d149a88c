"""inbound_route_indexes: the inbound facts read finds its rows through indexes

Every INVITE reads the call sources of the dialled number across workspaces, and asks "is the
caller any call source's gateway" (binding/routes.py). The number columns were indexed only
after the workspace, and the gateway columns not at all: both questions scanned every number,
trunk, connection and connector (100,000 bindings and trunks per INVITE with 100,000 numbers;
an INVITE from an unknown address, a scanner's, paid the most).

Revision ID: 7b3e9d41c2a8
Revises: 5c1d7e2a9b40
Create Date: 2026-12-01 13:25:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7b3e9d41c2a8"
down_revision: str | None = "5c1d7e2a9b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("phone_number", "number"),
    ("sip_connection", "phone_number_e164"),
    ("pbx_connector", "phone_number"),
    ("trunk", "sip_gateway"),
    ("trunk", "sip_secondary_gateway"),
    ("sip_connection", "gateway"),
    ("sip_connection", "secondary_gateway"),
    ("pbx_connector", "registrar_server"),
    ("pbx_connector", "allowed_ip"),
)


def upgrade() -> None:
    for table, column in _INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_{column}", [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_{column}")
