"""A goroutine's birth and death: newproc, goexit, gopanic.

``newproc`` creates a G (reusing a dead one from ``Sched.gfree``) and
makes it runnable in one Sched.lock section; ``goexit`` records a G that
returned dead and drops what it held; ``gopanic`` ends the run with the
exception that escaped a G. ``allgs``, ``gfree``, ``goidgen`` and the
DEAD status are written under Sched.lock (Go's allglock), so
num_goroutine() and goroutines() never disagree about an exiting G.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import copy_context as _copy_context
from typing import Any

from ._aiohint import asyncio_hint
from ._cext import speedups
from ._check import DEBUG
from ._g import DEAD, FREE_THREADED_BUILD, IDLE, RUNNABLE, RUNNING, G, casgstatus, new_stacklock
from ._lockos import unwire_on_exit
from ._ready import preempted
from ._sched import M, Sched, runqput, wake_m
from ._trace import emit
from ._traceback import attach_panic_dump_locked, describe_creation

_new_object = object.__new__
# Dead G records kept for reuse (Sched.gfree); the rest are freed.
GFREE_MAX = 4096
# Take a G record off the cyclic GC's lists (see _speedups.c, "spawn and
# exit": nothing a G refers to needs the collector to free it).
_untrack_g: Callable[[G], None] | None = speedups.untrack_g if speedups is not None else None


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
        was = DEAD
    else:
        # Every slot of a fresh G is set here or below (see G).
        g = _new_object(G)
        g.waitreason = ""
        g.waitsince = 0.0
        g.param = None
        g.waitchan = None
        g.stacklock = new_stacklock() if FREE_THREADED_BUILD else None
        g.lockedm = None
        was = IDLE
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
    if DEBUG:
        casgstatus(g, was, RUNNABLE)
    else:
        g.status = RUNNABLE  # casgstatus inlined: a hot path (see _g.py)
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
        if DEBUG:
            casgstatus(g, RUNNING, DEAD)
        else:
            g.status = DEAD  # casgstatus inlined: a hot path (see _g.py)
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
    g.coro = None
    g.ctx = None
    with m.sched.lock:
        # Dead and off allgs in one step, as in goexit.
        casgstatus(g, RUNNING, DEAD)
        if not m.sched.stopping:
            attach_panic_dump_locked(m.sched, g, exc)
        m.sched.allgs.pop(g.id, None)
        m.sched.stop_locked(exc=exc)
