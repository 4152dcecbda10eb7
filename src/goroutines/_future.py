"""Parking a goroutine until something outside the runtime completes;
``await gr.wait_future(f)`` for any ``concurrent.futures.Future``.

``park_until(submit, reason)`` is the one mechanism (gr.aio uses it too):
the goroutine yields a Commit, so ``submit(done)`` runs on its M only once
it is off the CPU (Go's gopark with an unlock function); ``done(value)``,
called once from any thread, readies it on its own run
(``ready_external``), and ``Sched.nexternal`` counts it meanwhile, so the
goroutine is never taken for deadlocked: some other thread will complete
it. Only the goroutine parks; its M goes on running others.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Generator
from typing import Any

from ._core import Commit, G, M, current, ready_external

WAIT_FUTURE = "future wait"


class _Raised:
    """``submit`` itself failed: the goroutine re-raises ``exc``."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def park_until(submit: Callable[[Callable[[Any], None]], None], reason: str, who: str) -> Generator[Any, Any, Any]:
    """``value = yield from park_until(submit, reason, who)``: see the module docstring."""
    current(who)

    def commit(m: M, g: G) -> None:
        sched = m.sched
        with sched.lock:
            sched.nexternal += 1

        def done(value: Any) -> None:
            ready_external(sched, g, value)

        try:
            submit(done)
        except BaseException as e:  # noqa: BLE001 - handed back to the goroutine
            done(_Raised(e))

    value = yield Commit(commit, reason)
    if type(value) is _Raised:
        exc: BaseException | None = value.exc
        try:
            raise exc  # type: ignore[misc]
        finally:
            exc = None
    return value


class _WaitFuture:
    __slots__ = ("f",)

    def __init__(self, f: concurrent.futures.Future[Any]) -> None:
        self.f = f

    def __await__(self) -> Generator[Any, Any, Any]:
        f = self.f
        if not f.done():
            # The done callback runs on the thread that completes the future
            # (or at once, here on the M, if it completed meanwhile).
            yield from park_until(lambda done: f.add_done_callback(done), WAIT_FUTURE, "wait_future()")
        return f.result()  # its result, its exception, or CancelledError


def wait_future(f: concurrent.futures.Future[Any]) -> _WaitFuture:
    """``await wait_future(f)``: park this goroutine (never its thread) until
    the ``concurrent.futures.Future`` ``f`` completes; its result, or its
    exception (``concurrent.futures.CancelledError`` if it was cancelled)."""
    if not isinstance(f, concurrent.futures.Future):
        hint = ""
        if hasattr(f, "add_done_callback") and hasattr(f, "get_loop"):
            hint = "; for an asyncio future or task use 'await gr.aio(f)'"
        elif hasattr(f, "future"):
            hint = "; for a Ray ObjectRef pass ref.future()"
        raise TypeError(f"wait_future: {f!r} ({type(f).__name__}) is not a concurrent.futures.Future{hint}")
    return _WaitFuture(f)


__all__ = ["park_until", "wait_future"]
