"""Watching the SQL the process runs (the served app's engine included: it runs in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from trunkline.workspace.service import workspace_service


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine of this process runs inside the block.

    The served app's token cache is emptied first, so the block's first request reads its
    token: whether an entry (0.5 s, AuthCache) is still alive must not change what two blocks
    that a test compares count, however slow the machine.
    """
    workspace_service.auth_cache.clear()
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)
