"""Debug mode: the runtime's written rules, checked (``GOROUTINES_DEBUG=1``).

The runtime's rules are written next to the code: which lock a ``*_locked``
function needs, the order locks are taken in (docs/design.md, "Locks"),
which G and P status changes are legal (_g.py, _sched.py), and what holds
between Sched's lists (``_invariants.check_invariants``). With
``GOROUTINES_DEBUG`` set to anything but ``""`` or ``0`` in the environment
when the package is imported, they are checked as the program runs (as
Go checks lock ranks in a runtime built with GOEXPERIMENT=staticlockranking,
and status changes in casgstatus always):

  * **Lock ownership.** The runtime's locks (channel, sync primitive,
    timer, context and Sched locks, Netpoll.lock, the plain threads'
    registry, a G's stacklock) are made by :func:`lock_kind` /
    :func:`checked`; in debug mode each is a :class:`CheckedLock` that
    records the thread holding it. Every ``*_locked`` function is
    decorated with :func:`locked_by`, which asserts that the calling
    thread holds the lock it names.
  * **Lock ranks.** Each thread keeps the stack of CheckedLocks it holds.
    An acquire that could wait forever (blocking, no timeout) of a lock
    whose rank is below one held, or equal to one held, raises -- except
    channel locks, several of which select takes in ``id()`` order of their
    channels: equal rank is allowed there in increasing ``key`` order. A
    try-acquire (non-blocking, or with a timeout) cannot deadlock and is
    not ranked (a dump tries G stacklocks under Sched.lock).
  * **Status transitions.** Every write of a G's or P's status goes through
    ``_g.casgstatus`` / ``_sched.setpstatus``, which in debug mode check the
    status is what the caller says it is and the change is in the table.
  * **Invariants.** Every M about to go idle runs ``check_invariants``
    (_invariants.py) before the deadlock check, and a declared deadlock
    must find every goroutine waiting (else it is a lost wake-up).

A broken rule raises :class:`~goroutines._errors.RuntimeBug` naming the
lock, goroutine or status, and is recorded in :data:`violations` (the test
suite fails a test that left one, in case a runtime thread swallowed it).

Off (the default), nothing here is on any path: ``lock_kind`` returns the
plain lock maker, ``checked`` its argument, ``locked_by`` the function
itself, and the status functions are a plain store (written inline, behind
a test of DEBUG, where every goroutine switch passes: see _g.py).

The C fast paths (_speedups.c) take channel locks and write G statuses
without calling Python, so they would escape every check: in debug mode
they are switched off at import (``_speedups.set_fast(False)``, counted by
``fallbacks()["off"]``), and the Python definitions run, checked. (The C
rings stay in use; the checked locks are C recursive locks, see
CheckedLock.)

This module is a leaf: it imports only _errors.
"""

from __future__ import annotations

import functools
import operator
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .._errors import RuntimeBug, throw

DEBUG: bool = os.environ.get("GOROUTINES_DEBUG", "").strip() not in ("", "0")

# Lock ranks (docs/design.md, "Locks"): a thread holding a lock may take
# only locks of a higher rank (channel locks: also more channel locks, in
# key order).
RANK_STACK = 0  # G.stacklock: held by an M around a resume; dumps only try it
RANK_CONTEXT = 1  # a context's lock: then its done channel's lock
RANK_CHAN = 2  # channel locks (a timer's channel too); several in id() order
RANK_COND = 3  # a Cond's lock: its wait unlocks the Cond's Mutex under it
RANK_SYNC = 4  # sync primitives, Semaphore, ErrGroup, after_func timers
RANK_SCHED = 5  # Sched.lock
RANK_LEAF = 6  # Netpoll.lock, the plain threads' registry, Sched.rand_lock

RANK_NAMES = {
    RANK_STACK: "G stack locks",
    RANK_CONTEXT: "context locks",
    RANK_CHAN: "channel locks",
    RANK_COND: "Cond locks",
    RANK_SYNC: "sync and timer locks",
    RANK_SCHED: "Sched.lock",
    RANK_LEAF: "leaf locks",
}

# Ranks of which a thread may hold several, taken in increasing key order.
MULTI_RANKS = frozenset({RANK_CHAN})

# Every rule broken in this process, oldest first (the message of each).
violations: list[str] = []
_violations_lock = threading.Lock()

