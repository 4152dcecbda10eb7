"""The module dependency direction written in docs/design.md holds.

Each module may import, at module level, only modules listed before it;
outer modules reach the runtime core only through ``goroutines._core``,
never its submodules. Imports inside functions (made at call time) and
under ``if TYPE_CHECKING:`` are not dependencies in this sense.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "src" / "goroutines"

# In dependency order: a module imports only modules before it.
ORDER = [
    "_errors",
    "_core._cext",
    "_core._g",
    "_core._plain",
    "_core._timers",
    "_core._trace",
    "_core._sched",
    "_core._proc",
    "_core._traceback",
    "_core._debug",
    "_core._traps",
    "_core._netpoll",
    "_core._sysmon",
    "_core._cpus",
    "_core._runtime",
    "_core",
    "_chan",
    "_select",
    "_blocking",
    "_time",
    "_waitq",
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
    "_net",
    "net",
    "_tracehtml",
    "_tracefmt",
    "",  # goroutines/__init__.py
    "_cli",
    "__main__",
]


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


def _module_level_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found: list[str] = []
    mod = _module_name(path)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            found.extend(_resolve(mod, node))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("goroutines"):
            found.append((node.module or "")[len("goroutines") :].lstrip("."))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("goroutines"):
                    found.append(a.name[len("goroutines") :].lstrip("."))
    return found


def _known(name: str) -> str:
    """The ORDER entry that ``name`` belongs to (a module or its package)."""
    while name not in ORDER and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


MODULES = sorted(PKG.rglob("*.py"))


def test_every_module_has_a_place_in_the_order() -> None:
    missing = [_module_name(p) for p in MODULES if _module_name(p) not in ORDER]
    assert not missing, f"add these to ORDER (and to docs/design.md): {missing}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p) or "__init__")
def test_imports_only_go_down(path: Path) -> None:
    me = _module_name(path)
    rank = ORDER.index(me)
    for dep in _module_level_imports(path):
        dep = _known(dep)
        assert dep in ORDER, f"{me} imports {dep!r}, which is not in ORDER"
        assert ORDER.index(dep) < rank, f"{me} imports {dep}, which comes after it"


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if not _module_name(p).startswith("_core")],
    ids=lambda p: _module_name(p) or "__init__",
)
def test_outer_modules_use_only_the_core_api(path: Path) -> None:
    for dep in _module_level_imports(path):
        assert not dep.startswith("_core."), (
            f"{_module_name(path)} imports {dep}: import goroutines._core, not its submodules"
        )
