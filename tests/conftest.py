"""Shared fixtures for the goroutines test suite.

The helpers themselves live in ``helpers.py`` (imported by test files as
``from helpers import ...``); this file hands some of them to tests as
fixtures (``wait``, ``run_program``, ``no_leaked_runtime_threads``) and runs
the GOMAXPROCS matrix.

Synchronisation rule for every test: never ``time.sleep`` to wait for
another goroutine. To wait until goroutines are parked, poll
``gr.goroutines()`` while yielding with ``await gr.gosched()`` (see
:class:`Waiter`), bounded so a broken runtime fails the test instead of
hanging it.

The GOMAXPROCS matrix (finding races): with ``GOROUTINES_TEST_GOMAXPROCS``
set to a list such as ``1,2,4,8``, every collected test runs once per value:
a test parametrized over ``procs`` gets exactly those values instead of its
own, and any other test runs with the ``GOMAXPROCS`` environment variable
set to each (what ``gr.run`` without ``gomaxprocs=`` uses). ``.ci/run`` runs
the core tests so on the free-threaded build.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import PROGRAMS, Waiter, run_python, runtime_threads


def _matrix_from_env() -> list[int]:
    raw = os.environ.get("GOROUTINES_TEST_GOMAXPROCS", "").strip()
    if not raw:
        return []
    try:
        values = [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise pytest.UsageError(
            f"GOROUTINES_TEST_GOMAXPROCS={raw!r}: give whole numbers separated by commas, e.g. 1,2,4,8"
        ) from None
    if not values or min(values) < 1:
        raise pytest.UsageError(f"GOROUTINES_TEST_GOMAXPROCS={raw!r}: every value must be at least 1, e.g. 1,2,4,8")
    return values


GOMAXPROCS_MATRIX = _matrix_from_env()


def _matrix_params(original: object) -> list[object]:
    """The matrix's values for a ``procs`` parametrization, keeping the marks
    its own values carried (a ``goroutines`` mark naming ``gomaxprocs`` gets
    the matrix's value): an ``async def`` test marked per value stays one."""
    marks: list[Any] = []
    for v in original if isinstance(original, (list, tuple)) else []:
        if isinstance(v, type(pytest.param(0))):
            marks = [getattr(m, "mark", m) for m in v.marks]
            break
    out: list[object] = []
    for n in GOMAXPROCS_MATRIX:
        ms = []
        for m in marks:
            kwargs = dict(m.kwargs)
            if m.name == "goroutines" and "gomaxprocs" in kwargs:
                kwargs["gomaxprocs"] = n
            ms.append(getattr(pytest.mark, m.name)(*m.args, **kwargs))
        out.append(pytest.param(n, marks=ms, id=str(n)) if ms else n)
    return out


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The GOMAXPROCS matrix (module docstring). Runs before pytest's own
    hook turns the parametrize marks into calls, so a ``procs`` mark can be
    given the matrix's values first."""
    if not GOMAXPROCS_MATRIX:
        return
    marks = metafunc.definition.own_markers
    for i, mark in enumerate(marks):
        if mark.name == "parametrize" and mark.args and mark.args[0] == "procs":
            marks[i] = pytest.mark.parametrize("procs", _matrix_params(mark.args[1])).mark
            return
    if "procs" not in metafunc.fixturenames:
        metafunc.parametrize(
            "_gomaxprocs_matrix", GOMAXPROCS_MATRIX, indirect=True, ids=[f"GOMAXPROCS={n}" for n in GOMAXPROCS_MATRIX]
        )


@pytest.fixture(autouse=True)
def _debug_checks_clean() -> Iterator[None]:
    """With ``GOROUTINES_DEBUG=1`` (goroutines/_core/_check.py): fail a test
    during which a debug check fired, even where the error it raised was
    swallowed (a runtime thread, a finaliser). A test that plants a bug on
    purpose takes its violations out of the list itself."""
    from goroutines._core import _check

    before = len(_check.violations)
    yield
    fired = _check.violations[before:]
    del _check.violations[before:]
    assert not fired, f"debug checks fired: {fired}"


@pytest.fixture(autouse=True)
def _gomaxprocs_matrix(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    n = getattr(request, "param", None)
    if n is not None:
        monkeypatch.setenv("GOMAXPROCS", str(n))


@pytest.fixture
def wait() -> Waiter:
    return Waiter()


@pytest.fixture
def no_leaked_runtime_threads() -> Iterator[None]:
    """Fail a test that leaves a runtime thread behind (after any run it made).

    Only threads that appeared during the test count, so a thread leaked by
    an earlier test is blamed on that test alone, not on every later one.
    """
    before = set(runtime_threads())
    yield
    left = [t for t in runtime_threads() if t not in before]
    assert not left, f"runtime threads still alive after the test: {[t.name for t in left]}"


@pytest.fixture
def run_program() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_program(name, *args, env=, timeout=)``: run ``tests/programs/<name>``
    in a fresh interpreter (helpers.run_python)."""

    def run(
        name: str, *args: str, env: dict[str, str] | None = None, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        return run_python(str(PROGRAMS / name), *args, env=env, timeout=timeout)

    return run
