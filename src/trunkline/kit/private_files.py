"""Keeping the SQLite database private to the user that runs Trunkline.

The database holds ciphertexts, token hashes and every tenant's numbers: no other local user
needs to read it. SQLite creates its ``-wal`` and ``-shm`` files with the permissions of the
database file, so creating that file 0600 (before SQLite does, under whatever umask) covers all
three; an existing file is tightened, with its companions, each time the engine is created.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_COMPANIONS = ("", "-wal", "-shm", "-journal")


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory ones."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_private_sqlite(url: str) -> None:
    """Create the SQLite file 0600 if missing (its directory 0700 if missing); tighten it and
    its WAL/SHM/journal files if a group or other permission bit is set."""
    path = sqlite_file(url)
    if path is None:
        return
    if not path.parent.exists():
        path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    for suffix in _COMPANIONS:
        companion = path.with_name(path.name + suffix)
        try:
            mode = stat.S_IMODE(companion.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            companion.chmod(mode & 0o700)
