"""os.fork() while a run is in progress: the child starts with no runtime.

A fork copies only the thread that called it. The run in progress lives on
threads the child does not get (its other Ms, sysmon, the thread waiting in
``run()``), and its locks may have been held by one of them at the moment
of the fork; carried on in the child, that run would hang at its first
scheduling point. Go has no fork without exec for the same reason. So the
child forgets it, in an ``os.register_at_fork(after_in_child=...)`` hook,
before any of the child's own code runs:

* no run is current (``_runctx.current`` is None; its lock and the run
  watchers' lock are new), so ``gr.run(main)`` in the child starts a fresh
  runtime, and ``gr.go`` without one raises the usual RuntimeError;
* the forking thread is no longer an M, even when it forked from inside a
  goroutine (multiprocessing's fork start method does that from
  ``Process.start``): awaiting a channel operation there raises "must be
  awaited inside a goroutine" instead of waiting for threads that do not
  exist;
* the parent's Sched, still reachable from the copied stack, is marked
  stopped, its queues emptied and its Ps taken from its Ms, under a new
  lock: if the child's code returns into the copied scheduler anyway (a
  fork in a goroutine whose child does not end with ``os._exit``), that M
  leaves its loop instead of running copies of the parent's goroutines;
* the SIGQUIT dump handler of the parent's run is put back as it was.

The parent is not touched. Objects the parent's goroutines were using
(channels, mutexes) are copies in the child whose locks may be held by a
thread that is gone; the child should make its own.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import deque
from typing import Any

from . import _debug, _runctx
from ._cext import speedups
from ._runctx import tls as _tls
from ._sched import Sched, new_sched_lock


def _after_fork_in_child() -> None:
    m = _tls.__dict__.pop("m", None)
    if speedups is not None:
        speedups.set_m(None)
    sched = _runctx.current
    if sched is None and m is not None:
        sched = m.sched
    _runctx.current_lock = threading.Lock()
    _runctx.current = None
    _debug._watchers_lock = threading.Lock()
    if sched is not None:
        _orphan(sched)
    _restore_sigquit()


def _orphan(sched: Sched) -> None:
    """Make the parent's copied Sched inert: stopped, empty, no M holds a P.

    The child has one thread, so no lock is needed once Sched.lock is new.
    Containers are replaced, never cleared: on a free-threaded build a
    thread of the parent may have held one's per-object lock at the moment
    of the fork, and that lock stays held in the child. (Sched, P and M
    have __slots__: setting their fields takes no lock.)
    """
    sched.lock = new_sched_lock()
    sched.stopping = True
    sched.runq = deque()
    for p in list(sched.allp):
        p.runnext = deque()
        p.m = None
    for m in list(sched.allm):
        m.p = None
        m.nextp = None
    sched.midle = []
    sched.poller = None
    sched.trace = None


def _restore_sigquit() -> None:
    sig = getattr(signal, "SIGQUIT", None)
    if sig is None:
        return
    try:
        h: Any = signal.getsignal(sig)
        hooks = getattr(h, "__self__", None)
        if isinstance(hooks, _debug.RunHooks):
            prev = hooks.sigquit_prev
            signal.signal(sig, prev if prev is not None else signal.SIG_DFL)
    except (ValueError, OSError):  # not the main thread after all: leave it
        pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
