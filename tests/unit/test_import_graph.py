"""The package's import graph: the transport is below the kinds, and nothing imports in a
circle. Read from the source (ast), counting every import a module makes when it is
imported (for cycles also those under ``if TYPE_CHECKING:``, which a type checker
follows); imports inside functions are deferred and cannot make an import-time cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import modelarts_poller

ROOT = Path(modelarts_poller.__file__).parent
PACKAGE = "modelarts_poller"


def _name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")


def _top_level(tree: ast.Module, typing: bool) -> list[ast.stmt]:
    """The statements a module runs at import (its own, those of its ``if`` and ``try``
    blocks), and with ``typing`` those a type checker reads under ``TYPE_CHECKING``."""
    out: list[ast.stmt] = []
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        out.append(node)
        if _type_checking(node) and not typing:
            continue
        if isinstance(node, ast.If | ast.Try):
            todo += node.body + node.orelse
    return out


def _graph(*, typing: bool = True) -> dict[str, set[str]]:
    modules = {_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        edges: set[str] = set()
        for node in _top_level(ast.parse(path.read_text()), typing):
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, *([base] if base else [])])
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    edges.add(sub if sub in modules else base)
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_package_imports_nothing_in_a_circle() -> None:
    graph = _graph()
    # A package's __init__ imports its modules; a module importing its own package's
    # __init__ back is the only way to close a loop through it, and it is counted.
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_transport_imports_no_kind() -> None:
    # Its shortcut methods name the kinds' functions for the type checker only.
    graph = _graph(typing=False)
    client = f"{PACKAGE}._client"
    reached: set[str] = set()
    todo = [client]
    while todo:
        for nxt in graph[todo.pop()] - reached:
            reached.add(nxt)
            todo.append(nxt)
    kinds = sorted(m for m in reached if m.startswith((f"{PACKAGE}.operations", f"{PACKAGE}._op_")))
    assert kinds == [], f"_client.py reaches the kinds at import: {kinds}"


def test_the_graph_reader_sees_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
