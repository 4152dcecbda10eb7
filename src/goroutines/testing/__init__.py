"""Testing concurrent code: a fake clock (Go's testing/synctest) and seeds.

    import goroutines as gr
    from goroutines import testing as grt

    async def main():
        ctx, cancel = gr.with_timeout(gr.background(), 3600)
        await ctx.done().recv()          # an hour, in a few milliseconds
        return ctx.err()

    grt.synctest(main)

``synctest(main, *args)`` is ``gr.run`` inside a *bubble*: the run's timers
(``sleep``, ``after``, ``Timer``, ``Ticker``, context deadlines) run on a
fake clock that stands still while any goroutine can make progress and
jumps to the next timer at once when every goroutine is *durably blocked*.

Durably blocked (Go's term) means parked on something only another goroutine
of the run can end: a channel operation, ``select``, a sync primitive
(``Mutex``, ``RWMutex``, ``WaitGroup``, ``Once``, ...), ``sleep`` or a
timer's channel. Not durable, because something outside the run can end
them: a goroutine awaiting I/O (``goroutines.net``, ``wait_readable``), one
in ``gr.syscall``, ``gr.aio`` or ``gr.wait_future``, one in unannotated
blocking code (a plain ``time.sleep``, a blocking library call), one
running, and any while a plain thread may still act on a channel. While any of
those exists the fake clock does not move: a bubble waits for real I/O and
real system calls in real time, exactly as long as they take, and only then
goes on jumping. (Go says the same of its bubbles; there a bubble is a part
of a program, here it is the whole run, so every goroutine and every
channel of the run is inside it. Unlike Go, a goroutine parked on a
``Mutex`` counts as durably blocked: nothing outside the run can unlock it.)

The fake clock starts at 946684800.0 (2000-01-01T00:00:00Z as a Unix time,
Go's choice) and has nothing to do with ``time.monotonic()``: read it with
:func:`now` (``after``'s values and ``ctx.deadline()`` are on it too), and
give ``with_deadline`` times computed from :func:`now`. ``time.monotonic()``
is far smaller, so a deadline computed from it has already passed. Network
deadlines (``goroutines.net``) and ``gr.syscall`` stay on real time.

When every goroutine is durably blocked and no timer is pending, the run
ends with ``gr.Deadlock``, as ``gr.run`` does.

Seeds: ``gr.run(main, seed=S)`` (or ``GOROUTINES_SEED=S``) makes every
random choice of the runtime (which ready case a ``select`` takes, the
order a blocked select queues on its cases) come from ``S``; at
``gomaxprocs=1`` a program that does no I/O and no unannotated blocking
then runs the same interleaving every time. Without a seed a random one is
drawn; :func:`seed` tells which, so a failure can be rerun with it.

The pytest plugin (``goroutines.testing._plugin``, loaded through the
``pytest11`` entry point) runs ``async def`` tests as goroutine 1 of their
own run; see docs/testing.md.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

from .._core import Commit, FakeClock, current, current_sched, last_seed, start

__all__ = ["now", "seed", "synctest", "wait"]

WAIT_SYNCTEST = "synctest.Wait"


def synctest(main: Any, /, *args: Any, gomaxprocs: int | None = None, seed: int | None = None) -> Any:
    """Run ``main(*args)`` as ``gr.run`` does, inside a bubble with a fake clock.

    Returns ``main``'s result; a panic is re-raised; when every goroutine is
    durably blocked and no timer is pending, raises ``gr.Deadlock``. As with
    ``gr.run``, goroutines still alive when ``main`` returns are abandoned.
    """
    return start(main, args, gomaxprocs, seed, FakeClock(), 2)


def now() -> float:
    """The current run's clock: a bubble's fake time inside ``synctest``,
    else (and outside any run) ``time.monotonic()``."""
    s = current_sched()
    if s is None:
        return time.monotonic()
    return s.clock.now()


def seed() -> int | None:
    """The seed of the run in progress, else of the last run started in this
    process (None before the first). Rerun with ``gr.run(main, seed=...)``
    or ``GOROUTINES_SEED`` to repeat its choices."""
    return last_seed()


class _Wait:
    __slots__ = ()

    def __await__(self) -> Generator[Any, Any, None]:
        m = current("goroutines.testing.wait()")
        sched = m.sched
        if not sched.clock.fake:
            raise RuntimeError(
                "goroutines.testing.wait() works only inside a bubble: run the code "
                "with goroutines.testing.synctest(main) instead of goroutines.run(main)"
            )
        g = m.curg
        with sched.lock:
            if sched.waiter is not None:
                raise RuntimeError(
                    f"goroutines.testing.wait(): goroutine {sched.waiter.id} is already "
                    "waiting; only one goroutine of a bubble may wait at a time"
                )
            # Safe to publish before parking: checkdead_locked readies the
            # waiter only when no M is running, and ours is running this G
            # until it has parked.
            sched.waiter = g
        yield Commit(_nothing, WAIT_SYNCTEST)


def _nothing(m: Any, g: Any) -> None:
    """The commit of wait(): checkdead_locked is the waker."""


def wait() -> _Wait:
    """``await wait()``: park until every other goroutine of the bubble is
    durably blocked (Go's synctest.Wait). The clock does not move meanwhile.
    """
    return _Wait()
