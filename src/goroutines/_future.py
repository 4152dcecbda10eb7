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
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

from ._core import Commit, G, M, current, ready_external

WAIT_FUTURE = "future wait"
T = TypeVar("T")


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

    def __init__(self, f: Any) -> None:
        self.f = f

    def __await__(self) -> Generator[Any, Any, Any]:
        f = self.f
        if type(f) is concurrent.futures.Future and f.done():
            return f.result()

        def submit(done: Callable[[Any], None]) -> None:
            def outcome(fut: Any) -> None:
                # On the thread that completed the future (or dask's callback
                # thread; or here, on the M, if it completed meanwhile): a
                # distributed future's result() fetches the value, so it is
                # taken here, never on the goroutine's M.
                try:
                    r: tuple[bool, Any] = (True, fut.result())
                except BaseException as e:  # noqa: BLE001 - re-raised in the goroutine
                    r = (False, e)
                done(r)

            f.add_done_callback(outcome)

        ok, v = yield from park_until(submit, WAIT_FUTURE, "wait_future()")
        if ok:
            return v
        try:
            raise v
        finally:
            v = None


def wait_future(f: concurrent.futures.Future[T]) -> Awaitable[T]:
    """``await wait_future(f)``: park this goroutine (never its thread) until
    the future ``f`` completes; its result, or its exception
    (``concurrent.futures.CancelledError`` if it was cancelled).

    ``f`` is a ``concurrent.futures.Future`` (any executor's, Ray's
    ``ref.future()``) or a future with the same ``add_done_callback``/
    ``result`` protocol, such as ``dask.distributed``'s.
    """
    if not isinstance(f, concurrent.futures.Future):
        if hasattr(f, "get_loop"):
            raise TypeError(f"wait_future: {f!r} is an asyncio future; use 'await gr.aio(f)' for it")
        if not (callable(getattr(f, "add_done_callback", None)) and callable(getattr(f, "result", None))):
            hint = "; for a Ray ObjectRef pass ref.future()" if type(f).__name__ == "ObjectRef" else ""
            raise TypeError(
                f"wait_future: {f!r} ({type(f).__name__}) is not a concurrent.futures.Future "
                f"(nor has add_done_callback() and result()){hint}"
            )
    return _WaitFuture(f)


__all__ = ["park_until", "wait_future"]
