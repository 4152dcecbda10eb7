"""Cond: Go's sync.Cond, a condition variable over a goroutines lock.

    async with mu:
        while not ready():
            await c.wait()

``await c.wait()`` unlocks the Cond's lock, parks the goroutine (never its
thread) until ``signal()`` or ``broadcast()`` wakes it, then locks again
before it returns. As in Go, a woken waiter must re-check its condition: the
lock is free for others between the wake-up and the relock.

The lock is a ``Mutex`` (the contract's case), or any other goroutines lock
with ``lock()``/``unlock()``: an ``RWMutex`` (its write side) or
``rw.rlocker()`` (its read side), as Go's ``sync.Locker``.

No lost wake-up: ``wait`` parks its G on the Cond's wait queue (a
``_core.WaitQueue``) and unlocks the lock while holding the Cond's
``_lock``, and yields ``_lock`` to its M, which releases it only once the G
is parked. A ``signal`` or ``broadcast``
that follows the unlock therefore finds the waiter queued and parked (Go gets
the same from the tickets of its notifyList). Calling ``wait`` without the
lock held is the ``RuntimeError`` of the lock's unlock (Go: fatal error
"sync: unlock of unlocked mutex"); nothing is left queued then.

Locks: ``_lock`` (from ``lock_kind()``) guards ``_waiters``. Lock order:
``Cond._lock``, then the lock's own ``_lock`` (its unlock), then Sched.lock
(the unlock waking one of the lock's waiters). No lock's code calls into a
Cond, so the order has no cycle. ``signal`` and ``broadcast`` may be called
with or without the lock held, from a goroutine or a plain thread.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ._core import RANK_COND, WAIT_COND, WaitQueue, current, lock_kind, wake_all
from ._sync import Mutex, RLocker, RWMutex

__all__ = ["Cond"]

Locker = Mutex | RWMutex | RLocker


# Ranked before the other sync locks: wait() unlocks the Cond's Mutex under it.
_new_cond_lock = lock_kind("Cond lock", RANK_COND)


class Cond:
    """Go's ``sync.Cond``: ``await c.wait()``, ``c.signal()``, ``c.broadcast()``.

    A plain object, like the lock it is made over: it may be created
    anywhere and used by the goroutines of any later run.
    """

    __slots__ = ("_lock", "_l", "_waiters", "_wait_op")

    def __init__(self, mu: Locker) -> None:
        if not isinstance(mu, (Mutex, RWMutex, RLocker)):
            raise TypeError(
                f"Cond: mu must be a goroutines.Mutex (or an RWMutex, or rw.rlocker()), "
                f"not {type(mu).__name__} ({mu!r}); threading and asyncio locks cannot park goroutines"
            )
        self._lock = lk = _new_cond_lock()
        self._l = mu
        self._waiters = WaitQueue(lk)
        self._wait_op = _CondWait(self)

    @property
    def mu(self) -> Locker:
        """The lock ``wait`` unlocks and relocks (Go's ``c.L``)."""
        return self._l

    def wait(self) -> _CondWait:
        """``await c.wait()``: unlock ``mu``, park until signalled, lock ``mu`` again.

        ``mu`` must be locked (``RuntimeError`` otherwise).
        """
        return self._wait_op

    def signal(self) -> None:
        """Wake the goroutine that has waited longest, if any."""
        lk = self._lock
        lk.acquire()
        q = self._waiters
        if not (q and q.wake_one()):
            lk.release()

    def broadcast(self) -> None:
        """Wake every waiting goroutine (in the order they began to wait)."""
        lk = self._lock
        lk.acquire()
        ws = self._waiters.dequeue_all() if self._waiters else None
        lk.release()
        if ws:
            wake_all(ws)

    def __repr__(self) -> str:
        return f"<Cond over {self._l!r} waiters={len(self._waiters)}>"


class _CondWait:
    __slots__ = ("c",)

    def __init__(self, c: Cond) -> None:
        self.c = c

    def __await__(self) -> Generator[Any, Any, None]:
        m = current("Cond.wait()")
        c = self.c
        g = m.curg
        assert g is not None
        lk = c._lock
        lk.acquire()
        q = c._waiters
        q.park(g, WAIT_COND)
        try:
            c._l.unlock()  # under c._lock: see the module docstring
        except RuntimeError:
            q.pop()  # ours: nobody else can queue while we hold c._lock
            g.waitchan = None
            lk.release()
            raise RuntimeError(
                f"sync: Cond.wait() called without holding its lock ({c._l!r} is not locked); "
                "lock it first: async with mu: while not cond: await c.wait()"
            ) from None
        yield lk  # woken by signal() or broadcast()
        yield from c._l.lock().__await__()
