"""The README's quickstart, typed line by line into a shell in a fresh clone, answers as it says.

The block between ``<!-- quickstart -->`` and ``<!-- /quickstart -->`` is fed to ``bash`` on its
standard input (bash then reads and runs one command at a time, as when typed), in a ``git
clone`` of this repository, with a real server on a free port. One step is prepared instead of
run: the clone's ``.venv`` reuses this environment's installed dependencies (``make install``
would download them; CI installs them once for the suite), with the clone's own ``src`` and its
own ``trunkline`` script, so everything else — Makefile, CLI, data directory, server — is the
clone's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import free_port
from trunkline.config import project_root

pytestmark = pytest.mark.slow

NUMBER = "+12025550123"


def readme_quickstart(readme: Path) -> str:
    text = readme.read_text()
    block = text.split("<!-- quickstart -->", 1)[1].split("<!-- /quickstart -->", 1)[0]
    lines = block.strip().splitlines()
    assert lines[0] == "```sh" and lines[-1] == "```", "the quickstart is one sh block"
    return "\n".join(lines[1:-1]) + "\n"


def json_documents(text: str) -> list[Any]:
    """Every JSON value printed one after another (curl -s prints no newline after a body)."""
    decoder = json.JSONDecoder()
    docs, at = [], 0
    while (at := len(text) - len(text[at:].lstrip())) < len(text):
        doc, at = decoder.raw_decode(text, at)
        docs.append(doc)
    return docs


def prepare_venv(clone: Path) -> Path:
    """A .venv in the clone over this environment's dependencies and the clone's own source."""
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # The clone's src first, then the installed dependencies (not this checkout's trunkline:
    # a path in a .pth file is not a site dir, so this checkout's editable hook is not loaded).
    (Path(site) / "00-trunkline-src.pth").write_text(f"{clone / 'src'}\n")
    (Path(site) / "10-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    script = venv / "bin" / "trunkline"
    script.write_text(f"#!{python}\nimport sys\nfrom trunkline.cli import main\nsys.exit(main())\n")
    script.chmod(0o755)
    (venv / ".installed-stamp").touch()  # newer than pyproject.toml: make installs nothing
    return script


@pytest.fixture
def tools() -> None:
    missing = [t for t in ("git", "bash", "curl", "make") if shutil.which(t) is None]
    if missing:
        message = f"the quickstart test needs {', '.join(missing)}"
        if os.environ.get("TRUNKLINE_REQUIRE_PEERS") == "1":
            pytest.fail(f"TRUNKLINE_REQUIRE_PEERS=1 but {message}")
        pytest.skip(message)


def test_readme_quickstart_line_by_line(tools: None, tmp_path: Path) -> None:
    root = project_root()
    assert root is not None, "run from a source checkout"
    clone = tmp_path / "trunkline"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    trunkline = prepare_venv(clone)
    port = free_port()
    block = readme_quickstart(clone / "README.md").replace("localhost:8000", f"localhost:{port}")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "TRUNKLINE_PORT": str(port),
        # The README's example gateways are not to be resolved or probed from a test.
        "TRUNKLINE_MONITOR__ENABLED": "false",
    }
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    with out_path.open("w") as out, err_path.open("w") as err:
        shell = subprocess.Popen(
            ["bash"], cwd=clone, env=env, stdin=subprocess.PIPE, stdout=out, stderr=err,
            text=True, start_new_session=True,  # its own process group: `make run &` included
        )  # fmt: skip
    try:
        shell.communicate(block, timeout=180)
        stderr = err_path.read_text()
        docs = json_documents(out_path.read_text())
        base = f"http://127.0.0.1:{port}"
        docs_page = httpx.get(f"{base}/docs")
        swagger_js = httpx.get(f"{base}/docs/static/swagger-ui-bundle.js")
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        listed = subprocess.run(
            [str(trunkline), "workspaces"], cwd=elsewhere, env=env,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.killpg(shell.pid, signal.SIGTERM)
        time.sleep(0.5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)

    assert f"trunkline: ready on http://127.0.0.1:{port}" in stderr, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert len(docs) == 3, (docs, stderr[-3000:])
    trunk, connection, snapshot = docs

    assert trunk["success"] is True, trunk
    assert trunk["data"]["number"] == NUMBER
    assert trunk["data"]["channels"]["call"]["bound"] is True
    agent_uuid = trunk["data"]["channels"]["call"]["agent_uuid"]
    assert agent_uuid

    assert connection["success"] is True, connection
    assert connection["data"]["gateway"] == "sip.telnyx.com"
    assert connection["data"]["phone_number"] == NUMBER
    assert "username" not in connection["data"] and "password" not in connection["data"]

    assert snapshot["success"] is True, snapshot
    assert snapshot["data"]["number"] == NUMBER
    assert snapshot["data"]["channels"]["call"]["agent_uuid"] == agent_uuid

    # The CLI run from another directory finds the server's database; nothing stray is left.
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split("\t")[0] == "acme"
    assert list(elsewhere.iterdir()) == []
    database = clone / "data" / "trunkline.db"
    for path in (database, *database.parent.glob("trunkline.db-*")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    # The docs work offline: the page loads Swagger UI from the server itself.
    assert docs_page.status_code == 200
    assert "/docs/static/swagger-ui-bundle.js" in docs_page.text
    assert "cdn" not in docs_page.text.lower()
    assert swagger_js.status_code == 200 and len(swagger_js.content) > 100_000
    assert (clone / "LICENSE").read_text().lstrip().startswith("Apache License")
