"""An M's thread: its entry (mstart) and the current M and G.

``mstart`` is the thread entry of every M (run() hands it to the Sched:
``Sched(..., mstart=mstart)``; M.start runs it on a new thread): it binds
the thread to its M in ``_runctx.tls`` (and, with the C fast paths, in the
C thread state), runs the schedule loop, and unbinds. ``tls.m`` is written
only by its own thread, so ``current_m``/``current_g`` read it without a
lock; ``m.curg`` is written only by the M itself.
"""

from __future__ import annotations

import threading

from . import _runctx
from ._cext import speedups
from ._g import G
from ._sched import LK_EXITED, M
from ._schedule import schedule
from ._trace import emit

# The current M of this thread (absent on threads that are not Ms); see _runctx.
_tls = _runctx.tls


def mstart(m: M) -> None:
    """The thread entry of every M (Sched.mstart; M.start runs it on a new
    thread): bind the thread to ``m``, run the schedule loop, unbind."""
    _tls.m = m
    if speedups is not None:
        speedups.set_m(m)
    m.ident = threading.get_ident()
    # Under Sched.lock, as every write of ``p`` and ``nextp``: unlocked, a
    # retake (sysmon) between the two stores left nextp naming a P that
    # another M already owned (check_invariants saw it).
    with m.sched.lock:
        m.p = m.nextp
        m.nextp = None
    if m.sched.trace is not None:
        emit(m, "mstart", 0)
    try:
        schedule(m)
    finally:
        sched = m.sched
        with sched.lock:
            if m.lockstate != LK_EXITED:  # see _lockos.lockedexit
                sched.mcount -= 1
        if speedups is not None:
            speedups.set_m(None)
        # pop, not del: in a forked child _fork has already unbound it.
        _tls.__dict__.pop("m", None)


def current_m() -> M | None:
    return getattr(_tls, "m", None)


def current_g() -> G | None:
    m = getattr(_tls, "m", None)
    return None if m is None else m.curg
