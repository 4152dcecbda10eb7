"""Debugging aids that run() switches on for the length of a run.

``RunHooks(sched).start()`` is called by run() once the Sched exists and
before goroutine 1 is created; ``stop()`` in run()'s ``finally``, before the
runtime shuts down. Between the two:

SIGQUIT dump
    On a POSIX system, when run() is called on the main thread and SIGQUIT
    still has its default action (the program set no handler of its own and
    nobody ignores it), SIGQUIT (Ctrl-\\ in a terminal, ``kill -QUIT pid``)
    writes a scheduler summary line and every goroutine's stack to stderr.
    Unlike Go, the program is *not* ended: it keeps running and can be
    dumped again. Python runs signal handlers on the main thread, which here
    waits inside run() and is not an M, so the handler formats and writes
    the dump itself. ``GOROUTINES_SIGQUIT=0`` leaves SIGQUIT alone. The
    previous disposition is restored when run() ends (unless the program
    installed another handler meanwhile).

Scheduler trace (Go's ``GODEBUG=schedtrace=MS``)
    Every MS milliseconds a daemon thread (``goroutines-schedtrace``, not
    sysmon, so a slow stderr never delays a retake) writes one line to
    stderr, in the shape of Go's::

        SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 idlethreads=1 runqueue=3 syscalls=1 goroutines=12 [0 1]

    The time is since run() started; ``threads`` counts Ms (OS threads that
    run goroutines; sysmon not included), ``spinningthreads`` the Ms looking
    for work to steal, ``idlethreads`` the parked Ms
    (idle list, timer poller, and Ms waiting for the goroutine wired to
    them with lock_os_thread), ``runqueue`` the global run queue,
    ``syscalls`` the Ms inside a blocking call (``gr.syscall``, or a plain
    call whose P sysmon retook), ``goroutines`` the live
    goroutines, and the bracket each P's local run queue length (runnext
    included). ``GOROUTINES_SCHEDTRACE=MS`` is accepted too and wins over
    GODEBUG. A value that is not a positive whole number is ignored, as Go
    ignores it.

Run watchers
    ``watch_runs(w)`` registers an object whose ``run_started(sched)`` and
    ``run_ending(sched)`` are called by every later run (the execution
    tracer's ``with goroutines.trace(...)`` around a ``run`` uses it).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from ._frames import current_frames
from ._g import FREE_THREADED_BUILD, SYSCALL
from ._plain import mark_runtime_thread
from ._traceback import dump, in_blocking_call

if TYPE_CHECKING:
    from ._sched import Sched

SCHEDTRACE_THREAD = "goroutines-schedtrace"


class RunWatcher(Protocol):
    def run_started(self, sched: Sched) -> None: ...

    def run_ending(self, sched: Sched) -> None: ...


# Process-wide registry of run watchers (guarded by _watchers_lock).
_watchers_lock = threading.Lock()
_watchers: list[RunWatcher] = []


def watch_runs(w: RunWatcher) -> None:
    with _watchers_lock:
        _watchers.append(w)


def unwatch_runs(w: RunWatcher) -> None:
    with _watchers_lock:
        try:
            _watchers.remove(w)
        except ValueError:
            pass


# ---------------------------------------------------------------------- settings


def _env_off(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("0", "off", "false", "no")


def _positive_int(text: str) -> int | None:
    try:
        n = int(text.strip())
    except ValueError:
        return None
    return n if n > 0 else None


def schedtrace_period_ms(environ: Any = None) -> int | None:
    """The schedtrace period from GOROUTINES_SCHEDTRACE or GODEBUG, else None."""
    env = os.environ if environ is None else environ
    own = env.get("GOROUTINES_SCHEDTRACE")
    if own is not None and own.strip():
        return _positive_int(own)
    for item in env.get("GODEBUG", "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip() == "schedtrace":
            return _positive_int(value)
    return None


# ---------------------------------------------------------------------- the schedtrace line


def schedtrace_line(sched: Sched, elapsed_ms: int, lock_timeout: float = -1) -> str:
    """One ``SCHED ...`` line describing ``sched`` now (takes Sched.lock briefly).

    With ``lock_timeout`` >= 0, gives up after that long and returns "".
    """
    lock = sched.lock
    if not lock.acquire(True, lock_timeout):
        return ""
    try:
        nprocs = sched.gomaxprocs
        idleprocs = len(sched.pidle)
        threads = sched.mcount
        idle = len(sched.midle) + len(sched.lockedidle) + (sched.poller is not None)
        runq = len(sched.runq)
        gs = len(sched.allgs)
        syscalls = 0
        # Free-threaded builds read no other thread's frames (see
        # _traceback): sysmon's mark alone says an M is in a plain call.
        frames = None if FREE_THREADED_BUILD else current_frames()
        for m in sched.allm:
            g = m.curg
            if g is not None and (g.status == SYSCALL or in_blocking_call(m, frames)):
                syscalls += 1
        local = [len(p.runnext) + len(p.runq) for p in sched.allp[:nprocs]]
        spinning = sched.nmspinning
    finally:
        lock.release()
    return (
        f"SCHED {elapsed_ms}ms: gomaxprocs={nprocs} idleprocs={idleprocs} threads={threads} "
        f"spinningthreads={spinning} idlethreads={idle} runqueue={runq} syscalls={syscalls} "
        f"goroutines={gs} [{' '.join(map(str, local))}]"
    )


def _write_stderr(text: str) -> None:
    """Write to stderr, falling back to fd 2 (never raises)."""
    try:
        err = sys.stderr
        if err is not None:
            err.write(text)
            err.flush()
            return
    except Exception:  # noqa: BLE001 - a closed or reentered stderr
        pass
    try:
        data = text.encode("utf-8", "replace")
        while data:
            n = os.write(2, data)
            data = data[n:]
    except OSError:
        pass


class _SchedTrace:
    """The thread that writes a schedtrace line every ``period`` seconds."""

    def __init__(self, sched: Sched, period_ms: int) -> None:
        self.sched = sched
        self.period = period_ms / 1000.0
        self.stopped = threading.Event()
        self.t0 = time.monotonic()
        self.thread = threading.Thread(target=self._loop, name=SCHEDTRACE_THREAD, daemon=True)
        mark_runtime_thread(self.thread)

    def _loop(self) -> None:
        while not self.stopped.wait(self.period):
            ms = int((time.monotonic() - self.t0) * 1000)
            _write_stderr(schedtrace_line(self.sched, ms) + "\n")

    def stop(self) -> None:
        self.stopped.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(1.0)


# ---------------------------------------------------------------------- run hooks


class RunHooks:
    """What one run switched on; ``stop()`` undoes it (safe after a partial start)."""

    def __init__(self, sched: Sched) -> None:
        self.sched = sched
        self.t0 = time.monotonic()
        self.sigquit_prev: Any = None
        self.sigquit_installed = False
        self.schedtrace: _SchedTrace | None = None
        self.watchers: list[RunWatcher] = []

    def start(self) -> None:
        with _watchers_lock:
            watchers = list(_watchers)
        for w in watchers:
            try:
                w.run_started(self.sched)
            except Exception as e:  # noqa: BLE001 - a watcher must not stop the run
                _write_stderr(f"goroutines: run watcher {w!r} failed to start: {e}\n")
                continue
            self.watchers.append(w)
        self._install_sigquit()
        period = schedtrace_period_ms()
        if period is not None:
            st = _SchedTrace(self.sched, period)
            self.schedtrace = st
            st.thread.start()

    def stop(self) -> None:
        self._restore_sigquit()
        st = self.schedtrace
        self.schedtrace = None
        if st is not None:
            st.stop()
        watchers, self.watchers = self.watchers, []
        for w in reversed(watchers):
            try:
                w.run_ending(self.sched)
            except Exception as e:  # noqa: BLE001
                _write_stderr(f"goroutines: run watcher {w!r} failed to stop: {e}\n")

    # -- SIGQUIT

    def _install_sigquit(self) -> None:
        sig = getattr(signal, "SIGQUIT", None)
        if sig is None or _env_off("GOROUTINES_SIGQUIT"):
            return
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            if signal.getsignal(sig) is not signal.SIG_DFL:
                return  # the program's own handler, or ignored: leave it
            self.sigquit_prev = signal.signal(sig, self._on_sigquit)
        except (ValueError, OSError):  # not the main interpreter
            return
        self.sigquit_installed = True

    def _restore_sigquit(self) -> None:
        if not self.sigquit_installed:
            return
        self.sigquit_installed = False
        sig = signal.SIGQUIT
        try:
            if signal.getsignal(sig) == self._on_sigquit:
                signal.signal(sig, self.sigquit_prev)
        except (ValueError, OSError):
            pass

    def _on_sigquit(self, signum: int, frame: Any) -> None:
        """Write the dump; never raise (run() would take it for a Ctrl-C)."""
        try:
            ms = int((time.monotonic() - self.t0) * 1000)
            line = schedtrace_line(self.sched, ms, lock_timeout=0.5)
            text = dump(self.sched, lock_timeout=0.5)
            _write_stderr(f"SIGQUIT: goroutine dump (the program keeps running)\n{line}\n\n{text}\n")
        except Exception as e:  # noqa: BLE001
            _write_stderr(f"SIGQUIT: goroutine dump failed: {type(e).__name__}: {e}\n")
