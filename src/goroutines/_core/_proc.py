"""M: an OS thread running the schedule loop; ready(), go(), system calls.

The loop of one M (Go's schedule/execute), in order:

  1. Take a P if it has none (or park: it is idle then, see findrunnable).
  2. Pick a G: every 61st pick looks at due timers and the global queue
     first (fairness, as Go's schedule does); otherwise the P's runnext,
     its local queue, then findrunnable (timers, the global queue, stealing
     from other Ps, then going idle).
  3. Resume the G's coroutine until it yields a trap (_traps.py) and act on
     it: park (mark WAITING, then release the lock(s) the G yielded), yield
     (gosched: to the global queue), or run a commit function.
  4. If the G returned: goexit. If it raised: the run stops with that panic.

An M reads its own ``p`` without Sched.lock: ``p`` is only ever taken away
from it (by sysmon's retake, or by stop), under the lock, never given to it
by anyone else while it runs; the M looks at ``p`` before every pick, so it
gives up running goroutines at its next scheduling point. A G it readies in
that window lands in the old P's runnext or local queue, which its new
owner runs (ready() rechecks after appending, so a P that went idle
meanwhile loses nothing).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from contextvars import copy_context as _copy_context
from typing import Any

from .._errors import throw
from . import _runctx
from ._cext import CLockType, LockType, new_lock, speedups
from ._g import (
    CLOSED,
    DEAD,
    FREE_THREADED_BUILD,
    RUNNABLE,
    RUNNING,
    SYSCALL,
    WAIT_CHAN_RECEIVE,
    WAIT_CHAN_SEND,
    WAIT_SYSCALL,
    WAITING,
    G,
)
from ._lockos import (
    EXITED,
    lockedexit,
    readylocked,
    readylocked_locked,
    stoplockedm,
    unwire_on_exit,
)
from ._runctx import current_sched
from ._sched import (
    LK_EXITED,
    P_DEAD,
    P_RUNNING,
    STEAL_TRIES,
    M,
    P,
    Sched,
    any_local_work,
    globrunqget_locked,
    runqdrain_locked,
    runqget,
    runqput,
    runqsteal,
    wake_m,
    wakep,
)
from ._trace import emit
from ._traceback import attach_panic_dump_locked, describe_creation

_MAX_WAIT = 3600.0  # seconds an idle poller waits before looking again
# Dead G records kept for reuse (Sched.gfree); the rest are freed.
GFREE_MAX = 4096
# Take a G record off the cyclic GC's lists (see _speedups.c, "spawn and
# exit": nothing a G refers to needs the collector to free it).
_untrack_g: Callable[[G], None] | None = speedups.untrack_g if speedups is not None else None
_monotonic = time.monotonic
_new_object = object.__new__

# The current M of this thread (absent on threads that are not Ms); see _runctx.
_tls = _runctx.tls


def mstart(m: M) -> None:
    """The thread entry of every M (Sched.mstart; M.start runs it on a new
    thread): bind the thread to ``m``, run the schedule loop, unbind."""
    _tls.m = m
    if speedups is not None:
        speedups.set_m(m)
    m.ident = threading.get_ident()
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
            g.status = RUNNABLE
            sched.runq.append(g)
        for _ in range(min(len(gs), len(sched.pidle))):
            towake.append(sched.wakep_locked())
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
    g.status = RUNNABLE
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
        g.status = RUNNABLE
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


# ---------------------------------------------------------------------- traps


class Commit:
    """A trap whose commit function the M runs once the G is off the CPU.

    Go's gopark(unlockf): ``fn(m, g)`` runs on the M after the G's coroutine
    has yielded, so whatever it registers (a timer that readies ``g``, say)
    cannot resume the G while it is still executing.
    """

    __slots__ = ("fn", "reason")

    def __init__(self, fn: Callable[[M, G], None], reason: str) -> None:
        self.fn = fn
        self.reason = reason


class _Requeue:
    """Trap: this G leaves a system call and no P is free; queue it, park M."""

    __slots__ = ()


REQUEUE = _Requeue()


# ---------------------------------------------------------------------- schedule loop


def schedule(m: M) -> None:
    """The M's loop: pick a G, run it to its next trap, repeat."""
    sched = m.sched
    # Locals: the two lock types a park trap may be (checked per switch).
    clock_type = CLockType
    lock_type = LockType
    run_fast = speedups.run_fast if speedups is not None else None
    while True:
        g = m.lockedg
        if g is not None:
            # Wired to a goroutine (lock_os_thread): run only it, on this M,
            # once it is runnable and this M has a P (Go's schedule:
            # stoplockedm, then execute lockedg); see _lockos.py.
            if g is EXITED:
                lockedexit(m)
                return
            if not stoplockedm(m):
                return
            m.p.schedtick += 1
            p = None  # no pick below: run g
        else:
            if run_fast is not None and not m.spinning:
                # The plain case (a G in runnext or the local queue, parking
                # on a lock) in C; it returns at the first thing it leaves to
                # the code below. (A spinner's first pick is findrunnable's.)
                run_fast(m)
                if m.lockedg is not None:
                    continue  # a G it ran wired itself to this M
            p = m.p
        if p is not None:
            tick = p.schedtick + 1
            p.schedtick = tick
            if tick % 61 == 0:
                g = _fair_pick(m, p)
                if m.p is not p:
                    # Handed to a preempted goroutine's M, or retaken while
                    # picking: a G already taken goes back to the queue head.
                    if g is not None:
                        with sched.lock:
                            sched.runq.appendleft(g)
                            tw = sched.wakep_locked() if sched.pidle else None
                        wake_m(tw)
                    continue
            if g is None:
                g = runqget(p)
        if g is None:
            # Maybe going idle for long: an idle M must not keep the last G's
            # resume value or trap alive (a received channel, say: a dropped
            # Ticker on it would tick forever; see _time._fire).
            trap = param = None
            g = findrunnable(m)
            if g is None:
                return
            p = m.p
            if p is None:
                # Retaken (or the run stopped) right after the pick: the G
                # goes back to the head of the queue for whoever has a P.
                with sched.lock:
                    sched.runq.appendleft(g)
                    tw = sched.wakep_locked() if sched.pidle else None
                wake_m(tw)
                continue
            p.schedtick += 1
        if m.spinning:
            resetspinning(m)

        # execute
        m.curg = g
        g.status = RUNNING
        param = g.param
        g.param = None
        tr = sched.trace
        if tr is not None:
            emit(m, "start", g.id)
        # Free-threaded builds: no dump reads the chain while it runs (G.stacklock).
        sl = g.stacklock
        if sl is not None:
            sl.acquire()
        try:
            # The goroutine's own contextvars.Context is current while its
            # code runs (asyncio's Task does the same per step).
            trap = g.ctx.run(g.coro.send, param)
        except StopIteration as e:
            if sl is not None:
                sl.release()
            m.curg = None
            goexit(m, g, e.value)
            continue
        except BaseException as e:  # noqa: BLE001 - a panic, whatever it is
            if sl is not None:
                sl.release()
            m.curg = None
            gopanic(m, g, e)
            continue
        if sl is not None:
            sl.release()
        m.curg = None
        if sched.trace is not None:  # re-read: the G may have started a trace
            _trace_trap(m, g, trap)

        tt = type(trap)
        if tt is clock_type or tt is lock_type:
            # Park (the common case, also done by _speedups.run_fast): the G
            # is marked waiting before the lock it yielded is released.
            g.status = WAITING
            g.waitsince = sched.coarse_now
            trap.release()
            if sched.stopping and g.status == WAITING:
                unhook(g)  # see the end of after_trap
        else:
            after_trap(m, g, trap)


