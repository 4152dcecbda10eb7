"""Semaphore: Go's weighted semaphore (golang.org/x/sync/semaphore.Weighted).

``Semaphore(n)`` holds ``n`` units. ``await s.acquire(k)`` takes ``k`` of
them, parking the goroutine (never its thread) until they are free;
``s.try_acquire(k)`` takes them only if that needs no wait; ``s.release(k)``
gives them back and wakes waiters.

Waiters are served strictly FIFO, as Go's: a waiter at the head that needs
more than is free blocks every waiter behind it, even ones small enough to
fit now, so a large request is never starved by a stream of small ones (and
``acquire`` never barges ahead of a waiter, not even when units are free).

Where Go's ``Acquire(ctx, n)`` with ``n`` above the size blocks until ``ctx``
is done, ``acquire`` here has no context to end that wait, so asking for more
than the semaphore can ever hold is a ``ValueError`` at once rather than a
goroutine parked forever; ``try_acquire`` of that much returns False, as
Go's ``TryAcquire`` does. A weight of 0 is allowed (Go's is): it waits only
for the waiters queued before it.

Locks: ``_lock`` (from ``lock_kind()``) guards ``_cur`` and ``_waiters`` (a
``_core.WaitQueue``); ``_size`` is immutable. It is a leaf: waking happens
after its release. While a goroutine waits, its ``G.param`` holds the
weight it asked for; the releaser that grants the weight replaces it with
``GRANTED`` (see _core/_waitq.py).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ._core import GRANTED, RANK_SYNC, WAIT_SEMAPHORE, G, WaitQueue, current, lock_kind, locked_by, wake_all
from ._errors import check_int

__all__ = ["Semaphore"]


_new_sema_lock = lock_kind("Semaphore lock", RANK_SYNC)


class Semaphore:
    """Go's ``semaphore.Weighted``: ``await s.acquire(k=1)``,
    ``s.try_acquire(k=1) -> bool``, ``s.release(k=1)``; FIFO waiters.

    A plain object: it may be created anywhere (module level, before
    ``run``) and used by the goroutines of any later run. ``release`` may be
    called from any goroutine or plain thread (a semaphore is not owned).
    """

    __slots__ = ("_lock", "_size", "_cur", "_waiters", "_acquire1")

    def __init__(self, n: int) -> None:
        check_int(n, "Semaphore", "n (its size)")
        if n < 0:
            raise ValueError(f"Semaphore: size {n} is negative; give the number of units it holds (0 or more)")
        self._lock = lk = _new_sema_lock()
        self._size = n
        self._cur = 0  # units held now
        self._waiters = WaitQueue(lk)
        # acquire(1), the common case, returns this one op (ops are reusable).
        self._acquire1 = _Acquire(self, 1, WAIT_SEMAPHORE) if n >= 1 else None

    def _weight(self, k: Any, who: str) -> int:
        check_int(k, who, "k (the weight)")
        if k < 0:
            raise ValueError(f"{who}: weight {k} is negative; acquire and release 0 or more units")
        return k

    def acquire(self, k: int = 1) -> _Acquire:
        """``await s.acquire(k)``: take ``k`` units, waiting (FIFO) until free.

        ``k`` larger than the semaphore's size could never be granted:
        ``ValueError`` (Go would block until its context is done).
        """
        if k == 1 and type(k) is int and self._acquire1 is not None:
            return self._acquire1
        self._weight(k, "Semaphore.acquire")
        if k > self._size:
            raise ValueError(
                f"Semaphore.acquire: weight {k} is more than the semaphore's size {self._size}; "
                "it could never be acquired"
            )
        return _Acquire(self, k, WAIT_SEMAPHORE)

    def try_acquire(self, k: int = 1) -> bool:
        """Take ``k`` units if they are free and nobody waits; never blocks."""
        self._weight(k, "Semaphore.try_acquire")
        with self._lock:
            if self._size - self._cur >= k and not (self._waiters and self._waiters.live()):
                self._cur += k
                return True
            return False

    def release(self, k: int = 1) -> None:
        """Give back ``k`` units; ``ValueError`` (nothing changed) if fewer are held."""
        if type(k) is not int or k < 0:
            self._weight(k, "Semaphore.release")
        lk = self._lock
        lk.acquire()
        if k > self._cur:
            cur = self._cur
            lk.release()
            raise ValueError(
                f"semaphore: released more than held (release({k}) with {cur} held); "
                "release only what you acquired"
            )
        self._cur -= k
        ws = self._grant_locked() if self._waiters else None
        lk.release()
        if ws:
            wake_all(ws)

    @locked_by("_lock", "Semaphore._lock")
    def _grant_locked(self) -> list[G]:
        """Grant the waiters at the head whose weight fits, in order (Go's
        notifyWaiters): stop at the first that does not, so it is not
        overtaken. Lock held; the caller wakes the returned Gs after release."""
        q = self._waiters
        ws: list[G] = []
        while q.live():
            g = q[0]
            need: int = g.param
            if self._size - self._cur < need:
                break
            self._cur += need
            q.popleft()
            g.param = GRANTED
            ws.append(g)
        return ws

    @property
    def size(self) -> int:
        """The number of units the semaphore holds in all."""
        return self._size

    @property
    def held(self) -> int:
        """Units acquired and not yet released (a snapshot)."""
        return self._cur

    # The end of a run drops an abandoned waiter (WaitQueue._forget); every
    # waiter queued behind it belongs to the same ended run and is dropped
    # too, so nobody needs granting then (a later acquire skips dead
    # waiters itself).

    def __repr__(self) -> str:
        return f"<Semaphore held={self._cur}/{self._size} waiters={len(self._waiters)}>"


class _Acquire:
    """``await s.acquire(k)``; ``reason`` is the wait reason dumps show."""

    __slots__ = ("sem", "k", "reason")

    def __init__(self, sem: Semaphore, k: int, reason: str) -> None:
        self.sem = sem
        self.k = k
        self.reason = reason

    def __await__(self) -> Generator[Any, Any, None]:
        m = current("Semaphore.acquire()")
        s = self.sem
        k = self.k
        lk = s._lock
        lk.acquire()
        q = s._waiters
        if s._size - s._cur >= k and not (q and q.live()):
            s._cur += k
            lk.release()
            return
        g = m.curg
        assert g is not None
        g.param = k
        try:
            yield q.park(g, self.reason)  # a releaser grants us the units (GRANTED)
        except GeneratorExit:
            # Abandoned when its run ended: give back units granted to us.
            if g.param is GRANTED:
                g.param = None
                s.release(k)
            raise
