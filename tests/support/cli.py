"""Run the installed ``trunkline`` console script against the test database, as an operator does."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from trunkline.config import Settings

TRUNKLINE = Path(sys.executable).with_name("trunkline")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def cli_runner(settings: Settings, cwd: Path) -> Callable[..., Awaitable[Result]]:
    """``await run("token", "create", …)``: one fresh ``trunkline`` process on the test DB.
    ``keys=`` runs that one process with other encryption keys (``trunkline keys rotate``)."""
    keys = settings.security.encryption_keys
    assert keys is not None
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TRUNKLINE_DATABASE_URL": settings.database_url_resolved,
        "TRUNKLINE_ENCRYPTION_KEYS": keys.get_secret_value(),
        "TRUNKLINE_DATA_DIR": str(cwd),
    }

    async def run(*args: str, keys: str | None = None) -> Result:
        # Not subprocess.run: the test server shares this event loop and must keep serving.
        proc = await asyncio.create_subprocess_exec(
            str(TRUNKLINE),
            *args,
            env=env if keys is None else {**env, "TRUNKLINE_ENCRYPTION_KEYS": keys},
            cwd=cwd,  # no stray .env file
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        return Result(int(proc.returncode or 0), out.decode(), err.decode())

    return run
