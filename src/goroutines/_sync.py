"""sync: WaitGroup, Mutex, RWMutex and Once (Go's package sync).

They park goroutines, never threads, on the runtime's wait queue
(``_core.WaitQueue``, _core/_waitq.py, where the protocol is written): a
goroutine that must wait parks on one of the object's queues and yields the
object's own lock to its M, which marks the G waiting and only then
releases the lock (Go's gopark with an unlock function), so no wake-up can
be lost. A waker dequeues the G under that lock, leaves the resume value in
``G.param``, releases the lock and only then wakes the G. Exactly one waker
dequeues a given G.

Each object's ``_lock`` (made by ``lock_kind()``: the C Lock, or a
threading.Lock on the pure paths) guards every other field of it, its wait
queues included. Lock order: a sync object's ``_lock`` is a leaf, except
that waking takes Sched.lock (inside ready()) after it has been released. None of these
objects holds a reference to a run: they are plain, can be created at module
level or before ``run`` and be used by the goroutines of a later run. When a
run ends:

* the runtime drops the waiters of abandoned goroutines from the queues
  (``WaitQueue._forget``); a waiter it could not drop (one that parked only
  after that, from inside a call it was still in) is dead once closed, and
  is skipped;
* the runtime closes abandoned goroutines, so a lock held through
  ``async with`` (or released in a ``finally``) is released; a lock merely
  ``lock()``-ed by an abandoned goroutine stays held, as if it still lived;
* a lock already granted to a waiter that never got to run is given back.

Mutex fairness, as Go's sync.Mutex (normal mode plus starvation mode):

* Normal mode: ``unlock`` frees the mutex and wakes the oldest waiter, which
  then competes for it with goroutines that are calling ``lock`` right now.
  A newcomer is already running, so it usually wins; the woken waiter then
  goes back to the *front* of the queue. This keeps throughput high: a
  goroutine that unlocks and locks again in a loop does not force a
  goroutine switch per iteration (a switch costs microseconds in Python, far
  more than the lock itself). Only one woken waiter is in flight at a time.
* Starvation mode: a waiter that has waited more than 1 ms (Go's
  starvationThresholdNs) switches the mutex to starvation mode when it fails
  again. Then ``unlock`` hands ownership straight to the oldest waiter (the
  mutex never becomes free) and newcomers queue at the tail, so the tail
  latency is bounded. The mode ends when a waiter that got the mutex waited
  less than 1 ms, or was the last waiter.

Plain FIFO hand-off on every unlock would be simpler and perfectly fair, but
it turns every contended lock into a goroutine switch (a lock convoy); Go's
hybrid keeps the fast path of normal mode and the fairness guarantee.

RWMutex prefers writers, as Go's does: once a writer waits, new readers
queue behind it; when the readers holding the lock leave, the writer gets
it; when a writer unlocks, every reader that queued meanwhile gets the lock
(as a batch), before the next writer. Neither side starves.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._core import (
    GRANTED,
    HANDOFF,
    RANK_SYNC,
    WAIT_MUTEX,
    WAIT_ONCE,
    WAIT_RWMUTEX,
    WAIT_WAITGROUP,
    WOKEN,
    G,
    WaitQueue,
    current,
    current_sched,
    lock_kind,
    speedups,
    wake,
    wake_all,
)
from ._errors import check_int

__all__ = ["Mutex", "Once", "RWMutex", "WaitGroup"]

_monotonic = time.monotonic

STARVATION_THRESHOLD = 0.001
"""Seconds a Mutex waiter waits before it switches the mutex to starvation
mode (Go's starvationThresholdNs, 1 ms)."""


_new_wg_lock = lock_kind("WaitGroup lock", RANK_SYNC)
_new_mutex_lock = lock_kind("Mutex lock", RANK_SYNC)
_new_rwmutex_lock = lock_kind("RWMutex lock", RANK_SYNC)
_new_once_lock = lock_kind("Once lock", RANK_SYNC)


class _Nothing:
    """An awaitable that completes at once with None (for ``__aexit__``)."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, Any, None]:
        return
        yield  # pragma: no cover - makes this a generator


NOTHING = _Nothing()


# ---------------------------------------------------------------------- WaitGroup


class WaitGroup:
    """Go's sync.WaitGroup: wait for a collection of goroutines to finish.

    ``wg.add(n)`` before starting n goroutines, ``wg.done()`` in each when it
    finishes, ``await wg.wait()`` to wait until the counter is zero. A
    WaitGroup may be reused once ``wait`` has returned.
    """

    __slots__ = ("_lock", "_n", "_waiters", "_wait_op")

    def __init__(self) -> None:
        self._lock = lk = _new_wg_lock()
        self._n = 0
        self._waiters = WaitQueue(lk)
        self._wait_op = _WaitGroupWait(self)

    def add(self, delta: int) -> None:
        """Add ``delta`` (may be negative) to the counter.

        When the counter reaches zero every goroutine blocked in ``wait`` is
        released. A counter that would go negative raises ``ValueError`` and
        is left unchanged.
        """
        if type(delta) is not int:  # the check's own call only when it may fail
            check_int(delta, "WaitGroup.add")
        lk = self._lock
        lk.acquire()
        n = self._n + delta
        if n < 0:
            old = self._n
            lk.release()
            raise ValueError(
                f"sync: negative WaitGroup counter (add({delta}) with counter {old}); "
                "call done() once per add(1)"
            )
        self._n = n
        if n == 0 and self._waiters:
            ws = self._waiters.dequeue_all()
            lk.release()
            wake_all(ws)
            return
        lk.release()

    def done(self) -> None:
        """Decrement the counter by one (``add(-1)``)."""
        self.add(-1)

    def wait(self) -> _WaitGroupWait:
        """``await wg.wait()``: block until the counter is zero."""
        return self._wait_op

    @property
    def count(self) -> int:
        """The counter now (a snapshot)."""
        return self._n

    def __repr__(self) -> str:
        return f"<WaitGroup count={self._n} waiters={len(self._waiters)}>"


class _WaitGroupWait:
    """``await wg.wait()``; ``reason`` is the wait reason dumps show (an
    ErrGroup's wait is a WaitGroup's, shown as its own)."""

    __slots__ = ("wg", "reason")

    def __init__(self, wg: WaitGroup, reason: str = WAIT_WAITGROUP) -> None:
        self.wg = wg
        self.reason = reason

    def __await__(self) -> Generator[Any, Any, None]:
        m = current("WaitGroup.wait()")
        wg = self.wg
        lk = wg._lock
        lk.acquire()
        if wg._n == 0:
            lk.release()
            return
        g = m.curg
        assert g is not None
        yield wg._waiters.park(g, self.reason)


# ---------------------------------------------------------------------- Mutex


class Mutex:
    """Go's sync.Mutex: ``await mu.lock()`` / ``mu.unlock()``, or ``async with mu:``.

    Not owned: any goroutine (or thread) may unlock a mutex another
    goroutine locked. Unlocking an unlocked mutex raises ``RuntimeError``.
    Fairness: Go's normal mode plus starvation mode (see the module
    docstring).
    """

    __slots__ = ("_lock", "_locked", "_starving", "_woken", "_waiters", "_lock_op")

    def __init__(self) -> None:
        self._lock = lk = _new_mutex_lock()
        self._locked = False
        # True only while _locked: unlock hands the mutex to the oldest waiter.
        self._starving = False
        # The run (Sched) in which a woken waiter is on its way to retry, or
        # None. While one is in flight, unlock wakes nobody else (Go's
        # mutexWoken). Keyed by run so a waiter abandoned when a run ended
        # cannot block wake-ups in a later run.
        self._woken: Any = None
        self._waiters = WaitQueue(lk)
        self._lock_op = _MutexLock(self)

    def lock(self) -> _MutexLock:
        """``await mu.lock()``: lock the mutex, waiting while it is locked."""
        return self._lock_op

    def try_lock(self) -> bool:
        """Lock the mutex if it is free now (Go's TryLock); never blocks."""
        with self._lock:
            if self._locked:
                return False
            self._locked = True
            return True

    def unlock(self) -> None:
        """Unlock the mutex; ``RuntimeError`` if it is not locked."""
        lk = self._lock
        lk.acquire()
        if not self._locked:
            lk.release()
            raise RuntimeError("sync: unlock of unlocked mutex (Mutex.unlock() called on a Mutex that is not locked)")
        q = self._waiters
        if self._starving:
            if q and q.wake_one(HANDOFF):
                return  # starvation mode: ownership passed to the oldest waiter
            self._starving = False
        self._locked = False
        if q and q.live():
            sched = current_sched()
            if self._woken is None or self._woken is not sched:
                self._woken = sched
                q.wake_one(WOKEN)
                return
        lk.release()

    def locked(self) -> bool:
        """Whether the mutex is locked now (a snapshot)."""
        return self._locked

    def __aenter__(self) -> _MutexLock:
        return self._lock_op

    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Awaitable[None]:
        self.unlock()
        return NOTHING

    def __repr__(self) -> str:
        state = "locked" if self._locked else "unlocked"
        if self._starving:
            state += ", starving"
        return f"<Mutex {state} waiters={len(self._waiters)}>"


class _MutexLock:
    __slots__ = ("mu",)

    def __init__(self, mu: Mutex) -> None:
        self.mu = mu

    def __await__(self) -> Generator[Any, Any, None]:
        m = current("Mutex.lock()")
        mu = self.mu
        lk = mu._lock
        lk.acquire()
        if not mu._locked:
            # Free (never the case in starvation mode: the mutex is handed
            # over without becoming free). Newcomers may barge ahead of a
            # woken waiter: that is normal mode.
            mu._locked = True
            lk.release()
            return
        g = m.curg
        assert g is not None
        start = _monotonic()
        starving = False
        front = False
        while True:
            # lk held; the mutex is locked.
            if starving:
                mu._starving = True
            try:
                r = yield mu._waiters.park(g, WAIT_MUTEX, front)
            except GeneratorExit:
                # Abandoned when its run ended. If the mutex had already been
                # handed to us, nobody else would ever release it.
                if g.param is HANDOFF:
                    g.param = None
                    mu.unlock()
                raise
            starving = starving or _monotonic() - start > STARVATION_THRESHOLD
            lk.acquire()
            if r is HANDOFF:
                # We own it (it never became free). Leave starvation mode if
                # we did not wait long, or nobody is left to starve.
                if not starving or not mu._waiters:
                    mu._starving = False
                lk.release()
                return
            # Woken in normal mode: compete with newcomers.
            mu._woken = None
            if not mu._locked:
                mu._locked = True
                lk.release()
                return
            front = True  # lost the race: keep our place at the front


if speedups is not None and not TYPE_CHECKING:
    # The C fast paths (_core/_speedups.c, "sync"): Mutex.lock/unlock (and
    # async with), _MutexLock's await, WaitGroup.add/done and
    # _WaitGroupWait's await do their common case in C -- a free mutex, an
    # unlock with nobody waiting or waking one waiter, the counter, a wait
    # that returns at once or parks -- and call the methods defined above,
    # which stay the definition, for everything else (and for everything
    # with set_fast(False), as in debug mode).
    for _cls, _name, _meth in speedups.setup_sync(
        Mutex, _MutexLock, WaitGroup, _WaitGroupWait, WaitQueue, WOKEN, HANDOFF, NOTHING, globals(), WAIT_MUTEX
    ):
        setattr(_cls, _name, _meth)


# ---------------------------------------------------------------------- RWMutex


class RWMutex:
    """Go's sync.RWMutex: many readers or one writer.

    ``await rw.rlock()`` / ``rw.runlock()`` for reading, ``await rw.lock()``
    / ``rw.unlock()`` (or ``async with rw:``) for writing, ``async with
    rw.rlocker():`` for reading in a block. A waiting writer blocks new
    readers, so writers are not starved; a writer's unlock admits every
    reader that queued meanwhile before the next writer. Not owned, as in Go.
    """

    __slots__ = ("_lock", "_readers", "_writer", "_rq", "_wq", "_rlock_op", "_wlock_op")

    def __init__(self) -> None:
        self._lock = lk = _new_rwmutex_lock()
        self._readers = 0  # readers holding the lock
        self._writer = False  # a writer holds the lock
        self._rq = WaitQueue(lk)  # readers waiting (only while a writer holds or waits)
        self._wq = WaitQueue(lk)  # writers waiting
        self._rlock_op = _RWLock(self, False)
        self._wlock_op = _RWLock(self, True)

    def rlock(self) -> _RWLock:
        """``await rw.rlock()``: lock for reading."""
        return self._rlock_op

    def lock(self) -> _RWLock:
        """``await rw.lock()``: lock for writing."""
        return self._wlock_op

    def try_rlock(self) -> bool:
        """Lock for reading if that needs no wait (Go's TryRLock)."""
        with self._lock:
            if self._writer or (self._wq and self._wq.live()):
                return False
            self._readers += 1
            return True

    def try_lock(self) -> bool:
        """Lock for writing if that needs no wait (Go's TryLock)."""
        with self._lock:
            if self._writer or self._readers or (self._wq and self._wq.live()):
                return False
            self._writer = True
            return True

    def runlock(self) -> None:
        """Undo one ``rlock``; ``RuntimeError`` if not locked for reading."""
        lk = self._lock
        lk.acquire()
        if self._readers <= 0:
            lk.release()
            raise RuntimeError(
                "sync: RUnlock of unlocked RWMutex (RWMutex.runlock() without a matching rlock())"
            )
        self._readers -= 1
        g = self._wq.dequeue() if self._readers == 0 and self._wq else None
        if g is not None:
            # The last reader out lets the first waiting writer in.
            self._writer = True
            g.param = GRANTED
            lk.release()
            wake(g)
            return
        lk.release()

    def unlock(self) -> None:
        """Undo ``lock``; ``RuntimeError`` if not locked for writing."""
        lk = self._lock
        lk.acquire()
        if not self._writer:
            lk.release()
            raise RuntimeError(
                "sync: Unlock of unlocked RWMutex (RWMutex.unlock() while not locked for writing"
                + ("; use runlock() to release a read lock)" if self._readers else ")")
            )
        self._writer = False
        ws = self._rq.dequeue_all() if self._rq else None
        if ws:
            # Admit every reader that queued while we held it, as one batch.
            self._readers += len(ws)
            for r in ws:
                r.param = GRANTED
            lk.release()
            wake_all(ws)
            return
        w = self._wq.dequeue() if self._wq else None
        if w is not None:
            self._writer = True
            w.param = GRANTED
            lk.release()
            wake(w)
            return
        lk.release()

    def rlocker(self) -> RLocker:
        """A lock whose ``lock``/``unlock`` (and ``async with``) read-lock this one."""
        return RLocker(self)

    def __aenter__(self) -> _RWLock:
        return self._wlock_op

    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Awaitable[None]:
        self.unlock()
        return NOTHING

    def __repr__(self) -> str:
        return (
            f"<RWMutex readers={self._readers} writer={self._writer} "
            f"waiting readers={len(self._rq)} writers={len(self._wq)}>"
        )


class _RWLock:
    __slots__ = ("rw", "write")

    def __init__(self, rw: RWMutex, write: bool) -> None:
        self.rw = rw
        self.write = write

    def __await__(self) -> Generator[Any, Any, None]:
        write = self.write
        m = current("RWMutex.lock()" if write else "RWMutex.rlock()")
        rw = self.rw
        lk = rw._lock
        lk.acquire()
        wq = rw._wq
        if write:
            if not rw._writer and not rw._readers and not (wq and wq.live()):
                rw._writer = True
                lk.release()
                return
            q = wq
        else:
            if not rw._writer and not (wq and wq.live()):
                rw._readers += 1
                lk.release()
                return
            q = rw._rq
        g = m.curg
        assert g is not None
        try:
            yield q.park(g, WAIT_RWMUTEX)  # the waker grants us the lock (_writer, or _readers += 1)
        except GeneratorExit:
            # Abandoned when its run ended: give back a lock granted to us.
            if g.param is GRANTED:
                g.param = None
                if write:
                    rw.unlock()
                else:
                    rw.runlock()
            raise


class RLocker:
    """``rw.rlocker()``: the read side of an RWMutex as a plain lock."""

    __slots__ = ("rw",)

    def __init__(self, rw: RWMutex) -> None:
        self.rw = rw

    def lock(self) -> _RWLock:
        return self.rw._rlock_op

    def unlock(self) -> None:
        self.rw.runlock()

    def __aenter__(self) -> _RWLock:
        return self.rw._rlock_op

    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Awaitable[None]:
        self.rw.runlock()
        return NOTHING


# ---------------------------------------------------------------------- Once


class Once:
    """Go's sync.Once: ``await once.do(fn)`` runs ``fn`` exactly once.

    ``fn`` is a plain function or an ``async def`` function (anything whose
    result is awaitable is awaited). Callers that arrive while the first is
    still running ``fn`` wait until it has finished. ``fn`` counts as done
    even when it raises: the exception reaches the caller that ran it, and
    later calls return without running anything (as in Go, where a panic
    in f still marks the Once done). ``do`` returns None.
    """

    __slots__ = ("_lock", "_done", "_runner", "_waiters")

    def __init__(self) -> None:
        self._lock = lk = _new_once_lock()
        self._done = False
        self._runner: G | None = None  # the goroutine running fn now
        self._waiters = WaitQueue(lk)

    def do(self, fn: Callable[[], Any]) -> _OnceDo:
        if not callable(fn):
            raise TypeError(f"Once.do: {fn!r} ({type(fn).__name__}) is not callable; pass a function")
        return _OnceDo(self, fn)

    @property
    def done(self) -> bool:
        """Whether ``fn`` has run (a snapshot)."""
        return self._done

    def __repr__(self) -> str:
        state = "done" if self._done else ("running" if self._runner is not None else "not done")
        return f"<Once {state}>"


class _OnceDo:
    __slots__ = ("once", "fn")

    def __init__(self, once: Once, fn: Callable[[], Any]) -> None:
        self.once = once
        self.fn = fn

    def __await__(self) -> Generator[Any, Any, None]:
        m = current("Once.do()")
        o = self.once
        g = m.curg
        assert g is not None
        lk = o._lock
        lk.acquire()
        if o._done:
            lk.release()
            return
        if o._runner is not None:
            if o._runner is g:
                lk.release()
                raise RuntimeError(
                    "sync: Once.do called from inside its own fn; it would wait for itself forever"
                )
            yield o._waiters.park(g, WAIT_ONCE)  # woken once fn has finished
            return
        o._runner = g
        lk.release()
        try:
            r = self.fn()
            if inspect.isawaitable(r):
                yield from r.__await__()
        finally:
            with lk:
                o._done = True
                o._runner = None
                ws = o._waiters.dequeue_all()
            if ws:
                wake_all(ws)
