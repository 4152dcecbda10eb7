"""``await gr.aio(awaitable)``: asyncio code, run on the runtime's loop thread.

One asyncio event loop per run, on its own thread (a runtime thread, see
_core/_plain.py), started by the first ``aio`` call and closed when the run
ends: its tasks are cancelled and awaited, async generators and the default
executor shut down, the loop closed and the thread joined (``Sched.atstop``
does it before abandoned goroutines are closed). A goroutine in ``aio``
parks in the scheduler (``park_until``), never holding its M: the loop
thread creates the task, and the task's done callback readies the
goroutine with the finished future, whose result or exception it returns.

The task runs in a copy of the goroutine's contextvars.Context (as
``asyncio.create_task`` copies the creator's), named ``goroutine-<id>`` so
logging's ``taskName`` says which goroutine it serves.

Locks: ``Sched.lock`` guards ``Sched.aio`` (the _LoopThread, made once);
the loop itself is touched from other threads only through
``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, TypeVar

from ._core import current, current_m, mark_runtime_thread
from ._future import park_until

T = TypeVar("T")
WAIT_AIO = "asyncio wait"
_JOIN_BUDGET = 5.0  # seconds the loop thread gets to finish cancelled tasks


class _LoopThread:
    """A run's asyncio loop and the thread running it."""

    __slots__ = ("loop", "thread")

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._main, args=(ready,), name="goroutines-asyncio", daemon=True)
        mark_runtime_thread(self.thread)
        self.thread.start()
        ready.wait()

    def _main(self, ready: threading.Event) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
            # Stopped by close(): finish as asyncio.run does.
            tasks = asyncio.all_tasks(loop)
            for t in tasks:
                t.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def close(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:
            return  # already closed
        # A task blocking the loop thread cannot be stopped: the thread is
        # then left as a daemon, as an M inside a blocking call is.
        self.thread.join(_JOIN_BUDGET)


def _loop_thread() -> _LoopThread:
    m = current_m()
    assert m is not None
    sched = m.sched
    with sched.lock:
        lt = sched.aio
        if lt is not None:
            return lt
        if sched.stopping:
            raise RuntimeError("aio: the runtime is stopping")
    # Made outside Sched.lock (it starts a thread); the first to publish wins.
    new = _LoopThread()
    with sched.lock:
        lt = sched.aio
        won = lt is None and not sched.stopping
        if won:
            sched.aio = lt = new
            sched.atstop.append(new.close)
    if not won:
        new.close()
    if lt is None:
        raise RuntimeError("aio: the runtime is stopping")
    return lt


async def _await_it(aw: Awaitable[T]) -> T:
    return await aw


class _Aio:
    __slots__ = ("aw",)

    def __init__(self, aw: Any) -> None:
        self.aw = aw

    def __await__(self) -> Generator[Any, Any, Any]:
        m = current("aio()")
        g = m.curg
        assert g is not None
        aw = self.aw
        self.aw = None  # an aio object runs its awaitable once
        if aw is None:
            raise RuntimeError("aio: this aio(...) object was already awaited; call aio() again")
        lt = _loop_thread()
        loop = lt.loop
        if asyncio.isfuture(aw):
            fl = aw.get_loop()
            if fl is not loop:
                raise ValueError(
                    f"aio: {aw!r} belongs to another event loop; gr.aio runs awaitables on the "
                    "runtime's own loop: pass the coroutine instead of a task or future made elsewhere"
                )
            coro: Coroutine[Any, Any, Any] | None = None
        elif inspect.iscoroutine(aw):
            coro = aw
        else:
            coro = _await_it(aw)
        ctx = g.ctx.copy()
        name = f"goroutine-{g.id}"

        def submit(done: Callable[[Any], None]) -> None:
            def start() -> None:
                fut = aw if coro is None else loop.create_task(coro, name=name, context=ctx)
                fut.add_done_callback(done)

            try:
                loop.call_soon_threadsafe(start)
            except RuntimeError:
                if coro is not None:
                    coro.close()
                raise RuntimeError("aio: the runtime's asyncio loop has closed (the run is ending)") from None

        fut = yield from park_until(submit, WAIT_AIO, "aio()")
        return fut.result()


def aio(awaitable: Awaitable[T]) -> Awaitable[T]:
    """``await aio(awaitable)``: run an asyncio coroutine, task or future on
    the runtime's asyncio loop thread; park this goroutine (never its
    thread) until it completes; its result, or its exception re-raised."""
    if not inspect.isawaitable(awaitable):
        raise TypeError(
            f"aio: {awaitable!r} ({type(awaitable).__name__}) is not awaitable; pass an asyncio "
            "coroutine object (call the async function: aio(fetch(url))), a Task or a Future"
        )
    return _Aio(awaitable)


__all__ = ["aio"]
