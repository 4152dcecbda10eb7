"""Making goroutines runnable: ready(), inject, preempted.

The one waker that dequeued a waiting G (see _g.py) calls ``ready``: from
an M with a P the G goes to that P's runnext (Go's ready with next=true),
from anywhere else to the global queue, waking an idle P's M; a G wired to
its thread (lock_os_thread) wakes its own M (_lockos). ``inject`` queues
what the netpoller found; ``ready_external`` what finished outside the
runtime; ``preempted`` gives a P back to an M whose P was retaken.

An M reads its own ``p`` without Sched.lock: ``p`` is only ever taken away
from it (by sysmon's retake, or by stop), under the lock, never given to it
by anyone else while it runs (see _schedule). A G it readies in that window
lands in the old P's runnext or local queue, which its new owner runs:
ready() rechecks ``m.p`` after appending and, if the P was retaken, moves
the G to the global queue (``_unrunnext``), so a P that went idle meanwhile
loses nothing. The global queue, ``pidle`` and ``nexternal`` are guarded by
Sched.lock; runnext and the local queues are deques whose single operations
are atomic (see _sched).

With the C fast paths, their ready() does the common case and calls
``_ready_py`` for the rest, and ``_unrunnext`` for a P retaken meanwhile;
both are handed to the C code by ``setup_core`` below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._errors import throw
from ._cext import speedups
from ._check import DEBUG
from ._g import CLOSED, RUNNABLE, RUNNING, WAIT_CHAN_RECEIVE, WAIT_CHAN_SEND, WAITING, G, casgstatus
from ._lockos import readylocked, readylocked_locked
from ._runctx import current_sched
from ._sched import M, P, Sched, runqput, wake_m, wakep
from ._trace import emit

# ---------------------------------------------------------------------- inject


def inject(sched: Sched, gs: list[G]) -> None:
    """Queue Gs made runnable by the netpoller; wake Ms for them (a G wired
    to its thread wakes its own M instead)."""
    towake = []
    with sched.lock:
        for g in gs:
            if g.lockedm is not None:  # wired to its M; see _lockos
                towake.append(readylocked_locked(sched, g))
                continue
            casgstatus(g, WAITING, RUNNABLE)
            sched.runq.append(g)
        for _ in range(min(len(gs), len(sched.pidle))):
            towake.append(sched.wakep_locked())
        # Taken by a quick look: a poller blocked in the netpoller may now
        # wait there for nothing.
        towake.append(sched.netpoll_drained_locked())
    for m in towake:
        wake_m(m)


# ---------------------------------------------------------------------- ready


def _ready_py(g: G, m: M | None) -> None:
    """Make the waiting ``g`` runnable; ``m`` is the calling thread's M or None.

    The caller is the one waker that dequeued ``g`` (see _g.py). From an M
    with a P, ``g`` goes to that P's runnext (Go's ready with next=true), and
    whatever sat there moves to the P's local queue, where an idle P's
    spinner may steal it (wakep); from anywhere else, to the global queue,
    waking an idle P's M. A G wired to its thread (lock_os_thread) wakes its
    own M instead (_lockos.readylocked).
    """
    if type(g) is not G:
        # A plain thread's waiter (_blocking.py), queued on a channel like a
        # select's: waking it releases its lock; nothing is scheduled.
        g.wake()  # type: ignore[attr-defined]
        return
    if g.lockedm is not None:
        readylocked(g, m)
        return
    if DEBUG:
        casgstatus(g, WAITING, RUNNABLE)
    else:
        g.status = RUNNABLE  # casgstatus inlined: a hot path (see _g.py)
    if m is not None:
        p = m.p
        if p is not None:
            rn = p.runnext
            sched = m.sched
            if sched.trace is not None:
                emit(m, "unblock", g.id)
            if not rn:
                rn.append(g)
                if m.p is p:
                    return
                _unrunnext(sched, rn, g)
                return
            # Displace the old occupant to the local queue.
            try:
                old = rn.popleft()
            except IndexError:
                old = None
            rn.append(g)
            if old is not None:
                runqput(sched, p, old)
            if m.p is p:
                if old is not None:
                    wakep(sched)
                return
            _unrunnext(sched, rn, g)
            if old is not None:
                _unrunnext(sched, p.runq, old)
            return
        if m.sched.trace is not None:
            emit(m, "unblock", g.id)
        _globready(m.sched, g)
        return
    sched = _sched_of(g)
    if sched.trace is not None:
        emit(None, "unblock", g.id)
    _globready(sched, g)


def _unrunnext(sched: Sched, rn: Any, g: G) -> None:
    """``g`` was appended to the runnext (or local queue) ``rn`` of a P
    retaken meanwhile: nobody may run that P soon, so move ``g`` to the
    global queue -- unless someone has already taken it (then it is not in
    ``rn``)."""
    try:
        rn.remove(g)
    except ValueError:
        return
    _globready(sched, g)


# ready(): with the C fast paths, their ready() does the common case (from an
# M whose P's runnext is empty, tracing off) and calls _ready_py for the rest.
ready: Callable[[G, M | None], None] = speedups.ready if speedups is not None else _ready_py


def _sched_of(g: G) -> Sched:
    s = current_sched()
    if s is None:
        raise throw(f"ready({g!r}) with no runtime")
    return s


def _globready(sched: Sched, g: G) -> None:
    with sched.lock:
        sched.runq.append(g)
        m = sched.wakep_locked() if sched.pidle else None
    wake_m(m)


def ready_external(sched: Sched, g: G, value: Any) -> None:
    """Ready ``g``, parked until something outside the runtime completed
    (``Sched.nexternal`` counted it), resuming it with ``value``. Any
    thread may call it, once per such park; after the run has stopped it
    does nothing (the goroutine was abandoned). It takes the run's own
    Sched, never "the current runtime", so a late completion cannot reach
    a later run.
    """
    with sched.lock:
        sched.nexternal -= 1
        if sched.stopping:
            return
        g.param = value
        casgstatus(g, WAITING, RUNNABLE)
        sched.runq.append(g)
        tw = sched.wakep_locked() if sched.pidle else None
    if sched.trace is not None:
        emit(None, "unblock", g.id)
    wake_m(tw)


def preempted(m: M) -> None:
    """The running goroutine's P was retaken (sysmon) and it has entered the
    runtime: get a P back before going on, waiting for one if none is free.

    Go's rule is that no M runs goroutine code without a P; a goroutine
    computing (or blocked in a call) without awaiting cannot be stopped, but
    the first runtime call it makes (go(), a channel operation, select) is a
    preemption point. Waiting here, with the GIL released, keeps the M from
    contending with the M that now runs the other goroutines.
    """
    sched = m.sched
    g = m.curg
    if g is None or g.status != RUNNING:
        return  # inside a system call: no P is needed for close(), go()
    with sched.lock:
        if m.blocked:
            # Back from a plain blocking call sysmon retook the P of.
            m.blocked = False
            if sched.trace is not None:
                emit(m, "blockret", g.id, "" if sched.pidle else "requeue")
        if sched.stopping or m.p is not None:
            return
        if sched.acquirep_locked(m) is not None:
            return
        sched.runq.append(m)  # a placeholder: see Sched.runq
    if sched.trace is not None:
        emit(m, "mpark", 0, "preempted")
    m.note.acquire()  # released by whoever hands us a P (or by stop)
    if sched.trace is not None:
        emit(m, "mwake", 0)
        emit(m, "start", g.id)  # it runs on, now with a P


if speedups is not None:
    # The C fast paths read and write these classes' slots directly.
    speedups.setup_core(G, M, P, CLOSED, RUNNABLE, WAIT_CHAN_SEND, WAIT_CHAN_RECEIVE, _ready_py, _unrunnext)
