"""The scheduling points a goroutine's code reaches by awaiting.

A goroutine leaves its thread only by yielding one of these traps to the M
running it (see _schedule.schedule, which acts on them):

    a Lock              park: mark the G WAITING, then release the lock.
                        The G queued itself as a waiter under that lock, so
                        no waker can see it before it is off the CPU.
    a tuple of Locks    the same for select, which holds several.
    None                gosched: go to the tail of the global run queue.
    Commit(fn, reason)  park, then run ``fn(m, g)`` on the M (a timer that
                        will ready the G is armed only now).
    REQUEUE             leaving a system call with no P free: queue the G,
                        park the M.

Channel, select, sync and time code yield the first four directly from their
``__await__`` generators; this module holds the ones that are not tied to a
data structure.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator
from typing import Any

from . import _lockos
from ._g import FREE_THREADED_BUILD, WAIT_SELECT_NO_CASES, G
from ._ready import preempted
from ._runctx import tls as _tls
from ._sched import M
from ._schedule import REQUEUE, Commit
from ._syscall import entersyscall, exitsyscall
from ._traceback import own_stack


def no_goroutine(what: str) -> RuntimeError:
    return RuntimeError(
        f"{what} must be awaited inside a goroutine (a function started by "
        "goroutines.run or goroutines.go); it cannot block this thread"
    )


def current(what: str) -> M:
    """The calling thread's M, or the contract's RuntimeError.

    Also a preemption point: a goroutine whose P was retaken gets one back
    here before it goes on (see _ready.preempted), as the channel operations,
    select and go() do on their own inlined paths.
    """
    try:
        m: M = _tls.m
    except AttributeError:
        raise no_goroutine(what) from None
    if m.curg is None:
        raise no_goroutine(what)
    if m.p is None:
        preempted(m)
    return m


class _Gosched:
    __slots__ = ()

    def __await__(self) -> Generator[Any, Any, None]:
        current("gosched()")
        yield None


_GOSCHED = _Gosched()


def gosched() -> _Gosched:
    """``await gosched()``: let other runnable goroutines run first."""
    return _GOSCHED


def _never(m: M, g: G) -> None:
    """Commit for a G that waits forever (select {}): nothing will wake it."""


def block_forever(reason: str = WAIT_SELECT_NO_CASES) -> Generator[Any, Any, None]:
    yield Commit(_never, reason)


class Syscall:
    """``await syscall(fn, *args, **kwargs)``: run a blocking call.

    The P passes to another M before ``fn`` runs on this thread; afterwards
    the M takes an idle P back, or queues the G and parks (REQUEUE).
    """

    __slots__ = ("fn", "args", "kwargs")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if not callable(fn):
            raise TypeError(f"syscall: {fn!r} ({type(fn).__name__}) is not callable; pass the blocking function and its arguments")
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    def __await__(self) -> Generator[Any, Any, Any]:
        m = current("syscall()")
        g = m.curg
        assert g is not None
        if FREE_THREADED_BUILD:
            # No dump reads this thread's frames there: leave it the stack
            # as of now, taken on this thread (see _traceback).
            m.sysstack = own_stack(sys._getframe(), self.fn)
        entersyscall(m, g)
        exc: BaseException | None = None
        result: Any = None
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as e:  # noqa: BLE001 - handed back to the goroutine
            exc = e
        if FREE_THREADED_BUILD:
            m.sysstack = None
        if not exitsyscall(m, g):
            yield REQUEUE  # still SYSCALL: exitsyscall found no P
        if exc is not None:
            try:
                raise exc
            finally:
                exc = None
        return result


def syscall(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Syscall:
    return Syscall(fn, args, kwargs)


def _running_g(what: str) -> tuple[M, G]:
    m: M | None = getattr(_tls, "m", None)
    g = m.curg if m is not None else None
    if m is None or g is None:
        raise RuntimeError(
            f"{what} must be called inside a goroutine (a function started by "
            "goroutines.run or goroutines.go): it wires that goroutine to its thread"
        )
    return m, g


def lock_os_thread() -> None:
    """Wire the calling goroutine to the thread running it (Go's runtime.LockOSThread).

    Until it has called unlock_os_thread() as many times as this, the
    goroutine runs only on this thread and no other goroutine runs on it;
    the others keep running on other threads. A goroutine that ends while
    wired takes its thread with it: the thread exits and is never reused.
    For objects bound to the thread that made them (sqlite3 connections, GUI
    toolkits, thread-local state): see docs/threads.md.
    """
    m, g = _running_g("lock_os_thread()")
    _lockos.lock(m, g)


def unlock_os_thread() -> None:
    """Undo one lock_os_thread() call (Go's runtime.UnlockOSThread); the last
    one lets the goroutine move between threads again. With no call to undo
    it does nothing, as in Go."""
    m, g = _running_g("unlock_os_thread()")
    _lockos.unlock(m, g)
