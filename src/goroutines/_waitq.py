"""The wait queue every goroutine-parking sync primitive shares.

A primitive (Mutex, RWMutex, WaitGroup, Once, Cond, Semaphore) keeps its
waiting goroutines as a FIFO ``deque[G]`` guarded by the primitive's own
``_lock`` (made by ``new_lock()``). The protocol, Go's gopark with an unlock
function:

* Parking: under the lock the goroutine sets ``g.waitreason`` and
  ``g.waitchan`` (the primitive, so that shutdown can call its
  ``_forget(g)``), appends its G, and yields the lock to its M. The M marks
  the G waiting and only then releases the lock, so a waker that dequeues the
  G under the lock always finds it parked: no wake-up is lost and a G is
  never readied while it still runs.
* Waking: a waker dequeues the G under the lock, may leave a resume value in
  ``g.param`` (a :class:`Resume` marker, seen by the parked code as the value
  of its ``yield``), releases the lock and only then calls :func:`wake`.
  Exactly one waker dequeues a given G. While a G waits, ``g.param`` may hold
  what it waits for (a Semaphore waiter's weight), written before it queues.
* A waiter is dead when its goroutine was closed by the end of its run
  without being taken off the queue (shutdown forgets the waiters of the
  goroutines parked when the run ends, but not of one that parks later, from
  inside a call it was still in): :func:`live` and :func:`all_live` skip them,
  since readying one would crash a later run.

The helpers here hold no lock of their own: the caller holds the
primitive's lock for :func:`live`, :func:`all_live` and :func:`forget_in`,
and no primitive lock for :func:`wake` / :func:`wake_all` (which take
Sched.lock inside ``ready``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import Any

from ._core import G, M, _tls, current_sched, ready

__all__ = [
    "GRANTED",
    "HANDOFF",
    "NOTHING",
    "WOKEN",
    "Resume",
    "all_live",
    "check_int",
    "forget_in",
    "live",
    "wake",
    "wake_all",
]


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


class _Nothing:
    """An awaitable that completes at once with None (for ``__aexit__``)."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, Any, None]:
        return
        yield  # pragma: no cover - makes this a generator


NOTHING = _Nothing()


def wake(g: G) -> None:
    """Ready one dequeued waiter. No primitive lock held."""
    m: M | None = getattr(_tls, "m", None)
    if m is None and current_sched() is None:
        return  # no run in progress: a leftover of a run that has ended
    ready(g, m)


def wake_all(gs: list[G]) -> None:
    """Ready every dequeued waiter in ``gs``, in order. No primitive lock held."""
    m: M | None = getattr(_tls, "m", None)
    if m is None and current_sched() is None:
        return
    for g in gs:
        ready(g, m)


def live(q: deque[G]) -> bool:
    """Drop dead waiters from the front of ``q``; is a live one left? Lock held."""
    while q:
        if q[0].coro is not None:
            return True
        q.popleft()
    return False


def all_live(q: deque[G]) -> list[G]:
    """Take every live waiter off ``q``. Lock held."""
    ws = [g for g in q if g.coro is not None]
    q.clear()
    return ws


def forget_in(q: deque[G], g: G) -> None:
    """Take ``g`` off ``q`` if it is there. Lock held."""
    try:
        q.remove(g)
    except ValueError:
        pass


def check_int(n: Any, who: str, what: str = "delta") -> int:
    """``n`` if it is an int (not a bool), else a TypeError naming ``who``."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{who}: {what} must be an int, not {type(n).__name__} ({n!r})")
    return n
