"""check_invariants: what must hold between Sched's lists, checked.

The invariants written in _sched.py's docstring (and in _g.py, _lockos.py),
as code. Two levels:

``check_invariants(sched)`` / ``check_invariants_locked(sched)``
    Whatever Sched.lock guards, so it holds at any moment the lock is held:
    the Ps (``allp``, ``pidle``, each P's status and owner), the Ms
    (``midle``, ``lockedidle``, the poller, ``p``/``nextp`` links, the
    spinning count), the Gs (``allgs``, ``gfree``, the global run queue).
    The stress tests call it from plain threads while goroutines churn;
    in debug mode (_check.py) every M going idle calls it before the
    deadlock check.

``debug_check_locked(sched)``
    The same, in debug mode, by every M about to go idle (before the
    deadlock check): a broken invariant ends the run with the error.
    (The deadlock check itself, in debug mode, also checks that every live
    G is waiting when it declares a deadlock: a runnable G in no queue is a
    lost wake-up, and the "deadlock" the runtime's own bug.)

A P's ``runnext`` and local queue take no lock (only their owner appends;
stealers pop), so a G seen there may be running a moment later: they are
not checked here, except for emptiness where Sched.lock says so. A broken
invariant raises RuntimeBug through ``_check.violation`` (recorded, see
there), listing every one found.
"""

from __future__ import annotations

from .._errors import RuntimeBug
from ._check import locked_by, violation
from ._g import DEAD, IDLE, RUNNABLE, STATUS_NAMES, WAITING, G
from ._sched import LK_IDLE, P_DEAD, P_IDLE, P_RUNNING, P_STATUS_NAMES, M, Sched


def check_invariants(sched: Sched) -> None:
    """Check ``sched``'s invariants under its lock (from any thread)."""
    with sched.lock:
        check_invariants_locked(sched)


def _gname(g: G) -> str:
    return f"goroutine {g.id} [{STATUS_NAMES.get(getattr(g, 'status', IDLE), '?')}]"


def _mname(m: M) -> str:
    return f"M{m.id}"


