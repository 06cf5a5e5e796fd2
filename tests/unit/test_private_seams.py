"""No module of the package reads or writes another module's private attributes: every
collaboration goes through a public name, a ``Protocol`` or an object handed over on
purpose. Read from the source (ast): an ``obj._name`` whose object is not ``self`` or
``cls`` must name an attribute a class of the same module declares (a method, a slot, a
class attribute or one it assigns on ``self``), and no module imports another's private
name (a private module itself, such as ``_parsing``, is the package's to import).

One documented exception: ``TaskHandle``'s underscore slots are the engine's record of a
task (its queue entry, poll counts, last answer, outcome and waiters). The modules that
run the engine (stopping included) read and write them (``ENGINE_MODULES``); no other module may.

``KNOWN`` lists the reaches that remain, each a debt with its reason. It only shrinks: an
entry no longer needed fails the test as well, so that it is removed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import modelarts_poller
from modelarts_poller._handle import TaskHandle

ROOT = Path(modelarts_poller.__file__).parent
HANDLE_RECORD = {n for n in TaskHandle.__slots__ if n.startswith("_")} | {
    "_add_checked",
    "_add_waiter",
    "_remove_waiter",
    "_take_waiters",
}
ENGINE_MODULES = {
    "_engine.py",
    "_dispatch.py",
    "_resume.py",
    "_schedule.py",
    "_delivery.py",
    "_batch.py",
    "_groups.py",
    "_stopping.py",
}

# (module, attribute) -> why it is still there
STREAM_FEED = "EventStream's feeding side (offer, force, end): not for its consumers"
SHARED = "SharedEngines drives engines and handles the way the engine itself does"
KNOWN: dict[tuple[str, str], str] = {
    ("_delivery.py", "_offer"): STREAM_FEED,
    ("_delivery.py", "_force"): STREAM_FEED,
    ("_delivery.py", "_end"): STREAM_FEED,
    ("_handle.py", "_force"): STREAM_FEED,
    ("_handle.py", "_end"): STREAM_FEED,
    ("airflow/_shared.py", "_restore"): SHARED,
    ("airflow/_shared.py", "_observe_polls"): SHARED,
    ("airflow/_shared.py", "_add_waiter"): SHARED,
    ("airflow/_shared.py", "_remove_waiter"): SHARED,
    ("airflow/triggers.py", "_wait"): "the trigger awaits SharedEngines' watch of one token",
    ("otel.py", "_tracer"): "per-poll spans: the engine's fetch reads the tracer it is given",
    ("otel.py", "_client"): "the client's HTTP durations go to the engine's metrics",
    ("testing.py", "_ready"): "asyncio's own loop (not this package's): what is runnable now",
}


def _declared(tree: ast.Module) -> set[str]:
    """The attributes the module's classes declare."""
    names: set[str] = set()
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        for node in ast.walk(cls):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id in ("self", "cls"):
                    names.add(node.attr)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        names.add(target.id)
                        if target.id == "__slots__" and isinstance(node.value, ast.Tuple):
                            names |= {
                                e.value
                                for e in node.value.elts
                                if isinstance(e, ast.Constant) and isinstance(e.value, str)
                            }
    return names


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def reaches(source: str, module: str, modules: set[str]) -> set[tuple[str, str]]:
    """``(module, name)`` for each private name of another module that ``source`` touches;
    ``modules`` are the package's module names (importing one is not a reach)."""
    tree = ast.parse(source)
    own = _declared(tree)
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own:
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if node.attr in HANDLE_RECORD and Path(module).name in ENGINE_MODULES:
                continue
            found.add((module, node.attr))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            # getattr(obj, "_name") / setattr(obj, "_name", ...) reach as well
            if node.func.id in ("getattr", "setattr", "hasattr") and len(node.args) >= 2:
                arg = node.args[1]
                name = arg.value if isinstance(arg, ast.Constant) else None
                if isinstance(name, str) and _private(name) and name not in own:
                    found.add((module, name))
        elif isinstance(node, ast.ImportFrom) and node.level:
            for alias in node.names:
                if _private(alias.name) and alias.name not in modules:
                    found.add((module, alias.name))
    return found


def _all_reaches() -> set[tuple[str, str]]:
    modules = {p.stem for p in ROOT.rglob("*.py")}
    found: set[tuple[str, str]] = set()
    for path in sorted(ROOT.rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        found |= reaches(path.read_text(), module, modules)
    return found


def test_no_module_touches_another_modules_private_attributes() -> None:
    found = _all_reaches()
    new = sorted(found - KNOWN.keys())
    assert not new, f"private attributes reached across modules: {new}"


def test_every_known_reach_is_still_there() -> None:
    gone = sorted(KNOWN.keys() - _all_reaches())
    assert not gone, f"no longer reached, remove from KNOWN: {gone}"


def test_the_checker_sees_a_reach() -> None:
    source = (
        "from ._other import _SECRET\n"
        "class A:\n"
        "    __slots__ = ('_mine',)\n"
        "    def f(self, other):\n"
        "        self._x = other._mine\n"
        "        return other._theirs, getattr(other, '_hidden'), self._anything\n"
    )
    assert reaches(source, "a.py", {"_other"}) == {
        ("a.py", "_SECRET"),
        ("a.py", "_theirs"),
        ("a.py", "_hidden"),
    }
    assert reaches("from . import _other\n", "a.py", {"_other"}) == set()
    handle = "def f(h):\n    return h._outcome\n"
    assert reaches(handle, "_engine.py", set()) == set()
    assert reaches(handle, "otel.py", set()) == {("otel.py", "_outcome")}
