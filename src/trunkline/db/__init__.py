"""Everything that knows which database it runs on: engine, sessions, the SQLite and
PostgreSQL drivers, the write gate, locks, and statement helpers. Domain code imports from here
only the session scope, ``key_read``, ``insert_ignoring_conflicts``, ``insert_new`` and the
locks; it never asks the dialect.
"""

from trunkline.db.engine import create_engine, create_sessionmaker, ping, session_scope
from trunkline.db.locks import lock_keys, lock_workspace
from trunkline.db.statements import insert_ignoring_conflicts, insert_new, key_read

__all__ = [
    "create_engine",
    "create_sessionmaker",
    "insert_ignoring_conflicts",
    "insert_new",
    "key_read",
    "lock_keys",
    "lock_workspace",
    "ping",
    "session_scope",
]
