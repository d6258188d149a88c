"""The migrations build exactly the schema the models declare (Alembic's autogenerate compare
against the suite's migrated database: SQLite, or PostgreSQL under TRUNKLINE_TEST_DATABASE_URL).

A model change without its migration (or a migration the models do not follow) fails here,
naming every difference, instead of surfacing as a broken upgrade in production.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from trunkline.models import Base


def _diff(metadata: MetaData) -> Any:
    def compare(conn: Connection) -> Any:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)

    return compare


async def test_the_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        differences = await conn.run_sync(_diff(Base.metadata))
    assert differences == []


async def test_the_compare_sees_a_model_without_its_migration(engine: AsyncEngine) -> None:
    """The check itself: a column the migrations never added is reported."""
    metadata = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    Table("agent", metadata, Column("nickname", String(32)), extend_existing=True)
    Table("not_migrated", metadata, Column("id", Integer, primary_key=True))
    async with engine.connect() as conn:
        differences = await conn.run_sync(_diff(metadata))
    ops = {(d[0], getattr(d[-1], "name", None)) for d in differences if isinstance(d, tuple)}
    assert ("add_column", "nickname") in ops, differences
    assert ("add_table", "not_migrated") in ops, differences
