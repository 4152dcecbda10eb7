"""The runtime timer: the one API that arms, stops and re-arms a timer.

Every timer of the runtime is a :class:`Timer` bound to the Sched of the run
it belongs to: a goroutine's ``sleep``, a Timer or Ticker channel
(``_time.py``), ``after_func``, a context's deadline (``_context.py``), an
I/O wait's timeout (``_netpoll.py``). Nobody else touches ``Sched.timers``
(the heap, ``_timers.TimerHeap``), ``Sched.realtimers`` or a Timer's heap
fields: the three operations below are Go's ``addtimer``, ``deltimer`` and
``modtimer``:

    t = Timer(sched, fn, arg, period=0.0, real=False)
    t.start(when)                  arm (addtimer)
    t.stop() -> bool               disarm; True if it was pending (deltimer)
    t.reset(when, period) -> bool  re-arm; True if it was pending (modtimer)

``when`` is a time of the run's clock (``sched.clock.now()``: time.monotonic,
or a synctest bubble's fake clock). A ``real`` timer's ``when`` is a
time.monotonic() value even in a bubble: an I/O wait's deadline, which the
outside world meets in real time while the fake clock stands still (the
netpoller's waiters keep it still, see Sched.checkdead_locked). Outside a
bubble both clocks are the same and a real timer is an ordinary one, on the
one heap; in a bubble it goes on ``Sched.realtimers``, a second heap on the
real clock that the scheduler runs alongside the first. When the timer falls due, an M (or
sysmon's) calls ``fn(arg, seq)`` with no lock held; ``seq`` identifies the
arming that fired (``t.seq`` after ``start``/``reset``, read under the
caller's own lock), so a firing that races with a stop or re-arm can see it
is stale. A periodic timer (``period > 0``) stays armed, one period on
each time, until stopped.

Locks: ``when``, ``seq``, ``pending`` and ``period`` are guarded by
``sched.lock`` (they are the heap's), ``fn`` and ``inert`` are immutable
once armed, ``arg`` may be cleared without a lock by an owner that no
longer wants the firing (the firing reads it once, after the heap let go
of Sched.lock). These operations take Sched.lock themselves, so the caller
holds at most locks before it in the order (a channel's, a sync object's or
a context's lock); they wake the poller (an idle M waiting for the earliest
timer) when the timer becomes the earliest, which takes at most
Netpoll.lock (a leaf) or releases an M's note.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._cext import speedups
from ._check import locked_by
from ._sched import M, Sched, wake_m
from ._timers import TimerHeap


class Timer:
    """A runtime timer: call ``fn(arg, seq)`` at ``when`` on the clock of ``sched``.

    ``real``: ``when`` is a time.monotonic() value even in a synctest
    bubble (an I/O deadline; see the module docstring).

    ``inert``: None, or ``inert(arg) -> bool``, True when firing now would
    change nothing (a Ticker whose one-slot channel is full drops the
    tick). A bubble's fake clock jumps over such firings (see
    TimerHeap.next_effective), as Go's does over a ticker nobody receives
    from, and a bubble whose only timers are inert is deadlocked.
    """

    __slots__ = ("sched", "heap", "when", "period", "fn", "arg", "seq", "pending", "inert")

    def __init__(
        self, sched: Sched, fn: Callable[[Any, int], None], arg: Any, period: float = 0.0, real: bool = False
    ) -> None:
        self.sched = sched
        # The heap this timer lives on, fixed at creation: Sched.timers, or
        # for a real-time timer in a bubble Sched.realtimers.
        # (``real`` is tested first: an ordinary timer pays one test.)
        self.heap: TimerHeap = sched.timers
        if real and sched.realtimers is not None:
            self.heap = sched.realtimers
        self.when = 0.0
        self.period = period
        self.fn = fn
        self.arg = arg
        self.seq = 0
        self.pending = False
        self.inert: Callable[[Any], bool] | None = None

    def start(self, when: float) -> None:
        """Arm the timer to fire at ``when`` (Go's addtimer). No Sched.lock held."""
        sched = self.sched
        lock = sched.lock
        lock.acquire()
        pm = sched.addtimer_locked(self, when)
        lock.release()
        if pm is not None:
            wake_m(pm)

    @locked_by("sched.lock", "Sched.lock")
    def start_locked(self, when: float) -> M | None:
        """``start`` for a caller holding Sched.lock: returns the M to wake
        with wake_m() once it has released it."""
        return self.sched.addtimer_locked(self, when)

    def stop(self) -> bool:
        """Disarm the timer; True if it was pending (Go's deltimer, time.Timer.Stop).

        In a run that is stopping (its timers are dropped with it) only
        reports whether it was pending: Sched.lock may even be held by this
        thread then (a finaliser running during shutdown).
        """
        sched = self.sched
        if sched.stopping:
            return self.pending
        lock = sched.lock
        lock.acquire()
        was = self.heap.delete(self)
        lock.release()
        return was

    def reset(self, when: float, period: float | None = None) -> bool:
        """Re-arm the timer to fire at ``when`` (a periodic one: with the new
        ``period``, if given); True if it was pending (Go's modtimer)."""
        sched = self.sched
        lock = sched.lock
        lock.acquire()
        was = self.pending
        if period is not None:
            self.period = period
        pm = sched.addtimer_locked(self, when)
        lock.release()
        if pm is not None:
            wake_m(pm)
        return was

    def __repr__(self) -> str:
        state = f"pending at {self.when}" if self.pending else "not pending"
        return f"<runtime timer {getattr(self.fn, '__qualname__', self.fn)} {state}>"


if speedups is not None and not TYPE_CHECKING:
    # The C fast paths (_speedups.c, "timers"): start, stop and reset with
    # the heap's side of them (TimerHeap.add/delete, Sched.addtimer_locked)
    # in C, step for step; they call the methods above, which stay the
    # definition, for the rest (a stopping run, set_fast(False), debug
    # mode's checked Sched.lock).
    for _cls, _name, _meth in speedups.setup_timer(Timer, TimerHeap, Sched, wake_m):
        setattr(_cls, _name, _meth)
