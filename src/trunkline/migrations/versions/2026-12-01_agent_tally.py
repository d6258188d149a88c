"""agent_tally: the exact agent list total kept by triggers in the rows' own transaction

Revision ID: c00198c6ac07
Revises: 7b3e9d1c4a52
Create Date: 2026-12-01 16:30:00

As phone_number_tally (2026-12-01_phone_number_tally.py): triggers per dialect, a portable
table; on PostgreSQL a workspace's count is spread over 16 slot rows by a hash of the agent's id.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c00198c6ac07"
down_revision: str | None = "7b3e9d1c4a52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE = [
    """INSERT INTO agent_tally (workspace_id, slot, n)
    SELECT workspace_id, 0, count(*) FROM agent GROUP BY workspace_id""",
    """CREATE TRIGGER agent_tally_insert AFTER INSERT ON agent BEGIN
        INSERT INTO agent_tally (workspace_id, slot, n) VALUES (NEW.workspace_id, 0, 1)
        ON CONFLICT (workspace_id, slot) DO UPDATE SET n = n + 1;
    END""",
    """CREATE TRIGGER agent_tally_delete AFTER DELETE ON agent BEGIN
        UPDATE agent_tally SET n = n - 1 WHERE workspace_id = OLD.workspace_id AND slot = 0;
    END""",
]

# PostgreSQL: slot = (hashtext(id::text) & 15), so an agent's +1 and -1 meet in one row.
_POSTGRES = [
    """INSERT INTO agent_tally (workspace_id, slot, n)
    SELECT workspace_id, hashtext(id::text) & 15, count(*) FROM agent
    GROUP BY workspace_id, hashtext(id::text) & 15""",
    """CREATE FUNCTION agent_tally() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            UPDATE agent_tally SET n = n - 1 WHERE workspace_id = OLD.workspace_id
                AND slot = hashtext(OLD.id::text) & 15;
        ELSE
            INSERT INTO agent_tally (workspace_id, slot, n)
            VALUES (NEW.workspace_id, hashtext(NEW.id::text) & 15, 1)
            ON CONFLICT (workspace_id, slot) DO UPDATE SET n = agent_tally.n + 1;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER agent_tally_insert_delete AFTER INSERT OR DELETE ON agent
    FOR EACH ROW EXECUTE FUNCTION agent_tally()""",
]


def upgrade() -> None:
    op.create_table(
        "agent_tally",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_agent_tally_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "slot", name=op.f("pk_agent_tally")),
    )
    # The backfill, then the triggers: from here on every write of agent keeps the tally.
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES if postgres else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER agent_tally_insert_delete ON agent")
        op.execute("DROP FUNCTION agent_tally()")
    else:
        op.execute("DROP TRIGGER agent_tally_insert")
        op.execute("DROP TRIGGER agent_tally_delete")
    op.drop_table("agent_tally")
