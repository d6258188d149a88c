"""A private PostgreSQL cluster for fault-injection tests: ``initdb`` + ``pg_ctl`` on a free
loopback port under a temp dir, so a test may stop and restart it without touching the shared
cluster.

Every command runs through asyncio subprocesses: the app under test is served in the test's own
event loop (tests/support/server.py), so a blocking wait would freeze the very server whose
behaviour during the outage is being measured.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support.server import free_port


def postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL server binaries (Debian layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: Path(p).parts[-3])
    return Path(found[-1]).parent if found else None


def require_postgres_binaries() -> Path:
    """Skip (or fail under TRUNKLINE_REQUIRE_PEERS=1, as for SIP peers) without initdb/pg_ctl."""
    bin_dir = postgres_bin_dir()
    if bin_dir is not None:
        return bin_dir
    message = "PostgreSQL server binaries are not installed (apt-get install postgresql)"
    if os.environ.get("TRUNKLINE_REQUIRE_PEERS") == "1":
        pytest.fail(f"TRUNKLINE_REQUIRE_PEERS=1 but {message}")
    pytest.skip(message)


class PrivateCluster:
    """One throw-away cluster; ``url`` is ready for Trunkline once ``init`` and ``start`` ran."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        # Not pytest's tmp dir: that one is private to root, and initdb refuses to run as root.
        self.root = Path(tempfile.mkdtemp(prefix="trunkline-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres = os.geteuid() == 0

    async def _run(self, *argv: str) -> None:
        command = [str(self.bin_dir / argv[0]), *argv[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.root,
        )
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {out.decode()[-2000:]}")

    async def init(self) -> None:
        if self._as_postgres:
            shutil.chown(self.root, user="postgres")
        await self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
            "-E", "UTF8",
        )  # fmt: skip

    async def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c full_page_writes=off"
        )
        await self._run(
            "pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.root / "log"),
            "-o", options,
        )  # fmt: skip

    async def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` ends sessions cleanly, ``immediate`` is a crash)."""
        await self._run("pg_ctl", "stop", "-w", "-D", str(self.data), "-m", mode)

    async def cleanup(self) -> None:
        if (self.data / "postmaster.pid").exists():
            await self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
