"""trunkline.media is a library like trunkline.sip: it imports nothing else from trunkline."""

from __future__ import annotations

import ast
from pathlib import Path

import trunkline.media

PACKAGE_DIR = Path(trunkline.media.__file__).parent


def _trunkline_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "trunkline")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "trunkline":
                found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 1:
            found.add("." * node.level + (node.module or ""))  # escapes the package
    return found


def test_media_imports_only_itself() -> None:
    modules = sorted(PACKAGE_DIR.glob("*.py"))
    assert len(modules) >= 7  # the walk sees the package
    outside = {
        f"{path.name}: {name}"
        for path in modules
        for name in _trunkline_imports(path)
        if not (name == "trunkline.media" or name.startswith("trunkline.media."))
    }
    assert outside == set()


def test_no_audioop() -> None:
    for path in PACKAGE_DIR.glob("*.py"):
        assert "audioop" not in _all_imports(path), path.name


def _all_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names
