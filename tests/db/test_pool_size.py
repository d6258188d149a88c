"""The connection pool's size by database: SQLite's default is smaller (db/engine.py says why)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.pool import QueuePool

from trunkline.config import DatabaseSettings, Settings
from trunkline.db import create_engine
from trunkline.db.engine import PG_POOL_SIZE, SQLITE_POOL_SIZE

SQLITE = "sqlite+aiosqlite:///{dir}/pool.db"
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/unused"  # no connection is opened


@pytest.mark.parametrize(
    ("url", "setting", "expected"),
    [
        (SQLITE, None, SQLITE_POOL_SIZE),
        (POSTGRES, None, PG_POOL_SIZE),
        (SQLITE, 12, 12),  # an explicit setting wins on either database
        (POSTGRES, 3, 3),
    ],
)
async def test_pool_size_and_overflow(
    tmp_path: Path, url: str, setting: int | None, expected: int
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=url.format(dir=tmp_path),
        db=DatabaseSettings(pool_size=setting),
    )
    engine = create_engine(settings)
    try:
        pool = engine.sync_engine.pool
        assert isinstance(pool, QueuePool)
        assert pool.size() == expected
        assert pool._max_overflow == expected  # as many again may overflow
    finally:
        await engine.dispose()


def test_sqlite_default_is_the_smaller_one() -> None:
    assert SQLITE_POOL_SIZE < PG_POOL_SIZE
