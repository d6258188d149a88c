"""The CLI turns operational failures into one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import free_port
from trunkline import __version__

pytestmark = pytest.mark.slow  # each command is a fresh interpreter

TRUNKLINE = Path(sys.executable).with_name("trunkline")


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRUNKLINE_")}
    return subprocess.run(
        [str(TRUNKLINE), *args],
        env={**clean, "TRUNKLINE_DATA_DIR": str(tmp_path / "data"), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_version(tmp_path: Path) -> None:
    result = run(tmp_path, "--version")

    assert (result.returncode, result.stdout) == (0, f"trunkline {__version__}\n")


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://postgres:hunter2@127.0.0.1:{free_port()}/nothing"

    result = run(tmp_path, "token", "create", "--workspace", "acme", TRUNKLINE_DATABASE_URL=url)

    assert result.returncode == 1
    assert result.stdout == ""
    line = one_line(result)
    assert line.startswith(
        "trunkline: cannot reach the database postgresql+asyncpg://postgres:***@"
    )
    assert "ConnectionRefusedError" in line and "hunter2" not in line


def test_missing_table_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    sqlite3.connect(tmp_path / "data" / "trunkline.db").close()  # a database never migrated

    result = run(tmp_path, "workspaces")

    assert result.returncode == 1
    assert one_line(result).endswith("if the schema is missing or old, run `trunkline migrate`")


def test_token_create_migrates_a_fresh_database_itself(tmp_path: Path) -> None:
    created = run(tmp_path, "token", "create", "--workspace", "acme")
    listed = run(tmp_path, "workspaces")

    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("tl_") and len(created.stdout.strip().splitlines()) == 1
    assert listed.stdout.split("\t")[0] == "acme"


def test_production_without_key_stops_before_the_database(tmp_path: Path) -> None:
    result = run(tmp_path, "serve", TRUNKLINE_ENV="production", TRUNKLINE_PORT=str(free_port()))

    assert result.returncode == 2
    assert one_line(result).startswith(
        "trunkline: TRUNKLINE_ENCRYPTION_KEYS is required when TRUNKLINE_ENV=production"
    )
    assert not (tmp_path / "data" / "trunkline.db").exists()  # never touched: not even created
