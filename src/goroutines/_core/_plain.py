"""Plain threads at the thread boundary, and what they mean for deadlock.

A plain thread (one not running goroutine code) can block on channels with
``send_blocking``/``recv_blocking``/``select_blocking`` and wake goroutines
at any time, so "no goroutine can ever run again" must count it. The rule,
checked by the last M to go idle (``Sched.checkdead_locked``) once every
other deadlock condition holds; a run is deadlocked only if also:

  1. no plain thread is inside one of the blocking calls now (process-wide:
     it may have entered one before this run started), and
  2. every live plain thread was already alive when the run started and has
     made no blocking call since;

not counting the runtime's own threads (Ms, sysmon, the schedtrace writer,
the asyncio loop thread) nor the thread that called ``run`` (it is blocked
in ``run``). A thread that was started during the run, or has used the
blocking calls during it, may still act until it exits. While only such
threads keep a run from being declared deadlocked, ``suppressed`` is set and
sysmon re-checks on every pass, so a deadlock is reported within its pacing
(at most 10 ms) after the last such thread exits or its call times out.

Locks: ``_lock`` guards ``_inside``, ``_runtime_threads`` and every
PlainThreads' ``used``; it is a leaf, taken under Sched.lock (by checkdead)
or alone (by the blocking calls). ``PlainThreads.before`` and ``caller`` are
written once, before the run's Sched is published; ``suppressed`` is
guarded by Sched.lock.
"""

from __future__ import annotations

import threading
import weakref

from ._check import RANK_LEAF, checked

_lock = checked(threading.Lock(), "_plain._lock", RANK_LEAF)
# Plain threads inside a blocking call now: thread -> nesting depth.
_inside: dict[threading.Thread, int] = {}
# Threads the runtime started for itself (they never count).
_runtime_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def mark_runtime_thread(t: threading.Thread) -> None:
    """``t`` belongs to the runtime (an M, sysmon, the asyncio loop, ...)."""
    with _lock:
        _runtime_threads.add(t)


class PlainThreads:
    """One run's view of the plain threads (``Sched.plain``)."""

    __slots__ = ("before", "used", "caller", "suppressed")

    def __init__(self) -> None:
        # Made by run() on the calling thread, before the run starts.
        self.before: weakref.WeakSet[threading.Thread] = weakref.WeakSet(threading.enumerate())
        self.caller = threading.current_thread()
        self.used: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
        self.suppressed = False

    def may_act(self) -> bool:
        """Could a plain thread still act on a channel (rule 1 or 2 above)?"""
        with _lock:
            if _inside:
                return True
            for t in threading.enumerate():
                if t is self.caller or t in _runtime_threads or not t.is_alive():
                    continue
                if t in self.used or t not in self.before:
                    return True
        return False


def enter_blocking(plain: PlainThreads | None) -> threading.Thread:
    """The calling plain thread starts a blocking call (``plain``: the
    running run's record, or None). Call leave_blocking() when it ends."""
    t = threading.current_thread()
    with _lock:
        _inside[t] = _inside.get(t, 0) + 1
        if plain is not None:
            plain.used.add(t)
    return t


def leave_blocking(t: threading.Thread, plain: PlainThreads | None) -> None:
    with _lock:
        n = _inside.pop(t, 1) - 1
        if n > 0:
            _inside[t] = n
        if plain is not None:
            # It may have been woken by this run (it entered before it began).
            plain.used.add(t)
