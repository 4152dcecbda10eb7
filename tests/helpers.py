"""Helpers shared by the test files (imported as ``from helpers import ...``;
conftest.py hands some of them to tests as fixtures).

- subprocesses: :func:`subprocess_env`, :func:`run_python`,
  :func:`goroutines_cmd` run a fresh interpreter on this checkout's
  ``src`` with faulthandler on and the caller's GOMAXPROCS and GOTRACEBACK
  left out, so a child sees only what the test gives it;
- runtime state: :func:`runtime_threads`, :func:`goroutine_info`,
  :func:`goroutine_state`;
- :class:`Waiter`, the bounded wait for conditions on other goroutines
  (the ``wait`` fixture), the suite's one way to know another goroutine
  has parked (see conftest.py's synchronisation rule).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import goroutines as gr

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PROGRAMS = Path(__file__).resolve().parent / "programs"
RUNTIME_THREAD_PREFIX = "goroutines-"


# ---------------------------------------------------------------------- subprocesses


def subprocess_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a child interpreter: ``src`` first on
    PYTHONPATH, faulthandler on (a hang shows every thread's stack when the
    test's timeout kills it), no GOMAXPROCS or GOTRACEBACK of the caller's
    (the GOMAXPROCS matrix sets one); then ``extra``."""
    env = dict(os.environ)
    env.pop("GOMAXPROCS", None)
    env.pop("GOTRACEBACK", None)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONFAULTHANDLER"] = "1"
    if extra:
        env.update(extra)
    return env


def run_python(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | str | None = None,
    timeout: float = 30.0,
) -> subprocess.CompletedProcess[str]:
    """``python *args`` in a fresh interpreter (:func:`subprocess_env` plus
    ``env``); its output captured as text."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=subprocess_env(env),
        timeout=timeout,
    )


def goroutines_cmd(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | str | None = None,
    timeout: float = 30.0,
) -> subprocess.CompletedProcess[str]:
    """The ``goroutines`` command (``python -m goroutines *args``), as :func:`run_python`."""
    return run_python("-m", "goroutines", *args, env=env, cwd=cwd, timeout=timeout)


# ---------------------------------------------------------------------- runtime state


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
        return goroutine_info(gid)

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


def goroutine_info(gid: int) -> gr.GoroutineInfo | None:
    """Goroutine ``gid`` of the run in progress, or None (not there, or ended)."""
    for g in gr.goroutines():
        if g.id == gid:
            return g
    return None


def goroutine_state(gid: int) -> str | None:
    """The state of goroutine ``gid`` ("running", "waiting", "syscall", ...), or None."""
    g = goroutine_info(gid)
    return None if g is None else g.state
