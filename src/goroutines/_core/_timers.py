"""The timer heap and the clocks: when callbacks are due. Knows nothing of
channels, Gs or Ms.

The heap holds runtime timers (``_timer.Timer``: ``when``, ``period``,
``seq``, ``pending``, ``fn``, ``arg``, ``inert``); only that module's
operations (start, stop, reset) and the scheduler's expiry calls
(findrunnable, sysmon, the deadlock check) use it. All of a TimerHeap, and
the ``when``/``seq``/``pending`` fields of every timer in it, are guarded by
``sched.lock`` (the heap lives inside Sched).
Callbacks are *returned* by :meth:`TimerHeap.expired` and run by the caller
after it has released ``sched.lock``; they never run under it.

Deletion and re-arming are lazy, as in Go 1.19's time.go: a heap entry is a
tuple ``(when, seq, timer)`` and is stale once the timer's ``seq`` moved on or
it is no longer pending. Stale entries are skipped when they reach the top
and the heap is rebuilt once they outnumber the live ones, so a program that
creates and stops timers in a loop keeps no memory behind.

Timer states (``pending``):

    False -> True    add(): armed, one live heap entry carries its seq.
    True  -> False   delete() (stop), or expired() (fired, one-shot).
    True  -> True    add() again (reset): a new seq; the old entry goes stale.
    True  -> True    expired() on a periodic timer: re-armed one period on,
                     skipping the periods that were missed.

The clock: every ``when`` is a time of the run's Clock (``Sched.clock``),
which is ``time.monotonic`` except inside a synctest bubble. Code that arms
a timer or asks what time it is for timer purposes reads ``sched.clock.now()``,
never time.monotonic directly.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._timer import Timer

from ._check import RANK_SCHED, locked_by

INF = float("inf")

# Where a fake clock starts: 2000-01-01T00:00:00Z as a Unix time, as Go's
# synctest does. Far above any time.monotonic() of a real machine (its
# uptime), so a deadline computed from time.monotonic() inside a bubble is
# already in the past and fails at once rather than quietly waiting.
FAKE_EPOCH = 946684800.0


class Clock:
    """The time a run's timers use. ``now()`` is a plain callable attribute
    (time.monotonic itself for the real clock: no extra call on hot paths).

    ``fake`` is True for a synctest bubble's clock: time then stands still
    until the scheduler advances it (Sched.checkdead_locked), and nothing
    waits for it in real time.
    """

    __slots__ = ("now", "fake")

    def __init__(self, now: Callable[[], float], fake: bool) -> None:
        self.now = now
        self.fake = fake


REAL_CLOCK = Clock(time.monotonic, False)


class FakeClock(Clock):
    """A bubble's clock: ``t`` moves only by :meth:`advance_locked`.

    ``t`` is written under Sched.lock (by the M that finds every goroutine
    durably blocked) and read without it: a float attribute is replaced
    whole, so a reader sees the old time or the new one. Every goroutine is
    parked when it moves, so none sees it move while running.
    """

    __slots__ = ("t",)

    def __init__(self, start: float = FAKE_EPOCH) -> None:
        self.t = start
        super().__init__(self._now, True)

    def _now(self) -> float:
        return self.t

    @locked_by(None, "Sched.lock", rank=RANK_SCHED)  # a clock does not know its Sched
    def advance_locked(self, when: float) -> None:
        """Jump to ``when`` (never backwards). Sched.lock held."""
        if when > self.t:
            self.t = when


class TimerHeap:
    """Min-heap of timers. Guarded by the owning Sched's lock."""

    __slots__ = ("heap", "nlive", "seq")

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Timer]] = []
        self.nlive = 0
        self.seq = 0

    def add(self, t: Timer, when: float) -> bool:
        """Arm (or re-arm) ``t``; True when it became the earliest timer."""
        if not t.pending:
            t.pending = True
            self.nlive += 1
        self.seq += 1
        t.seq = self.seq
        t.when = when
        heap = self.heap
        earliest = not heap or when < heap[0][0]
        heapq.heappush(heap, (when, t.seq, t))
        if len(heap) > 64 and len(heap) > 4 * self.nlive:
            self._compact()
        return earliest

    def delete(self, t: Timer) -> bool:
        """Disarm ``t``; True if it was pending (Go's Stop result)."""
        if not t.pending:
            return False
        t.pending = False
        self.nlive -= 1
        heap = self.heap
        if len(heap) > 64 and len(heap) > 4 * self.nlive:
            self._compact()
        elif self.nlive == 0:
            heap.clear()
        return True

    def _compact(self) -> None:
        live = [e for e in self.heap if e[2].pending and e[2].seq == e[1]]
        heapq.heapify(live)
        self.heap = live

    def earliest(self) -> float:
        """When the next live timer is due, or infinity."""
        heap = self.heap
        while heap:
            when, seq, t = heap[0]
            if t.pending and t.seq == seq:
                return when
            heapq.heappop(heap)
        return INF

    def next_effective(self) -> float:
        """When the earliest live timer that is not inert is due, or infinity.

        For a fake clock only (O(n) in the heap's size): the time to jump
        to. Ticks of inert timers before it are dropped when expired() runs
        them at that time, exactly as they would have been one by one.
        ``inert`` is called under Sched.lock with no goroutine running.
        """
        best = INF
        for when, seq, t in self.heap:
            if when < best and t.pending and t.seq == seq:
                f = t.inert
                if f is None or not f(t.arg):
                    best = when
        return best

    def expired(self, now: float) -> list[tuple[Timer, int]]:
        """Pop every timer due at ``now``, with the seq of the arming that
        fired; the caller runs ``t.fn(t.arg, seq)`` for each."""
        heap = self.heap
        due: list[tuple[Timer, int]] = []
        while heap and heap[0][0] <= now:
            when, seq, t = heapq.heappop(heap)
            if not t.pending or t.seq != seq:
                continue
            due.append((t, seq))
            if t.period > 0:
                # Drop the ticks a slow program missed, as Go's tickers do.
                # The same seq: the fired entry is gone, the new one is live.
                nxt = when + t.period
                if nxt <= now:
                    nxt += t.period * ((now - nxt) // t.period + 1)
                t.when = nxt
                heapq.heappush(heap, (nxt, t.seq, t))
            else:
                t.pending = False
                self.nlive -= 1
        return due