# The CheckedLocks this thread has taken, oldest first; an entry it has
# released since is stale (see held()).
_tls = threading.local()

# The C recursive lock: its owner is recorded by its own acquire and checked
# by its own release, atomically (see CheckedLock).
_RLock: Any = type(threading.RLock())
_rlock_acquire = _RLock.acquire
_rlock_release = _RLock.release


def violation(what: str) -> RuntimeBug:
    """Record a broken rule; returns the error for the caller to raise."""
    with _violations_lock:
        violations.append(what)
    return throw(f"debug check: {what}")


def _thread_name() -> str:
    t = threading.current_thread()
    return f"thread {t.name!r}"


def _taken() -> list[CheckedLock]:
    """This thread's list of taken locks, stale entries and all."""
    try:
        h: list[CheckedLock] = _tls.held
    except AttributeError:
        h = _tls.held = []
    return h


def held() -> list[CheckedLock]:
    """The CheckedLocks the calling thread holds, oldest first."""
    h = _taken()
    for x in h:
        if not x._is_owned():
            h[:] = [x for x in h if x._is_owned()]
            break
    return h


def _holder(lock: Any) -> str:
    """Who holds ``lock``, for a message (the C lock's repr names its owner)."""
    r = _RLock.__repr__(lock) if isinstance(lock, _RLock) else ""
    i = r.find("owner=")
    owner = r[i + 6 :].split()[0] if i >= 0 else "?"
    return "nobody" if owner in ("0", "?") else f"thread ident {owner}"


class CheckedLock(_RLock):
    """A lock that knows its holder and rank (debug mode only).

    ``threading.Lock``'s API, built on the C recursive lock, which records
    its owner inside its own acquire and lets only the owner release it --
    both atomically, as a plain lock's acquire and release are: a Python
    wrapper that recorded the owner itself could be interrupted half-way by
    a signal handler's exception (Ctrl-C, pytest-timeout) and leave the lock
    taken with nobody to release it. So ``release`` and ``__exit__`` are the
    C lock's own (a release by a thread that does not hold it raises
    RuntimeError), and only ``acquire``/``__enter__`` are Python: they check
    the rank first, then acquire, undoing the acquire if an exception
    arrives before they return. It never recurses: a blocking acquire by
    its holder is a violation (it would wait for itself forever), a
    try-acquire by its holder fails, as a plain lock's does.

    ``key`` orders locks of a multi rank (a channel lock's is its channel's
    id(), select's order).
    """

    __slots__ = ("name", "rank", "key")

    def __init__(self, name: str, rank: int) -> None:
        self.name = name
        self.rank = rank
        self.key = id(self)

    def __repr__(self) -> str:
        return f"<{self.name} (rank {self.rank}: {RANK_NAMES.get(self.rank, '?')}) at {self.key:#x}>"

    def _check_order(self) -> None:
        for h in _taken():
            if h.rank < self.rank:
                continue
            if h.rank == self.rank and self.rank in MULTI_RANKS and h.key < self.key:
                continue
            if not h._is_owned():
                continue  # released since (a stale entry)
            if h.rank == self.rank and self.rank in MULTI_RANKS:
                why = f"holds {h!r}, of the same rank and a higher key (take them in increasing key order)"
            elif h.rank == self.rank:
                why = f"holds {h!r}, of the same rank (hold at most one at a time)"
            else:
                why = f"holds {h!r}, of a higher rank"
            raise violation(
                f"lock order: {_thread_name()} takes {self!r} but {why}; the order is "
                "docs/design.md's 'Locks'"
            )

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        forever = blocking and timeout < 0
        if self._is_owned():
            if forever:
                raise violation(
                    f"lock order: {_thread_name()} takes {self!r} but already holds it "
                    "(it would wait for itself forever)"
                )
            return False  # a plain lock's try-acquire by its holder fails
        if forever:
            self._check_order()
        try:
            ok: bool = _rlock_acquire(self, blocking, timeout)
            if ok:
                h = _taken()
                # An entry of this lock still on the list is a stale one (it
                # was not held a moment ago): drop it, so that a lock is on
                # the list once at most. Kept, a lock taken again and again
                # (a select's channels) piled up entries that the pruning
                # below keeps whenever it runs while that lock is held: the
                # list grew with every operation, and each acquire's
                # _check_order with it (10,000 selects took minutes).
                try:
                    h.remove(self)
                except ValueError:
                    pass
                h.append(self)
                if len(h) > 16:
                    held()  # drop the stale entries of try-acquired locks
            return ok
        except BaseException:
            # An asynchronous exception (a signal handler's) after the C
            # acquire: undo it, as if it had come just before.
            if self._is_owned():
                _rlock_release(self)
            raise

    __enter__ = acquire

    def locked(self) -> bool:
        if self._is_owned():
            return True
        if _rlock_acquire(self, False):
            _rlock_release(self)
            return False
        return True

    def held_by_me(self) -> bool:
        return bool(self._is_owned())


