"""System calls: a goroutine leaves its P while it blocks the thread.

``entersyscall`` hands the M's P to another M at once (Go's
entersyscallblock); ``exitsyscall`` takes an idle P back, or tells the
caller to requeue the G and park the M (the REQUEUE trap). ``m.p`` and
the Ps' states change under Sched.lock; the G's status and wait reason
are written by its own M (the G is running on it).
"""

from __future__ import annotations

from ._g import RUNNING, SYSCALL, WAIT_SYSCALL, G, casgstatus
from ._sched import P_DEAD, M, wake_m
from ._trace import emit


def entersyscall(m: M, g: G) -> None:
    """``g`` is about to block this thread: hand the P to another M at once.

    Go's entersyscallblock. The M keeps no P while the call runs; ``g`` is
    shown as in a system call. Another M takes the P if there is work for it.
    """
    sched = m.sched
    casgstatus(g, RUNNING, SYSCALL)
    g.waitreason = WAIT_SYSCALL
    g.waitsince = sched.coarse_now
    if sched.trace is not None:
        emit(m, "syscall", g.id)
    tw = None
    with sched.lock:
        p = m.p
        m.p = None
        if p is not None:
            if p.status == P_DEAD:
                # gomaxprocs shrank while g ran: the P is no one's now. (Left
                # owned by this M, growing gomaxprocs back would revive it as
                # running, owned by an M that has no P: a P nobody runs.)
                p.m = None
            else:
                tw = sched.handoffp_locked(p)
    wake_m(tw)


def exitsyscall(m: M, g: G) -> bool:
    """The call returned: take an idle P back (True), or False: no P free,
    the G must be requeued and this M parked (the caller yields REQUEUE)."""
    sched = m.sched
    with sched.lock:
        if sched.stopping:
            return False
        p = sched.acquirep_locked(m)
    g.waitreason = ""
    if sched.trace is not None:
        emit(m, "sysexit", g.id, "" if p is not None else "requeue")
    if p is None:
        return False
    casgstatus(g, SYSCALL, RUNNING)
    return True