def after_trap(m: M, g: G, trap: Any) -> None:
    """Act on what ``g`` yielded, other than a single lock: schedule() and
    _speedups.run_fast park on a lock trap themselves."""
    sched = m.sched
    tt = type(trap)
    if trap is None:
        g.status = RUNNABLE
        if g.lockedm is not None:
            return  # wired: it stays with its M (schedule: stoplockedm)
        with sched.lock:
            sched.runq.append(g)
        return
    if tt is tuple:
        g.status = WAITING
        g.waitsince = sched.coarse_now
        for lk in trap:
            lk.release()
    elif tt is Commit:
        g.status = WAITING
        g.waitreason = trap.reason
        g.waitsince = sched.coarse_now
        trap.fn(m, g)
    elif trap is REQUEUE:
        g.status = RUNNABLE
        if g.lockedm is not None:
            return  # wired: it waits for a P on its M (schedule: stoplockedm)
        with sched.lock:
            sched.runq.append(g)
        return
    else:
        gopanic(m, g, TypeError(unknown_trap_message(g, trap)))
        return
    if sched.stopping and g.status == WAITING:
        # Parked after the run ended (it was inside a blocking call when
        # main returned): nobody will run it; take it off what it waits
        # on so that a later run never wakes it. See _runtime._shutdown.
        unhook(g)