def make_lock_kind(new_lock: Callable[[], Any], name: str, rank: int) -> Callable[[], Any]:
    """The maker of one kind of the runtime's locks: ``new_lock`` itself when
    debug mode is off; else a maker of CheckedLocks (in place of
    ``new_lock()``'s)."""
    if not DEBUG:
        return new_lock

    def make() -> CheckedLock:
        return CheckedLock(name, rank)

    make.__qualname__ = make.__name__ = f"new {name}"
    return make


def checked(lock: Any, name: str, rank: int) -> Any:
    """``lock`` itself when debug mode is off, else a CheckedLock in its place."""
    return CheckedLock(name, rank) if DEBUG else lock


def assert_held(lock: Any, name: str, where: str) -> None:
    """Debug mode: the calling thread holds ``lock`` (a CheckedLock)."""
    if type(lock) is not CheckedLock:
        raise violation(f"{where} needs {name}, which is not a checked lock ({lock!r}): made outside lock_kind()")
    if not lock._is_owned():
        raise violation(
            f"lock not held: {where} needs {name} {lock!r}, but {_thread_name()} calls it; held by {_holder(lock)}"
        )


def holds_rank(rank: int) -> bool:
    """Debug mode: the calling thread holds a CheckedLock of ``rank``."""
    return any(h.rank == rank for h in held())


F = TypeVar("F", bound=Callable[..., Any])


def locked_by(path: str | None, name: str = "", rank: int | None = None) -> Callable[[F], F]:
    """Decorate a ``*_locked`` function with the lock it needs.

    ``path``: the lock as an attribute path from the first argument
    (``"lock"``: ``self.lock`` of a Sched method or ``sched.lock`` of a
    function taking the Sched first; ``"sched.lock"``: an M's Sched's). Or
    ``path=None`` with ``rank``: the caller holds some lock of that rank
    (an object that does not know its Sched: a fake clock). ``name`` names
    the lock in the message. Off: the function is returned unchanged.
    """

    def deco(fn: F) -> F:
        if not DEBUG:
            return fn
        where = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__qualname__}()"
        what = name or (path or "")
        if path is None:
            assert rank is not None

            @functools.wraps(fn)
            def by_rank(*args: Any, **kwargs: Any) -> Any:
                if not holds_rank(rank):
                    raise violation(
                        f"lock not held: {where} needs {what or RANK_NAMES[rank]}, but {_thread_name()} "
                        f"holds no lock of rank {rank} ({RANK_NAMES[rank]})"
                    )
                return fn(*args, **kwargs)

            return by_rank  # type: ignore[return-value]
        get = operator.attrgetter(path)

        @functools.wraps(fn)
        def by_path(*args: Any, **kwargs: Any) -> Any:
            assert_held(get(args[0]), what, where)
            return fn(*args, **kwargs)

        return by_path  # type: ignore[return-value]

    return deco


def check_transition(
    kind: str, obj: Any, cur: int, old: int, new: int, legal: frozenset[tuple[int, int]], names: dict[int, str]
) -> None:
    """Debug mode: ``obj``'s status ``cur`` is ``old`` as its writer says,
    and ``old -> new`` is in ``legal``."""

    def n(s: int) -> str:
        return names.get(s, f"?{s}")

    if cur != old:
        raise violation(
            f"{kind} status: {obj!r} is {n(cur)}, but its writer expected {n(old)} (changing it to {n(new)})"
        )
    if (old, new) not in legal:
        ok = sorted(n(b) for a, b in legal if a == old)
        raise violation(
            f"{kind} status: {obj!r}: {n(old)} -> {n(new)} is not a legal transition "
            f"(from {n(old)}: {', '.join(ok) or 'none'})"
        )