@locked_by("lock", "Sched.lock")
def check_invariants_locked(sched: Sched) -> None:
    """Check what Sched.lock guards (see the module docstring)."""
    bad: list[str] = []
    if sched.stopping:
        # stop_locked has cut every P from its M; Gs are abandoned as they are.
        return
    n = sched.gomaxprocs

    # -- Ps
    seen_idle: set[int] = set()
    for p in sched.pidle:
        if id(p) in seen_idle:
            bad.append(f"P {p.id} is on pidle twice")
        seen_idle.add(id(p))
        if p.status != P_IDLE:
            bad.append(f"P {p.id} is on pidle but {P_STATUS_NAMES.get(p.status, p.status)}")
        if p.m is not None:
            bad.append(f"P {p.id} is on pidle but owned by {_mname(p.m)}")
        if p.id >= n:
            bad.append(f"P {p.id} is on pidle but gomaxprocs is {n}")
    for i, p in enumerate(sched.allp):
        if p.id != i:
            bad.append(f"allp[{i}] is P {p.id}")
        st = p.status
        if i < n and st == P_DEAD:
            bad.append(f"P {i} is dead but gomaxprocs is {n}")
        if i >= n and st != P_DEAD:
            bad.append(f"P {i} is {P_STATUS_NAMES.get(st, st)} but gomaxprocs is {n} (it should be dead)")
        if st == P_IDLE and id(p) not in seen_idle:
            bad.append(f"P {i} is idle but not on pidle")
        m = p.m
        if st == P_RUNNING and m is None:
            bad.append(f"P {i} is running but has no M")
        if m is not None:
            if m.nextp is not p and m.p is not p:
                bad.append(f"P {i} is owned by {_mname(m)}, whose p is {m.p!r} and nextp {m.nextp!r}")

    # -- Ms
    nspinning = 0
    for m in sched.allm:
        if m.spinning:
            nspinning += 1
        for what, p in (("p", m.p), ("nextp", m.nextp)):
            if p is not None and p.m is not m:
                bad.append(f"{_mname(m)}.{what} is {p!r}, owned by {p.m and _mname(p.m)}")
    if nspinning != sched.nmspinning:
        bad.append(f"nmspinning is {sched.nmspinning} but {nspinning} Ms are spinning")
    seen_m: set[int] = set()
    for m in sched.midle:
        if id(m) in seen_m:
            bad.append(f"{_mname(m)} is on midle twice")
        seen_m.add(id(m))
        if m.p is not None or m.nextp is not None:
            bad.append(f"{_mname(m)} is on midle but has a P ({m.p!r}, nextp {m.nextp!r})")
        if m.spinning:
            bad.append(f"{_mname(m)} is on midle but spinning")
        if m is sched.poller:
            bad.append(f"{_mname(m)} is on midle and the poller")
    for m in sched.lockedidle:
        if id(m) in seen_m:
            bad.append(f"{_mname(m)} is on lockedidle and midle (or twice)")
        seen_m.add(id(m))
        if m.lockstate != LK_IDLE:
            bad.append(f"{_mname(m)} is on lockedidle but its lockstate is {m.lockstate}")
        if m.p is not None:
            bad.append(f"{_mname(m)} is on lockedidle but has {m.p!r}")
    if not 0 <= sched.nmidle_locked() <= sched.mcount <= len(sched.allm):
        bad.append(f"idle Ms {sched.nmidle_locked()}, mcount {sched.mcount}, allm {len(sched.allm)} disagree")

    # -- Gs
    for gid, g in sched.allgs.items():
        if g.id != gid:
            bad.append(f"allgs[{gid}] is {_gname(g)}")
        st = getattr(g, "status", IDLE)
        if st == DEAD or st == IDLE:
            bad.append(f"{_gname(g)} is on allgs")
    seen_g: set[int] = set()
    for g in sched.gfree:
        if id(g) in seen_g:
            bad.append(f"{_gname(g)} is on the free list twice")
        seen_g.add(id(g))
        if g.status != DEAD:
            bad.append(f"{_gname(g)} is on the free list")
        if sched.allgs.get(g.id) is g:
            bad.append(f"{_gname(g)} is on the free list and on allgs")
        if g.coro is not None:
            bad.append(f"{_gname(g)} is on the free list and keeps its coroutine")
    seen_q: set[int] = set()
    for x in sched.runq:
        if type(x) is not G:
            # A placeholder: a preempted goroutine's M, or a wired one's.
            if type(x) is not M:
                bad.append(f"the global run queue holds {x!r}")
            continue
        if id(x) in seen_q:
            bad.append(f"{_gname(x)} is on the global run queue twice")
        seen_q.add(id(x))
        if x.status != RUNNABLE:
            bad.append(f"{_gname(x)} is on the global run queue")
        if sched.allgs.get(x.id) is not x:
            bad.append(f"{_gname(x)} is on the global run queue but not on allgs")
        if id(x) in seen_g:
            bad.append(f"{_gname(x)} is on the global run queue and the free list")
    w = sched.waiter
    if w is not None and w.status != WAITING:
        bad.append(f"{_gname(w)} is the synctest waiter")
    if bad:
        raise violation("Sched invariants broken: " + "; ".join(bad))


# debug_check_locked's budget: about this many items looked at per call.
DEBUG_CHECK_BUDGET = 256
# Calls of debug_check_locked so far (under the running Sched's lock).
_debug_calls = 0


@locked_by("lock", "Sched.lock")
def debug_check_locked(sched: Sched) -> None:
    """Debug mode, an M about to go idle: check_invariants_locked; a broken
    invariant stops the run with the RuntimeBug (raised on the M's own
    thread it would end the M and leave the run hanging).

    The check is linear in the goroutines alive, and Ms go idle often: with
    more than DEBUG_CHECK_BUDGET goroutines it runs at every k-th call only
    (k = their number / the budget), so that a program of many goroutines
    stays usable in debug mode (each run of it is still complete).
    """
    global _debug_calls
    _debug_calls += 1
    size = len(sched.allgs) + len(sched.gfree) + len(sched.runq)
    if size > DEBUG_CHECK_BUDGET and _debug_calls % (size // DEBUG_CHECK_BUDGET + 1):
        return
    try:
        check_invariants_locked(sched)
    except RuntimeBug as e:
        sched.stop_locked(exc=e)
