"""Finding work for an M: findrunnable, stealing, spinning, the fair pick.

Order (Go's findRunnable): due timers (in a synctest bubble also the
real-time ones, ``Sched.realtimers``: I/O deadlines), the P's runnext and local queue,
the global queue (a batch: the P's fair share), one non-blocking netpoll,
then -- as a spinning M, if fewer than half the busy Ps have one --
stealing from other Ps' local queues; then give the P back, check for
deadlock, and park: as the poller (waiting until the earliest timer or
for I/O) if timers or I/O are pending and nobody waits for them, else on
midle until woken. Every 61st pick, the schedule loop first calls
``_fair_pick``: due timers and the global queue before the local ones.

Locks: the global queue, ``pidle``, ``midle``, ``nmspinning``, the poller
and the timers are guarded by Sched.lock; stealing takes none (the local
queues are deques, see _sched). A spinning M is counted in
``Sched.nmspinning``; it stops spinning (``resetspinning``) when it finds
work, waking another spinner if work is left, or before parking, when it
looks at every local queue once more (Go's "delicate dance"). An M reads
its own ``p`` without the lock (see _schedule) and rechecks it after
stealing.
"""

from __future__ import annotations

import time
from typing import Any

from . import _runctx
from ._check import DEBUG, locked_by
from ._check import violation as check_violation
from ._g import RUNNABLE, WAITING, G, casgstatus
from ._invariants import debug_check_locked
from ._lockos import readylocked_locked
from ._ready import inject
from ._sched import (
    P_DEAD,
    P_IDLE,
    P_RUNNING,
    STEAL_TRIES,
    M,
    P,
    any_local_work,
    globrunqget_locked,
    runqdrain_locked,
    runqget,
    runqsteal,
    setpstatus,
    wake_m,
    wakep,
)
from ._trace import emit

_MAX_WAIT = 3600.0  # seconds an idle poller waits before looking again
_monotonic = time.monotonic

# The current M of this thread (absent on threads that are not Ms); see _runctx.
_tls = _runctx.tls


def _fair_pick(m: M, p: Any) -> G | None:
    """Every 61st pick: run due timers, then take from the global queue first.

    A preempted goroutine's placeholder popped here gets this M's P (see
    _handover). ``p`` is what the schedule loop read of ``m.p`` without the
    lock; under the lock it is used only while it is still ``m``'s (see
    _handover_locked).
    """
    sched = m.sched
    if p.status == P_DEAD or sched.stopping:
        with sched.lock:
            runqdrain_locked(sched, p)
        return None
    now = _monotonic()
    sched.coarse_now = now
    due = None
    np = sched.netpoll
    if np is not None and np.nwaiters and now - sched.lastpoll > 0.0005:
        sched.lastpoll = now
        gs = np.poll(0)
        if gs:
            inject(sched, gs)
    g = None
    tnow = sched.clock.now()
    with sched.lock:
        if m.p is not p:
            # Retaken (sysmon) since the loop read it: p is another M's now,
            # or idle. Take nothing for it and hand it to nobody; schedule()
            # sees m.p changed and goes round.
            return None
        rt = sched.realtimers
        if sched.timers.nlive and sched.timers.earliest() <= tnow:
            due = sched.timers.expired(tnow)
        elif rt is not None and rt.nlive and rt.earliest() <= now:
            due = rt.expired(now)  # a bubble's I/O deadlines: real time
        elif sched.runq:
            g = globrunqget_locked(sched, p, 1)
            if type(g) is not G:
                _handover_locked(m, p, g)
                g = None
    if due:
        # A goroutine woken by a timer lands in runnext: let it run now,
        # rather than after a global-queue pick that would push it out.
        _run_timers(due)
    return g


@locked_by("sched.lock", "Sched.lock")
def _handover_locked(m: M, p: Any, w: M) -> None:
    """Give ``m``'s P (runnext and all) to ``w``, an M whose preempted
    goroutine waits for a P (a runq placeholder). Sched.lock held; ``w``'s
    note is released here (it never blocks), and ``m`` goes on without a P.

    ``p`` must be ``m``'s under this very hold of the lock (``m.p is p``,
    checked in debug mode), as Go's releasep throws unless ``p.m`` is the
    releasing M. An M reads its own ``p`` without the lock, and sysmon may
    retake it any time after (a running P here, where Go retakes only a P
    in a system call): a P read before the lock was taken may be another
    M's by now, and handing it over gave it two owners.
    """
    if DEBUG and (m.p is not p or p.m is not m):
        raise check_violation(f"M{m.id} hands over {p!r}, which is not its own (owned by {p.m and f'M{p.m.id}'})")
    m.p = None
    p.m = w
    w.p = p  # p stays running (or dead, if gomaxprocs just shrank: w gives it up then)
    w.note.release()


def _run_timers(due: list[Any]) -> None:
    m = getattr(_tls, "m", None)
    if m is not None and m.sched.trace is not None:
        emit(m, "timer", 0, len(due))
    for t, seq in due:
        t.fn(t.arg, seq)


