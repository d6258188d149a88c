"""The call tables and the agent's stream columns as the migration creates them match the
models exactly (on the suite's database: SQLite or PostgreSQL)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from trunkline.models import Base

TABLES = {"call", "call_event", "call_lease", "agent"}


def _table_of(diff: Any) -> str | None:
    """The table a compare_metadata entry is about (entries are tuples, or lists of them)."""
    entry = diff[0] if isinstance(diff, list) else diff
    for part in entry[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else part
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if isinstance(name, str) and name in TABLES:
            return name
    return None


async def test_migration_matches_the_models(engine: AsyncEngine) -> None:
    def compare(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        diffs = await conn.run_sync(compare)

    assert [d for d in diffs if _table_of(d) in TABLES] == []
