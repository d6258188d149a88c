"""The layout rules of design.md, checked: no import loop between packages, no domain reading
another domain's repository, no module over 400 lines."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import trunkline

SRC = Path(trunkline.__file__).parent
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def imports_of(name: str, path: Path) -> set[str]:
    """Every trunkline module ``name`` imports (``from a import b`` counts ``a.b`` when that
    is a module, else ``a``), including imports under TYPE_CHECKING or inside functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in MODULES else base)
    return {i for i in found if i == "trunkline" or i.startswith("trunkline.")}


def unit(module: str) -> str:
    """The package a module belongs to (``trunkline.agent.service`` → ``agent``); a top-level
    module (``trunkline.deps``) is its own unit."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in MODULES.items():
        for target in imports_of(name, path):
            if unit(target) != unit(name):
                graph[unit(name)].add(unit(target))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_loop_between_packages() -> None:
    assert cycles(package_graph()) == []


def test_the_cycle_finder_finds_a_loop() -> None:
    """The check itself: a two-package loop and a three-package loop are both reported."""
    graph = {"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"e"}, "e": {"c"}}
    assert sorted(cycles(graph)) == [["a", "b"], ["c", "d", "e"]]


# The domains: packages that own tables (they have a repository module).
DOMAINS = {unit(name) for name in MODULES if name.endswith(".repository")}


def test_no_domain_imports_another_domains_repository() -> None:
    """design.md, Ownership: a table's rows are read and written by its own domain's
    repository; other domains call that domain's service."""
    offenders = sorted(
        f"{name} → {target}"
        for name, path in MODULES.items()
        for target in imports_of(name, path)
        if unit(name) in DOMAINS and target.endswith(".repository") and unit(target) != unit(name)
    )
    assert offenders == []


def test_no_module_over_400_lines() -> None:
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_import_reader_sees_relative_and_aliased_imports(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from trunkline.agent import repository as r\n"
        "import trunkline.binding.rules\n"
        "from . import service\n"
        "def f():\n    from trunkline.trunk.service import trunk_service\n"
    )
    found = imports_of("trunkline.agent.mod", source)
    assert found == {
        "trunkline.agent.repository",
        "trunkline.binding.rules",
        "trunkline.agent.service",
        "trunkline.trunk.service",
    }


TESTS = Path(__file__).parents[1]


def asserts_something(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """An ``assert``, a ``pytest.raises`` block, or a call to an ``assert…`` helper."""
    for node in ast.walk(fn):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.With | ast.AsyncWith) and any(
            "raises" in ast.unparse(item.context_expr) for item in node.items
        ):
            return True
        if isinstance(node, ast.Call) and "assert" in ast.unparse(node.func).lower():
            return True
    return False


def test_every_test_asserts_something_of_its_own() -> None:
    """A test that only calls helpers (whose own asserts check setup) proves nothing new."""
    silent = [
        f"{path.relative_to(TESTS)}::{node.name}"
        for path in sorted(TESTS.rglob("test_*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
        and not asserts_something(node)
    ]
    assert silent == []


def test_the_assertion_finder_tells_a_silent_test() -> None:
    tree = ast.parse(
        "async def test_silent(api):\n    await api.trunk('a')\n"
        "def test_raises():\n    with pytest.raises(ValueError):\n        int('x')\n"
        "def test_plain():\n    assert 1 + 1 == 2\n"
    )
    found = {
        f.name: asserts_something(f)
        for f in tree.body
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    assert found == {"test_silent": False, "test_raises": True, "test_plain": True}


REPO = TESTS.parent
DECISIONS = REPO / "docs" / "api-decisions.md"


def _texts() -> dict[str, str]:
    files = [*SRC.rglob("*.py"), *TESTS.rglob("*.py"), *(REPO / "docs").rglob("*.md")]
    files += [REPO / "README.md", *(REPO / "tests" / "support" / "peers").glob("*")]
    return {str(p.relative_to(REPO)): p.read_text() for p in files if p.is_file()}


def test_what_the_code_cites_is_in_the_repository() -> None:
    """docs/api-decisions.md is where API decisions are cited from: every ``§x.y`` cited exists
    there, and nothing points at a document outside the repository."""
    import re

    sections = set(re.findall(r"^#+ (\d+(?:\.\d+)?)\.? ", DECISIONS.read_text(), re.MULTILINE))
    cited: set[str] = set()
    outside: list[str] = []
    for name, text in _texts().items():
        for match in re.finditer(r"api-decisions\.md[^§\n]{0,3}§([\d.,§ -]+)", text):
            cited |= set(re.findall(r"\d+(?:\.\d+)?", match.group(1)))
        if re.search(r"contract §|/work/shared|\.\./shared", text):
            outside.append(name)
    assert cited and cited <= sections, sorted(cited - sections)
    assert [n for n in outside if not n.endswith("test_architecture.py")] == []