def findrunnable(m: M) -> G | None:
    """Find a G for ``m`` or park it until there is one; None: M must exit.

    Order (Go's findRunnable): due timers, the P's runnext and local queue,
    the global queue (a batch: the P's fair share), one non-blocking
    netpoll, then -- as a spinning M, if fewer than half the busy Ps have
    one -- stealing half of another P's local queue; then give the P back,
    check for deadlock, and park: as the poller (waiting exactly until the
    earliest timer) if timers are pending and nobody waits for them, else
    on midle until woken.
    """
    sched = m.sched
    lock = sched.lock
    clock = sched.clock
    while True:
        towake = None
        lock.acquire()
        if sched.stopping:
            m.p = None
            if m.spinning:
                m.spinning = False
                sched.nmspinning -= 1
            lock.release()
            return None
        p = m.p
        if p is not None and p.status == P_DEAD:
            # gomaxprocs shrank: give this P up, its Gs to the global queue.
            runqdrain_locked(sched, p)
            p.m = None
            m.p = p = None
        if p is None:
            # Take an idle P before running due timers: the goroutines they
            # wake then land in this M's runnext and it runs them itself,
            # rather than waking another M for them (a thread wake-up each,
            # milliseconds on a loaded machine: issue 15).
            p = sched.acquirep_locked(m)
        if sched.timers.nlive:
            now = clock.now()
            if sched.timers.earliest() <= now:
                due = sched.timers.expired(now)
                lock.release()
                _run_timers(due)
                continue
        rt = sched.realtimers
        if rt is not None and rt.nlive:
            # A bubble's real-time timers (I/O deadlines), on the real clock.
            now = _monotonic()
            if rt.earliest() <= now:
                due = rt.expired(now)
                lock.release()
                _run_timers(due)
                continue
        if p is not None:
            g = runqget(p)
            if g is None and sched.runq:
                g = globrunqget_locked(sched, p)
                if type(g) is not G:
                    # A preempted goroutine's turn: it gets this P.
                    _handover_locked(m, p, g)
                    lock.release()
                    continue
            if g is not None:
                if (sched.runq or p.runq) and sched.pidle and not sched.nmspinning:
                    # More work than this M: a spinner for it (Go's wakep).
                    towake = sched.startm_locked(sched.pidle.pop(), spinning=True)
                lock.release()
                wake_m(towake)
                return g
        # Nothing to do. Look at the network once without blocking (the
        # M still counts as running, so this can race no deadlock check).
        np = sched.netpoll
        if p is not None and np is not None and np.nwaiters:
            lock.release()
            sched.lastpoll = _monotonic()
            gs = np.poll(0)
            if gs:
                inject(sched, gs)
                continue
            lock.acquire()
            if sched.runq or p.runnext or p.runq or sched.stopping or m.p is not p:
                # (m.p is not p: retaken while we polled; p is not ours to
                # steal into or give back.)
                lock.release()
                continue
        # Steal, as a spinning M; at most half the busy Ps have one (Go's
        # bound: with little parallelism, spinners only burn CPU).
        if p is not None and sched.gomaxprocs > 1:
            if not m.spinning and 2 * sched.nmspinning < sched.gomaxprocs - len(sched.pidle):
                m.spinning = True
                sched.nmspinning += 1
            if m.spinning:
                lock.release()
                g = _stealwork(m, p)
                if g is not None:
                    return g  # schedule() ends the spinning (resetspinning)
                lock.acquire()
                if sched.runq or p.runnext or p.runq or sched.stopping or m.p is not p:
                    lock.release()
                    continue
        # Give the P back and go idle.
        sched.releasep_locked(m)
        if m.spinning:
            # Go's "delicate dance": work put on a local queue while we were
            # still counted as spinning woke nobody (wakep saw a spinner), so
            # now that we are not, look at every local queue once more.
            m.spinning = False
            sched.nmspinning -= 1
            if any_local_work(sched):
                p = sched.acquirep_locked(m)
                if p is not None:
                    m.spinning = True
                    sched.nmspinning += 1
                    lock.release()
                    continue
        sched.coarse_now = _monotonic()
        if DEBUG:
            debug_check_locked(sched)  # a broken invariant stops the run
        if sched.checkdead_locked(m):
            # synctest: the fake clock moved, or testing.wait() returns. Keep
            # (or take back) a P and run what is now due here, rather than
            # hand it to another thread.
            if m.p is None:
                sched.acquirep_locked(m)
            lock.release()
            continue
        if sched.stopping:
            lock.release()
            return None
        nio = sched.io_waiters()
        if (sched.timers.nlive or nio or (rt is not None and rt.nlive)) and sched.poller is None and sched.netpollm is None:
            # Wait for the earliest timer or for I/O (or to be handed a P).
            # Not while the last poller is still on its way out of the
            # netpoller (taken off its post, its wake-up byte not yet
            # read): this M would take that byte and both would block on.
            # It goes round findrunnable and takes the post again; this M
            # parks on midle (Go's: one M polls, the others stop).
            sched.poller = m
            # Capped: an M waiting "forever" wakes now and then to look again
            # (and a timer years away must not overflow the wait). A fake
            # clock does not move while we wait: whoever advances it runs
            # the timers (see checkdead_locked), so only I/O, a hand-off or
            # the earliest real-time timer (an I/O deadline) ends this wait.
            if rt is not None:
                wait = min(rt.earliest() - _monotonic(), _MAX_WAIT)
            else:
                wait = min(sched.timers.earliest() - _monotonic(), _MAX_WAIT)
            if nio:
                m.inpoll = True
                sched.netpollm = m
                lock.release()
                if sched.trace is not None:
                    emit(m, "mpark", 0, "netpoll")
                gs = np.poll(max(wait, 0.0))
                extra: list[M | None] = []
                parked = False
                with lock:
                    m.inpoll = False
                    sched.netpollm = None
                    sched.lastpoll = _monotonic()
                    if sched.poller is m:
                        sched.poller = None
                    # else: our claimer woke us through the pipe (wake_break)
                    if gs:
                        # Go's findrunnable: the poller takes a P itself and
                        # runs what it found; other Ms are woken only for the
                        # rest. (Handing every wake-up to another thread made
                        # each ready socket cost a thread switch.)
                        for g in gs:
                            if g.lockedm is not None:
                                extra.append(readylocked_locked(sched, g))
                                continue
                            casgstatus(g, WAITING, RUNNABLE)
                            sched.runq.append(g)
                        if m.nextp is None and sched.pidle and not sched.stopping:
                            p = sched.pidle.pop()
                            p.m = m
                            setpstatus(p, P_IDLE, P_RUNNING)
                            m.nextp = p
                        for _ in range(min(len(gs) - 1, len(sched.pidle))):
                            extra.append(sched.wakep_locked())
                        if m.nextp is None and not sched.stopping:
                            # No P free: every P runs, and their Ms take these
                            # from the global queue and poll the network
                            # themselves (each 61st pick, and before going
                            # idle). Go's findrunnable stops this M then
                            # rather than poll again: polling on beside busy
                            # Ps would wake this thread for every ready
                            # socket, under the GIL a hand-off each time.
                            sched.midle.append(m)
                            parked = True
                for tw in extra:
                    wake_m(tw)
                if parked:
                    if sched.trace is not None:
                        emit(m, "mpark", 0, "idle")
                    m.note.acquire()
            else:
                lock.release()
                if sched.trace is not None:
                    emit(m, "mpark", 0, "poll")
                woken = m.note.acquire(True, max(wait, 0.0))
                if not woken:
                    with lock:
                        mine = sched.poller is m
                        if mine:
                            sched.poller = None
                    if not mine:
                        m.note.acquire()  # our waker's one release
        else:
            sched.midle.append(m)
            lock.release()
            if sched.trace is not None:
                emit(m, "mpark", 0, "idle")
            m.note.acquire()
        # Woken: maybe with a P (nextp), maybe to stop, maybe for timers.
        if sched.trace is not None:
            emit(m, "mwake", 0)
        with lock:
            p = m.nextp
            m.nextp = None
            if p is not None:
                m.p = p


