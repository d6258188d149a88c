"""phone_number_tally: exact inventory totals kept by triggers in the rows' own transaction

Revision ID: 5c1d7e2a9b40
Revises: 5a1d3c7e9b20
Create Date: 2026-12-01 10:58:00

Triggers are written per dialect (SQLite and PostgreSQL trigger languages differ); the table
itself is portable. On PostgreSQL a workspace's count is spread over 16 slot rows, picked by a
hash of the number's id, so concurrent inserts of one workspace rarely wait on the same row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1d7e2a9b40"
down_revision: str | None = "5a1d3c7e9b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite admits one writer at a time: one slot (0) per (workspace, source, status).
_SQLITE = [
    """INSERT INTO phone_number_tally (workspace_id, source, status, slot, n)
    SELECT workspace_id, source, status, 0, count(*) FROM phone_number
    GROUP BY workspace_id, source, status""",
    """CREATE TRIGGER phone_number_tally_insert AFTER INSERT ON phone_number BEGIN
        INSERT INTO phone_number_tally (workspace_id, source, status, slot, n)
        VALUES (NEW.workspace_id, NEW.source, NEW.status, 0, 1)
        ON CONFLICT (workspace_id, source, status, slot) DO UPDATE SET n = n + 1;
    END""",
    """CREATE TRIGGER phone_number_tally_delete AFTER DELETE ON phone_number BEGIN
        UPDATE phone_number_tally SET n = n - 1 WHERE workspace_id = OLD.workspace_id
            AND source = OLD.source AND status = OLD.status AND slot = 0;
    END""",
    """CREATE TRIGGER phone_number_tally_update AFTER UPDATE OF source, status ON phone_number
    WHEN OLD.source IS NOT NEW.source OR OLD.status IS NOT NEW.status BEGIN
        UPDATE phone_number_tally SET n = n - 1 WHERE workspace_id = OLD.workspace_id
            AND source = OLD.source AND status = OLD.status AND slot = 0;
        INSERT INTO phone_number_tally (workspace_id, source, status, slot, n)
        VALUES (NEW.workspace_id, NEW.source, NEW.status, 0, 1)
        ON CONFLICT (workspace_id, source, status, slot) DO UPDATE SET n = n + 1;
    END""",
]

# PostgreSQL: slot = (hashtext(id::text) & 15), so a number's +1 and -1 meet in one row.
_POSTGRES = [
    """INSERT INTO phone_number_tally (workspace_id, source, status, slot, n)
    SELECT workspace_id, source, status, hashtext(id::text) & 15, count(*) FROM phone_number
    GROUP BY workspace_id, source, status, hashtext(id::text) & 15""",
    """CREATE FUNCTION phone_number_tally() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE phone_number_tally SET n = n - 1 WHERE workspace_id = OLD.workspace_id
                AND source = OLD.source AND status = OLD.status
                AND slot = hashtext(OLD.id::text) & 15;
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            INSERT INTO phone_number_tally (workspace_id, source, status, slot, n)
            VALUES (NEW.workspace_id, NEW.source, NEW.status, hashtext(NEW.id::text) & 15, 1)
            ON CONFLICT (workspace_id, source, status, slot)
            DO UPDATE SET n = phone_number_tally.n + 1;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER phone_number_tally_insert_delete AFTER INSERT OR DELETE ON phone_number
    FOR EACH ROW EXECUTE FUNCTION phone_number_tally()""",
    """CREATE TRIGGER phone_number_tally_update AFTER UPDATE OF source, status ON phone_number
    FOR EACH ROW WHEN (OLD.source IS DISTINCT FROM NEW.source
        OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION phone_number_tally()""",
]


def upgrade() -> None:
    op.create_table(
        "phone_number_tally",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_phone_number_tally_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "source", "status", "slot", name=op.f("pk_phone_number_tally")
        ),
    )
    # The backfill, then the triggers: from here on every write of phone_number keeps the tally.
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES if postgres else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER phone_number_tally_update ON phone_number")
        op.execute("DROP TRIGGER phone_number_tally_insert_delete ON phone_number")
        op.execute("DROP FUNCTION phone_number_tally()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER phone_number_tally_{name}")
    op.drop_table("phone_number_tally")
