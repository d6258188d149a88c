"""Small helpers shared by repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_ignoring_conflicts(session: AsyncSession, table: Any) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's dialect.

    Repositories use it where a unique constraint is the race backstop: a zero rowcount means
    another transaction holds the key, which the caller turns into the matching 409 by looking
    the holder up — never by parsing a driver's error text.
    """
    if dialect_name(session) == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def dialect_name(session: AsyncSession) -> str:
    """``postgresql`` or ``sqlite``: the few places that need dialect-specific SQL ask this."""
    return str(session.get_bind().dialect.name)
