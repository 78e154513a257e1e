"""The import rules written in each package's docstring, checked on the source (every import,
lazy ones inside functions included)."""

import ast
import importlib
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("serving", "training")
# package -> packages it must never import (see each package's __init__ docstring)
FORBIDDEN = {
    "serving": ("training",),
    "training.data": ("training.fit", "training.evaluation", "training.batch", "training.cli"),
    "training.evaluation": ("training.fit", "training.batch", "training.cli", "training.up"),
    "training.batch": ("training.fit", "training.evaluation", "training.cli", "training.up"),
    "training.fit": ("training.batch", "training.cli", "training.up"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                candidates = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            targets.update(c for c in candidates if c in modules and c != name)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles_between_modules():
    assert find_cycle(import_graph()) is None


def test_cycle_finder_reports_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_follow_the_rule(package):
    graph = import_graph()
    breaches = [
        f"{src} imports {dst}"
        for src, dsts in graph.items()
        if src == package or src.startswith(package + ".")
        for dst in dsts
        for banned in FORBIDDEN[package]
        if dst == banned or dst.startswith(banned + ".")
    ]
    assert breaches == []


@pytest.mark.parametrize(
    "name",
    sorted(n for n in import_graph() if n.count(".") <= 1 and not n.endswith("service")),
)
def test_each_package_imports_on_its_own(name):
    importlib.import_module(name)


def test_every_package_states_its_import_rule():
    for init in (REPO / p for p in PACKAGES):
        for path in [init / "__init__.py", *init.glob("*/__init__.py")]:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            assert "import" in doc.lower(), f"{path} has no import rule in its docstring"
