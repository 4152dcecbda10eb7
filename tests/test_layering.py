"""The package's modules form one-way layers, with no import cycle.

``ORDER`` below is the one written layer order (docs/design.md and
``goroutines/_core/__init__.py`` point here rather than repeat it). Every
module may import only modules listed before it. *Every* import counts:
module level and inside functions (a function-level import is still a
dependency; it only runs later). The one exemption is an import under
``if TYPE_CHECKING:``, which never runs and exists only for annotations.

Two checks, from the whole AST of each module:

- no import goes up the order (a "back-edge");
- the real import graph has no strongly connected component of more than
  one module (a cycle), computed independently of ``ORDER`` so a wrong
  order cannot hide one.

Outer modules reach the runtime core only through ``goroutines._core``,
never its submodules.

This is a small AST checker rather than import-linter's ``layers``
contract: import-linter (through grimp) does count function-level imports,
but the test must run with only the ``test`` extra installed, on both the
GIL and the free-threaded builds, and it also checks the core-API rule and
that every module has a place in the order.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "src" / "goroutines"

# In dependency order: a module imports only modules before it.
ORDER = [
    "_errors",
    "_core._check",
    "_core._cext",
    "_core._frames",
    "_core._g",
    "_core._runctx",
    "_core._plain",
    "_core._timers",
    "_core._trace",
    "_core._traceback",
    "_core._sched",
    "_core._invariants",
    "_core._timer",
    "_core._lockos",
    "_core._aiohint",
    "_core._ready",
    "_core._syscall",
    "_core._findrunnable",
    "_core._lifecycle",
    "_core._schedule",
    "_core._mstart",
    "_core._debug",
    "_core._traps",
    "_core._waitq",
    "_core._netpoll",
    "_core._sysmon",
    "_core._cpus",
    "_core._runtime",
    "_core._fork",
    "_core",
    "_chan",
    "_select",
    "_blocking",
    "_time",
    "_sync",
    "_semaphore",
    "_cond",
    "_context",
    "_errgroup",
    "_logging",
    "_future",
    "_aio",
    "_net._addr",
    "_net._errors",
    "_net._wait",
    "_net._socket",
    "_net._conn",
    "_net._serve",
    "_net",
    "net",
    "_tracehtml",
    "_tracefmt",
    "",  # goroutines/__init__.py
    "testing",
    "testing._plugin",
    "_cli._status",
    "_cli._traceback",
    "_cli._program",
    "_cli._run",
    "_cli._trace",
    "_cli._commands",
    "_cli",
    "__main__",
]


# Compiled extension modules: leaves (they import no package module; the
# Python side hands them what they need at setup).
EXTENSIONS = {"_core._speedups"}

def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(mod: str, node: ast.ImportFrom) -> list[str]:
    """Absolute (package-relative) names a relative import refers to."""
    base = mod.split(".") if mod else []
    is_pkg = (PKG / Path(*base) / "__init__.py").exists() if base else True
    pkg = base if is_pkg else base[:-1]
    up = node.level - 1
    anchor = pkg[: len(pkg) - up] if up else pkg
    if node.module:
        return [".".join([*anchor, *node.module.split(".")])]
    # "from . import x": x may be a submodule
    return [".".join([*anchor, a.name]) for a in node.names]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, at any depth, except the body
    of an ``if TYPE_CHECKING:`` (its ``else:`` runs, so it is walked)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.orelse:
                if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    yield stmt
                else:
                    yield from _import_nodes(stmt)
        else:
            yield from _import_nodes(child)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, package-relative module name) of every import in ``path``."""
    tree = ast.parse(path.read_text())
    found: list[tuple[int, str]] = []
    mod = _module_name(path)
    for node in _import_nodes(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            found.extend((node.lineno, n) for n in _resolve(mod, node))
        elif isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if name == "goroutines" or name.startswith("goroutines."):
                found.append((node.lineno, name[len("goroutines") :].lstrip(".")))
        else:
            for a in node.names:
                if a.name == "goroutines" or a.name.startswith("goroutines."):
                    found.append((node.lineno, a.name[len("goroutines") :].lstrip(".")))
    return found


def _known(name: str) -> str:
    """The ORDER entry that ``name`` belongs to (a module or its package)."""
    if name in EXTENSIONS:
        return name
    while name not in ORDER and "." in name:
        name = name.rsplit(".", 1)[0]
    if name not in ORDER:
        name = ""
    return name


MODULES = sorted(PKG.rglob("*.py"))


def graph() -> dict[str, set[str]]:
    """module -> the modules it imports anywhere (self-imports dropped)."""
    g: dict[str, set[str]] = {}
    for p in MODULES:
        me = _module_name(p)
        g[me] = {_known(d) for _, d in _imports(p)} - {me}
    return g


def _rank(name: str) -> int:
    return -1 if name in EXTENSIONS else ORDER.index(name)


def back_edges() -> list[tuple[str, int, str]]:
    """(module, line, dependency) for each import that goes up ORDER."""
    out = []
    for p in MODULES:
        me = _module_name(p)
        for line, dep in _imports(p):
            dep = _known(dep)
            if dep != me and _rank(dep) > _rank(me):
                out.append((me, line, dep))
    return out


def strongly_connected(g: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively; components in no particular order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    comps: list[list[str]] = []
    for root in g:
        if root in index:
            continue
        work = [(root, iter(sorted(g[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in g:
                    continue
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(g[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    u = work[-1][0]
                    low[u] = min(low[u], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    comps.append(sorted(comp))
    return comps


def test_every_module_has_a_place_in_the_order() -> None:
    missing = [_module_name(p) for p in MODULES if _module_name(p) not in ORDER]
    assert not missing, f"add these to ORDER: {missing}"
    stale = [m for m in ORDER if m not in {_module_name(p) for p in MODULES}]
    assert not stale, f"remove these from ORDER (no such module): {stale}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p) or "__init__")
def test_imports_only_go_down(path: Path) -> None:
    me = _module_name(path)
    rank = ORDER.index(me)
    for line, dep in _imports(path):
        dep = _known(dep)
        assert dep == me or _rank(dep) < rank, (
            f"{me}:{line} imports {dep or 'goroutines'}, which comes after it in ORDER"
        )


def test_no_import_cycle() -> None:
    cycles = [c for c in strongly_connected(graph()) if len(c) > 1]
    assert not cycles, f"import cycles (counting imports inside functions): {cycles}"


def test_the_checker_sees_function_level_imports() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from . import hidden\n"
        "else:\n    from . import shown\n"
        "def f():\n    if x:\n        from .deep import y\n"
    )
    names = [n.module or n.names[0].name for n in _import_nodes(tree)]
    assert names == ["typing", "shown", "deep"]
    assert strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}}) in (
        [["a", "b"], ["c"]],
        [["c"], ["a", "b"]],
    )


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if not _module_name(p).startswith("_core")],
    ids=lambda p: _module_name(p) or "__init__",
)
def test_outer_modules_use_only_the_core_api(path: Path) -> None:
    for line, dep in _imports(path):
        assert not dep.startswith("_core."), (
            f"{_module_name(path)}:{line} imports {dep}: import goroutines._core, not its submodules"
        )


if __name__ == "__main__":
    for me, line, dep in back_edges():
        print(f"{me}:{line} -> {dep}")
    print("SCCs>1:", [c for c in strongly_connected(graph()) if len(c) > 1])
