"""The schedule loop: an M picks a G, runs it to its next trap, repeats.

The loop of one M (Go's schedule/execute), in order:

  1. Take a P if it has none (or park: it is idle then, see findrunnable).
  2. Pick a G: every 61st pick looks at due timers and the global queue
     first (fairness, as Go's schedule does); otherwise the P's runnext,
     its local queue, then findrunnable (timers, the global queue, stealing
     from other Ps, then going idle); see _findrunnable.
  3. Resume the G's coroutine until it yields a trap (_traps.py) and act on
     it: park (mark WAITING, then release the lock(s) the G yielded), yield
     (gosched: to the global queue), or run a commit function.
  4. If the G returned: goexit. If it raised: the run stops with that panic
     (_lifecycle).

An M reads its own ``p`` without Sched.lock: ``p`` is only ever taken away
from it (by sysmon's retake, or by stop), under the lock, never given to it
by anyone else while it runs; the M looks at ``p`` before every pick, so it
gives up running goroutines at its next scheduling point. A G it readies in
that window lands in the old P's runnext or local queue, which its new
owner runs (ready() rechecks after appending, so a P that went idle
meanwhile loses nothing; see _ready). What it does with the P under
Sched.lock (_fair_pick's take from the global queue or hand-over) it does
only after checking, under the lock, that ``m.p`` is still that P: a P read
before a retake is another M's (Go never meets this: it retakes only a P
in a system call, never one its M is running on).

With the C fast paths, ``_speedups.run_fast`` runs the plain case of this
loop and calls back ``goexit``, ``gopanic``, ``after_trap``, ``_trace_trap``
and ``unhook`` (handed to it by ``setup_sched`` below) for the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._aiohint import unknown_trap_message
from ._cext import CLockType, LockType, speedups
from ._check import DEBUG
from ._findrunnable import _fair_pick, findrunnable, resetspinning
from ._g import RUNNABLE, RUNNING, SYSCALL, WAITING, G, casgstatus
from ._lifecycle import goexit, gopanic
from ._lockos import EXITED, lockedexit, stoplockedm
from ._sched import P_RUNNING, M, P, Sched, runqget, wake_m
from ._trace import emit

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
        if DEBUG:
            casgstatus(g, RUNNABLE, RUNNING)
        else:
            g.status = RUNNING  # casgstatus inlined: a hot path (see _g.py)
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
            if DEBUG:
                casgstatus(g, RUNNING, WAITING)
            else:
                g.status = WAITING  # casgstatus inlined: a hot path (see _g.py)
            g.waitsince = sched.coarse_now
            trap.release()
            if sched.stopping and g.status == WAITING:
                unhook(g)  # see the end of after_trap
        else:
            after_trap(m, g, trap)


def after_trap(m: M, g: G, trap: Any) -> None:
    """Act on what ``g`` yielded, other than a single lock: schedule() and
    _speedups.run_fast park on a lock trap themselves (run_fast also on a
    tuple of its C Locks, a select's park: the tuple case below)."""
    sched = m.sched
    tt = type(trap)
    if trap is None:
        if DEBUG:
            casgstatus(g, RUNNING, RUNNABLE)
        else:
            g.status = RUNNABLE  # casgstatus inlined: a hot path (see _g.py)
        if g.lockedm is not None:
            return  # wired: it stays with its M (schedule: stoplockedm)
        with sched.lock:
            sched.runq.append(g)
        return
    if tt is tuple:
        if DEBUG:
            casgstatus(g, RUNNING, WAITING)
        else:
            g.status = WAITING  # casgstatus inlined: a hot path (see _g.py)
        g.waitsince = sched.coarse_now
        for lk in trap:
            lk.release()
    elif tt is Commit:
        if DEBUG:
            casgstatus(g, RUNNING, WAITING)
        else:
            g.status = WAITING  # casgstatus inlined: a hot path (see _g.py)
        g.waitreason = trap.reason
        g.waitsince = sched.coarse_now
        trap.fn(m, g)
    elif trap is REQUEUE:
        casgstatus(g, SYSCALL, RUNNABLE)
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


if speedups is not None:
    # The C fast paths read and write these classes' slots directly.
    speedups.setup_sched(
        Sched, P, P_RUNNING, RUNNING, WAITING, goexit, gopanic, after_trap, _trace_trap, unhook, LockType
    )
