"""Wiring a goroutine to its thread: Go's LockOSThread (lockedm / lockedg).

``gr.lock_os_thread()`` (in _traps.py) wires the calling goroutine G to the M
running it. While wired, as in Go:

  * G runs only on that M. Whenever G becomes runnable (a channel operation
    readies it, its timer fires, its I/O is ready, it yields), it is not put
    on a run queue: its M is (``readylocked_locked``) -- handed an idle P at
    once, or queued as a placeholder on the global run queue, and whoever
    pops the placeholder hands it that P (Go's startlockedm; the same
    placeholder as a preempted goroutine's, see Sched.runq).
  * the M runs nothing else. When G parks, the M hands its P off to another
    M (which runs the other goroutines) and waits on its note until G is
    runnable and it has a P again (``stoplockedm``, Go's). A P retaken by
    sysmon while G is inside a blocking call is handed off as for any
    goroutine; G stays on its M and waits there for a P when it is back.
  * nesting is counted (Go >= 1.10): ``unlock_os_thread()`` undoes one call,
    and the last one unwires G; with nothing to undo it does nothing.
  * a goroutine that exits while still wired: Go terminates the thread,
    because the goroutine may have left it in a state no other goroutine
    should inherit. The translation: the M exits (``lockedexit``): its P is
    handed off, the thread ends, and no other goroutine ever runs on it.

Fields (besides ``G.lockedm``, the M a G is wired to):

  ``M.lockedg``    the G wired to this M; ``EXITED`` once that G ended wired
                   (the M must exit); None when not wired. ``M.lockedext``:
                   the nesting count. Both written only by the M itself (by
                   its G's own calls, or its goexit); ``G.lockedm`` likewise,
                   and read by a waker only while G is parked: G wrote it
                   before parking, and the park's lock release orders the
                   write before the waker's read.
  ``M.lockstate``  under Sched.lock: RUN (running G, or in a blocking call,
                   or preempted), IDLE (G waits; the M has no P, is on
                   ``Sched.lockedidle`` and counts as idle for the deadlock
                   check, as Go's incidlelocked), QUEUED (G is runnable; the
                   M's placeholder is on the global run queue).

A waiting wired M is woken exactly once (its note released) by whoever
takes it off ``lockedidle`` with a P, by the one who pops its placeholder,
or by stop_locked.
"""

from __future__ import annotations

from typing import Any

from .._errors import throw
from ._check import locked_by
from ._g import RUNNABLE, WAITING, G, casgstatus
from ._sched import LK_EXITED, LK_IDLE, LK_QUEUED, LK_RUN, P_DEAD, M, Sched, wake_m
from ._trace import emit


class _Exited:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<goroutine exited while locked to its thread>"


# M.lockedg once its wired goroutine has exited still wired: the M exits.
EXITED: Any = _Exited()


@locked_by("lock", "Sched.lock")
def readylocked_locked(sched: Sched, g: G) -> M | None:
    """Make the wired, waiting ``g`` runnable on its own M. Sched.lock held.

    Returns the M to wake (wake_m, after releasing the lock) or None: when
    the M has not gone to wait yet (it sees RUNNABLE in stoplockedm and runs
    on), or when it was queued to be handed a P by whoever pops it.
    """
    m = g.lockedm
    casgstatus(g, WAITING, RUNNABLE)
    if m.lockstate != LK_IDLE:
        return None
    sched.lockedidle.remove(m)
    if sched.acquirep_locked(m) is not None:
        m.lockstate = LK_RUN
        return m
    m.lockstate = LK_QUEUED
    sched.runq.append(m)
    return None


def readylocked(g: G, m: M | None) -> None:
    """ready() for a wired G (from any thread; ``m`` the caller's M or None)."""
    lm = g.lockedm
    sched = lm.sched
    with sched.lock:
        tw = readylocked_locked(sched, g)
    if sched.trace is not None:
        emit(m, "unblock", g.id)
    if tw is not None:
        tw.note.release()  # a wired M waits on its note, never in the netpoller


@locked_by("lock", "Sched.lock")
def _dropp_locked(sched: Sched, m: M) -> M | None:
    """``m`` gives its P away: to another M if there is work. Sched.lock held."""
    p = m.p
    m.p = None
    if p is None:
        return None
    if p.status == P_DEAD:
        p.m = None
        return None
    return sched.handoffp_locked(p)


def stoplockedm(m: M) -> bool:
    """``m``'s wired G has left the CPU (parked, yielded, or is back from a
    system call without a P): wait until it is runnable and ``m`` has a P.

    True: run G now (``m.p`` is set). False: the run is over, ``m`` exits.
    A G that is runnable already keeps the P when nothing else waits for it;
    otherwise it queues behind the others (Go's gosched of a locked G). The
    P handed to a waiting ``m`` may be retaken by sysmon before ``m`` runs
    (the P changed hands without a tick, so sysmon may still count it as
    stuck): then ``m`` looks for one again.
    """
    sched = m.sched
    g = m.lockedg
    while True:
        towake = None
        over = False
        with sched.lock:
            if sched.stopping:
                m.p = None
                return False
            p = m.p
            if p is not None and p.status == P_DEAD:
                p.m = None
                m.p = p = None
            if g.status == RUNNABLE:
                if p is not None:
                    if not sched.runq and not p.runnext:
                        return True
                    towake = _dropp_locked(sched, m)
                elif sched.acquirep_locked(m) is not None:
                    return True
                m.lockstate = LK_QUEUED
                sched.runq.append(m)
            else:
                towake = _dropp_locked(sched, m)
                sched.checkdead_locked(m)
                if sched.stopping:  # this was the last M: a deadlock
                    m.p = None
                    over = True
                else:
                    m.lockstate = LK_IDLE
                    sched.lockedidle.append(m)
        wake_m(towake)
        if over:
            return False
        if sched.trace is not None:
            emit(m, "mpark", 0, "locked")
        m.note.acquire()  # released once: see the module docstring
        if sched.trace is not None:
            emit(m, "mwake", 0)
        with sched.lock:
            m.lockstate = LK_RUN
            if sched.stopping:
                m.p = None
                return False
            if m.p is not None:
                return True
            if g.status != RUNNABLE:
                raise throw(f"stoplockedm: M{m.id} woken for goroutine {g.id}, which is not runnable")
        # woken with a P that sysmon has retaken since: look again


def lockedexit(m: M) -> None:
    """``m``'s wired G exited wired: give the P away; the M's thread ends.

    The M leaves the thread count here, under the lock (not when its thread
    function returns), and checks for deadlock as an M going idle does: it
    may have been the last one running, and an M that goes idle later must
    not count it as running.
    """
    sched = m.sched
    with sched.lock:
        m.lockedg = None
        towake = _dropp_locked(sched, m)
        sched.checkdead_locked(m)
        sched.mcount -= 1
        m.lockstate = LK_EXITED
    wake_m(towake)


def unwire_on_exit(m: M, g: G) -> None:
    """goexit of ``g`` on ``m``: a G that ends wired takes its M with it."""
    if g.lockedm is not None:
        g.lockedm = None
        m.lockedext = 0
        m.lockedg = EXITED


def lock(m: M, g: G) -> None:
    """``g`` (running on ``m``) wires itself to ``m``; one more nesting level."""
    m.lockedext += 1
    g.lockedm = m
    m.lockedg = g


def unlock(m: M, g: G) -> None:
    """Undo one lock(); the last one unwires (none to undo: nothing happens)."""
    if m.lockedext == 0:
        return
    m.lockedext -= 1
    if m.lockedext == 0:
        g.lockedm = None
        m.lockedg = None
