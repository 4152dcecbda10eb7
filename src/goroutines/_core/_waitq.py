"""The wait queue: how a goroutine parks on a sync object and is woken.

Every sync object that parks goroutines (Mutex, RWMutex, WaitGroup, Once,
Cond, Semaphore, and through them ErrGroup) keeps its waiting goroutines in
:class:`WaitQueue`\\ s: a FIFO of Gs guarded by the object's own lock (made
by a ``lock_kind()`` maker, as every lock a goroutine parks on is; the queue
holds it as ``lock``). This module is the one
place the protocol is written, Go's ``gopark``/``goready`` over a ``sema``
wait list (trio's ParkingLot is the same idea):

* Parking: with the lock held, ``yield q.park(g, reason)``. ``park`` records
  the wait reason (shown by dumps; exactly the contract's strings, from
  _g.py) and the queue as ``g.waitchan`` (so that the end of a run can take
  the G off it: :meth:`WaitQueue._forget`), queues the G at the tail (or,
  ``front=True``, the head: a woken Mutex waiter that lost the race keeps its
  place) and returns the lock. The G yields the lock to its M, which marks
  the G waiting and only then releases it: a waker, which dequeues under the
  lock, always finds the G parked, so no wake-up is lost and no G is
  readied while it still runs.
* Waking: with the lock held, take the G off (:meth:`WaitQueue.dequeue`,
  :meth:`dequeue_all`, or ``popleft`` after :meth:`live`), leave its resume
  value in ``g.param`` if it needs one (a :class:`Resume` marker, which the
  parked code sees as the value of its ``yield``: HANDOFF passes a Mutex
  over without freeing it, GRANTED says the units or the lock are the G's),
  release the lock, and only then :func:`wake` (or :func:`wake_all`) it.
  :meth:`WaitQueue.wake_one` does all of that for the oldest waiter.
  Exactly one waker dequeues a given G. While a G waits, ``g.param`` may hold
  what it waits for (a Semaphore waiter's weight), written before it parks.
* Dead waiters: a G whose goroutine was closed by the end of its run
  without being taken off the queue (the end of a run forgets the waiters
  of the goroutines parked then, but not of one that parks later, from
  inside a call it was still in) has ``coro`` None; :meth:`live`,
  :meth:`dequeue`, :meth:`dequeue_all` and :meth:`wake_one` drop them,
  since readying one would crash a later run.

Timeouts are not part of it: no sync wait has one (Go's sync has none);
the waits that do (sleep, timer channels, I/O) are runtime timers
(_timer.py) and claim their waiter themselves.

Locks: a WaitQueue has no lock of its own. Its methods but ``_forget`` run
with ``lock`` held (``wake_one`` releases it when it wakes someone); ``wake``/``wake_all`` with no sync object's lock held
(they take Sched.lock inside ready()). The objects' locks come second in
the lock order (after channel locks, before Sched.lock).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ._g import G
from ._ready import ready
from ._runctx import current_sched
from ._runctx import tls as _tls


class Resume:
    """A resume value a waker leaves in ``G.param``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


WOKEN = Resume("woken")  # Mutex, normal mode: try again
HANDOFF = Resume("handoff")  # Mutex, starvation mode: you own it now
GRANTED = Resume("granted")  # RWMutex, Semaphore: you hold it now


class WaitQueue(deque[G]):
    """A FIFO of parked goroutines, guarded by ``lock`` (its owner's lock).

    A deque itself, so an empty queue is tested with ``if q`` and the head
    taken with ``q.popleft()`` at C speed; see the module docstring for the
    protocol.
    """

    __slots__ = ("lock",)

    def __init__(self, lock: Any) -> None:
        super().__init__()
        self.lock = lock

    def park(self, g: G, reason: str, front: bool = False) -> Any:
        """Queue ``g`` to wait here for ``reason``; returns the lock, which
        the G yields (``yield q.park(g, reason)``). Lock held."""
        g.waitreason = reason
        g.waitchan = self
        if front:
            self.appendleft(g)
        else:
            self.append(g)
        return self.lock

    def live(self) -> bool:
        """Drop dead waiters from the head; is a live one left? Lock held."""
        while self:
            if self[0].coro is not None:
                return True
            self.popleft()
        return False

    def dequeue(self) -> G | None:
        """Take the oldest live waiter off, or None. Lock held."""
        while self:
            g = self.popleft()
            if g.coro is not None:
                return g
        return None

    def dequeue_all(self) -> list[G]:
        """Take every live waiter off, oldest first. Lock held."""
        ws = [g for g in self if g.coro is not None]
        self.clear()
        return ws

    def wake_one(self, value: Any = None) -> bool:
        """Lock held. With a live waiter queued: take the oldest off, leave
        ``value`` as its resume value, release the lock, then ready it, and
        return True. With none: return False, the lock still held (the
        caller goes on under it)."""
        while self:
            g = self.popleft()
            if g.coro is not None:
                g.param = value
                self.lock.release()
                # wake(g), written out: this is the contended unlock's path.
                m = getattr(_tls, "m", None)
                if m is not None or current_sched() is not None:
                    ready(g, m)
                return True
        return False

    def _forget(self, g: G) -> None:
        """The end of a run abandons ``g``: take it off if it is here. Takes
        the lock (the G's ``waitchan`` protocol, see _schedule.unhook)."""
        with self.lock:
            try:
                self.remove(g)
            except ValueError:
                pass


def wake(g: G) -> None:
    """Ready one dequeued waiter. No sync object's lock held."""
    m = getattr(_tls, "m", None)
    if m is None and current_sched() is None:
        return  # no run in progress: a leftover of a run that has ended
    ready(g, m)


def wake_all(gs: list[G]) -> None:
    """Ready every dequeued waiter in ``gs``, in order. No sync object's lock held."""
    m = getattr(_tls, "m", None)
    if m is None and current_sched() is None:
        return
    for g in gs:
        ready(g, m)