def _stealwork(m: M, p: P) -> G | None:
    """A spinning ``m`` (owning ``p``) steals from the other running Ps, in
    a random order, STEAL_TRIES passes, runnext only on the last (Go's
    stealWork; timers are global here, nothing to steal). No lock held."""
    sched = m.sched
    allp = sched.allp
    n = sched.gomaxprocs
    for i in range(STEAL_TRIES):
        last = i == STEAL_TRIES - 1
        # A random first victim (Go's fastrand), so thieves spread out;
        # drawn from p's own generator (its owner is us), so a seeded run
        # stays seeded.
        start = int(p.rand.random() * n)
        for k in range(n):
            v = allp[(start + k) % n]
            if v is p or v.m is None:
                continue  # ourselves, or an idle P (nothing queued)
            g = runqsteal(p, v, last)
            if g is None:
                continue
            if m.p is not p:
                # Retaken while we stole (sysmon saw us descheduled): the
                # Gs just queued on p may sit on an idle P; requeue them
                # globally (g too: schedule() does that for a P-less pick).
                with sched.lock:
                    runqdrain_locked(sched, p)
            return g
    return None


def resetspinning(m: M) -> None:
    """``m`` found work: it stops spinning, and wakes another spinner if
    work is left for one and a P is idle (Go's resetspinning)."""
    sched = m.sched
    with sched.lock:
        if m.spinning:
            m.spinning = False
            sched.nmspinning -= 1
    if sched.pidle and (sched.runq or any_local_work(sched)):
        wakep(sched)
