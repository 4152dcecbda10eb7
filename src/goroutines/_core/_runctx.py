"""The current run and this thread's M: the state everything else looks up.

A leaf (it imports no other module of the package), so that any layer can
ask "which run, which M" without importing the layers that make them (as
trio's ``_run_context``). Two pieces of state:

* ``tls.m``: the M of this OS thread, set by the M's thread when it starts
  and cleared when it ends; absent on threads that are not Ms. Written
  only by its own thread, so read without a lock.
* ``current``: the Sched of the run in progress, or None. Written only by
  ``_runtime.start`` (set, then cleared) and by the os.fork() child hook,
  under ``current_lock`` (taken before, never under, Sched.lock). Read
  without the lock where a stale answer is harmless (a display, a trace
  event from a thread that is not an M): a reference is read atomically on
  both builds.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._sched import Sched

# The current M of this thread (absent on threads that are not Ms).
tls = threading.local()

current_lock = threading.Lock()
current: Sched | None = None  # guarded by current_lock (see above)


def current_m() -> Any:
    """This thread's M, or None."""
    return getattr(tls, "m", None)


def current_sched() -> Sched | None:
    """The Sched this thread belongs to: its M's, else the run in progress."""
    m = getattr(tls, "m", None)
    if m is not None:
        return m.sched
    return current