# ---------------------------------------------------------------------- asyncio inside a goroutine

# Where asyncio's code lives: an exception raised there, in a goroutine, is
# almost always asyncio finding no event loop (a goroutine runs on an M's
# thread, which has none).
_ASYNCIO_DIR = os.path.join(os.path.dirname(os.__file__), "asyncio") + os.sep
_AIO_HINT = (
    "asyncio awaitables need an asyncio event loop, and a goroutine does not run on one: "
    "use `await goroutines.aio(awaitable)` to run it on the runtime's asyncio loop "
    "(`await goroutines.wait_future(f)` for a concurrent.futures.Future; `await goroutines.sleep(s)` "
    "instead of asyncio.sleep)"
)


_NOT_AIO = (RecursionError, NotImplementedError)


def _is_asyncio_future(obj: Any) -> bool:
    # asyncio.isfuture without importing asyncio: the duck-type flag every
    # asyncio-compatible Future (asyncio's, uvloop's) carries.
    return getattr(type(obj), "_asyncio_future_blocking", None) is not None or (
        getattr(obj, "_asyncio_future_blocking", None) is not None
    )


def unknown_trap_message(g: G, trap: Any) -> str:
    """Why ``g`` cannot await what it yielded (the "unknown thing" site)."""
    if _is_asyncio_future(trap):
        return f"goroutine {g.id} awaited {trap!r}, which is an asyncio awaitable; {_AIO_HINT}"
    return (
        f"goroutine {g.id} awaited {trap!r} ({type(trap).__qualname__}), which is not a goroutines "
        "operation: a goroutine can await goroutines operations (channel send/recv, select, "
        "gr.sleep, sync, gr.syscall) and coroutines made of them; asyncio awaitables run "
        "with `await goroutines.aio(awaitable)`, other event loops' awaitables cannot be awaited in a goroutine"
    )


def asyncio_hint(exc: BaseException) -> str | None:
    """A note for a panic raised inside asyncio's own code ("no running
    event loop" and its relatives), else None."""
    if not isinstance(exc, (RuntimeError, AttributeError)) or isinstance(exc, _NOT_AIO):
        return None
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None or not last.tb_frame.f_code.co_filename.startswith(_ASYNCIO_DIR):
        return None
    msg = str(exc)
    if "event loop" in msg or (isinstance(exc, AttributeError) and "'NoneType'" in msg):
        return f"this is asyncio code running in a goroutine: {_AIO_HINT}"
    return None


def unhook(g: G) -> None:
    """Take an abandoned waiting G off the queue(s) it waits in."""
    wc = g.waitchan
    g.waitchan = None
    if wc is None:
        return
    if type(wc) is tuple:
        for obj, entry in wc:
            obj._forget(entry)
    else:
        wc._forget(g)


