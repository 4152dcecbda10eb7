"""Shared fixtures for the goroutines test suite.

Helpers are handed to tests as fixtures (``wait``, ``run_program``) rather
than imported, so this file stays the only shared module.

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
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import goroutines as gr

PROGRAMS = Path(__file__).parent / "programs"
RUNTIME_THREAD_PREFIX = "goroutines-"


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


def runtime_threads() -> list[threading.Thread]:
    """Live threads the runtime started (Ms and sysmon are named goroutines-*)."""
    return [t for t in threading.enumerate() if t.name.startswith(RUNTIME_THREAD_PREFIX) and t.is_alive()]


class Waiter:
    """Bounded waits for conditions on other goroutines, from inside a goroutine."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    async def until(self, pred: Callable[[], bool], what: str) -> None:
        """Poll ``pred()`` until it holds; fail after ``timeout`` seconds.

        The first polls only yield (gosched); after that the poller sleeps
        0.5 ms between polls. A poller that never stops running keeps the GIL
        busy, and a goroutine on another thread that releases the GIL often
        (a write loop of many send() calls) then waits up to the 5 ms switch
        interval for it on each call: seconds in all (seen in
        test_close_conn_while_read_and_write_wait). The sleep is not the
        synchronisation: ``pred()`` is.
        """
        deadline = time.monotonic() + self.timeout
        polls = 0
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting until {what}; dump:\n{gr.dump()}")
            polls += 1
            if polls < 200:
                await gr.gosched()
            else:
                await gr.sleep(0.0005)

    @staticmethod
    def info(gid: int) -> gr.GoroutineInfo | None:
        for g in gr.goroutines():
            if g.id == gid:
                return g
        return None

    async def parked(self, gid: int, reason: str) -> gr.GoroutineInfo:
        """Wait until goroutine ``gid`` is waiting with wait reason ``reason``."""
        found: list[gr.GoroutineInfo] = []

        def check() -> bool:
            g = self.info(gid)
            if g is not None and g.state == "waiting" and g.wait_reason == reason:
                found.append(g)
                return True
            return False

        await self.until(check, f"goroutine {gid} is waiting on {reason!r}")
        return found[-1]

    async def all_parked(self, gids: list[int], reason: str) -> None:
        want = set(gids)

        def check() -> bool:
            n = 0
            for g in gr.goroutines():
                if g.id in want and g.state == "waiting" and g.wait_reason == reason:
                    n += 1
            return n == len(want)

        await self.until(check, f"goroutines {sorted(want)} are all waiting on {reason!r}")

    async def gone(self, gid: int) -> None:
        """Wait until goroutine ``gid`` has finished."""
        await self.until(lambda: self.info(gid) is None, f"goroutine {gid} has finished")


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


def _run_program(
    name: str,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> subprocess.CompletedProcess[str]:
    """Run ``tests/programs/<name>`` in a fresh interpreter; return the result."""
    full_env = dict(os.environ)
    full_env.pop("GOMAXPROCS", None)
    full_env["PYTHONFAULTHANDLER"] = "1"
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, str(PROGRAMS / name), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


@pytest.fixture
def run_program() -> Callable[..., subprocess.CompletedProcess[str]]:
    return _run_program
