"""The SQLite database and its WAL/SHM files are private to the user running Trunkline."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from trunkline.config import Settings
from trunkline.db import create_engine
from trunkline.kit.private_files import make_private_sqlite, sqlite_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite+aiosqlite:////var/lib/t/trunkline.db", Path("/var/lib/t/trunkline.db")),
        ("sqlite:///relative.db", Path("relative.db")),
        ("sqlite+aiosqlite:///:memory:", None),
        ("sqlite+aiosqlite://", None),
        ("postgresql+asyncpg://u@h/db", None),
    ],
)
def test_sqlite_file(url: str, expected: Path | None) -> None:
    assert sqlite_file(url) == expected


async def test_database_and_wal_created_0600_under_a_lax_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        settings = Settings(data_dir=tmp_path / "data", _env_file=None)
        engine = create_engine(settings)
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        files = sorted((tmp_path / "data").glob("trunkline.db*"))
        modes = {p.name: mode(p) for p in files}
        await engine.dispose()
    finally:
        os.umask(old)

    assert {"trunkline.db", "trunkline.db-wal", "trunkline.db-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_existing_world_readable_files_are_tightened(tmp_path: Path) -> None:
    db = tmp_path / "trunkline.db"
    for path in (db, tmp_path / "trunkline.db-wal"):
        path.write_bytes(b"")
        path.chmod(0o644)

    make_private_sqlite(f"sqlite+aiosqlite:///{db}")

    assert mode(db) == 0o600 and mode(tmp_path / "trunkline.db-wal") == 0o600