def _trace_trap(m: M, g: G, trap: Any) -> None:
    """Record what the G's trap does (only while tracing)."""
    if trap is None or trap is REQUEUE:
        emit(m, "yield", g.id)
    elif type(trap) is Commit:
        emit(m, "block", g.id, trap.reason)
    else:
        emit(m, "block", g.id, g.waitreason)


def _fair_pick(m: M, p: Any) -> G | None:
    """Every 61st pick: run due timers, then take from the global queue first.

    A preempted goroutine's placeholder popped here gets this M's P (see
    _handover).
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
        if sched.timers.nlive and sched.timers.earliest() <= tnow:
            due = sched.timers.expired(tnow)
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


def _handover_locked(m: M, p: Any, w: M) -> None:
    """Give ``m``'s P (runnext and all) to ``w``, an M whose preempted
    goroutine waits for a P (a runq placeholder). Sched.lock held; ``w``'s
    note is released here (it never blocks), and ``m`` goes on without a P.
    """
    m.p = None
    p.m = w
    p.status = P_RUNNING
    w.p = p
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
            if sched.runq or p.runnext or p.runq or sched.stopping:
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
        if (sched.timers.nlive or nio) and sched.poller is None:
            # Wait for the earliest timer or for I/O (or to be handed a P).
            sched.poller = m
            # Capped: an M waiting "forever" wakes now and then to look again
            # (and a timer years away must not overflow the wait). A fake
            # clock does not move while we wait: whoever advances it runs
            # the timers (see checkdead_locked), so only I/O or a hand-off
            # ends this wait.
            if clock.fake:
                wait = _MAX_WAIT
            else:
                wait = min(sched.timers.earliest() - _monotonic(), _MAX_WAIT)
            if nio:
                m.inpoll = True
                lock.release()
                if sched.trace is not None:
                    emit(m, "mpark", 0, "netpoll")
                gs = np.poll(max(wait, 0.0))
                extra: list[M | None] = []
                parked = False
                with lock:
                    m.inpoll = False
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
                            g.status = RUNNABLE
                            sched.runq.append(g)
                        if m.nextp is None and sched.pidle and not sched.stopping:
                            p = sched.pidle.pop()
                            p.m = m
                            p.status = P_RUNNING
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


# ---------------------------------------------------------------------- go, exit, panic


def newproc(
    sched: Sched, m: M | None, coro: Any, entry: str, code: Any, lasti: int, module: str = "", ctx: Any = None
) -> G:
    """Create a goroutine running ``coro`` and make it runnable (Go's newproc).

    ``code`` and ``lasti`` are the go() call's frame's f_code and f_lasti;
    ``ctx`` the goroutine's contextvars.Context (None: a copy of the
    calling thread's current one).
    From a goroutine, the new G takes the P's runnext (what sat there moves
    to the P's local queue, and a spinner is woken to steal it if a P is
    idle), as Go's newproc does; from elsewhere it joins the global queue.
    One Sched.lock section does it all: ``m.p`` cannot change while the
    lock is held, so no recheck is needed as in ready().
    """
    if ctx is None:
        ctx = _copy_context()
    cid = 0
    if m is not None:
        creator = m.curg
        if creator is not None:
            cid = creator.id
        if m.p is None:
            preempted(m)
    lock = sched.lock
    lock.acquire()
    if sched.stopping:
        lock.release()
        coro.close()
        raise RuntimeError("go: the runtime is stopping; no new goroutine can start")
    gf = sched.gfree
    if gf:
        # A dead G: goexit cleared its coro, param, waitchan and waitreason.
        g = gf.pop()
    else:
        # Every slot of a fresh G is set here or below (see G).
        g = _new_object(G)
        g.waitreason = ""
        g.waitsince = 0.0
        g.param = None
        g.waitchan = None
        g.stacklock = new_lock() if FREE_THREADED_BUILD else None
        g.lockedm = None
        if _untrack_g is not None:
            _untrack_g(g)
    gid = sched.goidgen + 1
    sched.goidgen = gid
    g.id = gid
    g.coro = coro
    g.ctx = ctx
    g.created_code = code
    g.created_lasti = lasti
    g.created_module = module
    g.creator_id = cid
    g.entry = entry
    g.status = RUNNABLE
    sched.allgs[gid] = g
    p = m.p if m is not None and m.sched is sched else None
    tw = None
    if p is not None:
        rn = p.runnext
        moved = False
        while rn:
            try:
                runqput(sched, p, rn.popleft(), locked=True)
            except IndexError:
                break
            moved = True
        rn.append(g)
        if moved and sched.pidle and not sched.nmspinning and not sched.stopping:
            tw = sched.startm_locked(sched.pidle.pop(), spinning=True)
    else:
        sched.runq.append(g)
        if sched.pidle:
            tw = sched.wakep_locked()
    lock.release()
    if sched.trace is not None:
        emit(m, "create", gid, (cid, entry))
    if tw is not None:
        wake_m(tw)
    return g


def goexit(m: M, g: G, value: Any) -> None:
    """``g`` returned: record it dead, drop every reference it held."""
    sched = m.sched
    if sched.trace is not None:
        emit(m, "end", g.id)
    m.curg = None
    # Dropped before Sched.lock is taken: freeing them can run arbitrary
    # __del__ code, and once DEAD shows the G holds nothing any more.
    g.coro = None
    g.ctx = None
    g.param = None
    g.waitchan = None
    g.waitreason = ""
    if g.lockedm is not None:
        unwire_on_exit(m, g)
    gid = g.id
    lock = sched.lock
    lock.acquire()
    try:
        # Dead and off allgs in one step under Sched.lock (Go's allglock), so
        # num_goroutine() (len(allgs)) and goroutines() (skips DEAD), both
        # read under it, never disagree about an exiting goroutine.
        g.status = DEAD
        sched.allgs.pop(gid, None)
        if gid == 1:
            sched.stop_locked(result=value)
        gf = sched.gfree
        if len(gf) < GFREE_MAX:
            g.created_code = None
            gf.append(g)
    finally:
        lock.release()


def gopanic(m: M, g: G, exc: BaseException) -> None:
    """An exception escaped ``g``: the run ends, run() re-raises it."""
    try:
        exc.add_note(f"goroutine {g.id} panicked; {describe_creation(g)}")
        hint = asyncio_hint(exc)
        if hint is not None:
            exc.add_note(hint)
    except Exception:  # noqa: BLE001 - an exception type that refuses notes
        pass
    if m.sched.trace is not None:
        emit(m, "panic", g.id, f"{type(exc).__name__}: {exc}")
    g.status = DEAD
    g.coro = None
    g.ctx = None
    with m.sched.lock:
        if not m.sched.stopping:
            attach_panic_dump_locked(m.sched, g, exc)
        m.sched.allgs.pop(g.id, None)
        m.sched.stop_locked(exc=exc)


# ---------------------------------------------------------------------- system calls


def entersyscall(m: M, g: G) -> None:
    """``g`` is about to block this thread: hand the P to another M at once.

    Go's entersyscallblock. The M keeps no P while the call runs; ``g`` is
    shown as in a system call. Another M takes the P if there is work for it.
    """
    sched = m.sched
    g.status = SYSCALL
    g.waitreason = WAIT_SYSCALL
    g.waitsince = sched.coarse_now
    if sched.trace is not None:
        emit(m, "syscall", g.id)
    with sched.lock:
        p = m.p
        m.p = None
        tw = sched.handoffp_locked(p) if p is not None and p.status != P_DEAD else None
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
    g.status = RUNNING
    return True


if speedups is not None:
    # The C fast paths read and write these classes' slots directly.
    speedups.setup_core(G, M, P, CLOSED, RUNNABLE, WAIT_CHAN_SEND, WAIT_CHAN_RECEIVE, _ready_py, _unrunnext)
    speedups.setup_sched(
        Sched, P, P_RUNNING, RUNNING, WAITING, goexit, gopanic, after_trap, _trace_trap, unhook, LockType
    )
