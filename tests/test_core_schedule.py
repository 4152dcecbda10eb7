"""Unit tests of what an M does (_core/_ready.py, _lifecycle.py, _syscall.py,
_schedule.py, _findrunnable.py, _mstart.py), driven directly on a Sched of
the test's own.

The functions are called on this thread with hand-made M records; the
schedule loop itself runs here too, as the one M of a GOMAXPROCS=1 Sched
(``mstart`` on the test thread), so its picks are deterministic: runnext,
then the local queue, then the global one, a gosched to the tail of the
global queue, a park on a lock until a ready(), and the end of the run
when goroutine 1 returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Coroutine, Generator
from typing import Any

import pytest

from goroutines._core._findrunnable import _fair_pick
from goroutines._core._g import DEAD, RUNNABLE, RUNNING, SYSCALL, WAIT_SLEEP, WAITING, G, casgstatus
from goroutines._core._invariants import check_invariants
from goroutines._core._lifecycle import goexit, gopanic, newproc
from goroutines._core._mstart import current_m, mstart
from goroutines._core._ready import _ready_py, inject, ready, ready_external
from goroutines._core._sched import P_IDLE, P_RUNNING, M, Sched
from goroutines._core._schedule import REQUEUE, Commit, after_trap, unhook
from goroutines._core._syscall import entersyscall, exitsyscall
from goroutines._core._timer import Timer
from goroutines._core._timers import Clock, FakeClock
from goroutines._core._traps import gosched

pytestmark = pytest.mark.timeout(30)


def sched_with_m(gomaxprocs: int = 1, clock: Clock | None = None) -> tuple[Sched, M]:
    """A Sched and one M holding P0, counted as a started M."""
    s = Sched(gomaxprocs, 10, clock=clock)
    m = M(s, 0)
    s.allm.append(m)
    s.mcount = 1
    with s.lock:
        s.acquirep_locked(m)
    return s, m


async def _noop() -> None:
    pass


def spawn(s: Sched, m: M | None, fn: Any = _noop, *args: Any) -> G:
    coro: Coroutine[Any, Any, Any] = fn(*args)
    return newproc(s, m, coro, f"test.{fn.__name__}", None, -1)


# Fake Gs are put in a status the way the runtime gets them there (so that
# debug mode's transition checks hold, _g.G_TRANSITIONS): go() makes a G
# runnable on the global queue, an M takes it off and runs it, a running G
# parks.


def running_g(s: Sched) -> G:
    """A G as an M runs it: spawned, taken off the global queue, running."""
    g = spawn(s, None)
    with s.lock:
        s.runq.remove(g)
    casgstatus(g, RUNNABLE, RUNNING)
    return g


def parked_g(s: Sched) -> G:
    """A G that ran and parked (waiting for a ready())."""
    g = running_g(s)
    casgstatus(g, RUNNING, WAITING)
    return g


def hand_p_to_mstart(s: Sched, m: M) -> None:
    """Move ``m``'s P to its ``nextp``, as startm_locked hands one over to an
    M about to start (mstart takes it), under Sched.lock as every write of
    ``p`` and ``nextp`` is."""
    with s.lock:
        m.nextp, m.p = m.p, None


def close_all(s: Sched) -> None:
    for g in list(s.allgs.values()):
        if g.coro is not None:
            g.coro.close()


# ---------------------------------------------------------------------- ready


def test_ready_from_an_m_puts_the_g_in_runnext_and_displaces_the_old_one() -> None:
    s, m = sched_with_m()
    p = m.p
    a, b = parked_g(s), parked_g(s)
    _ready_py(a, m)
    assert list(p.runnext) == [a] and a.status == RUNNABLE
    _ready_py(b, m)
    assert list(p.runnext) == [b] and list(p.runq) == [a]  # a keeps its turn, next
    close_all(s)


def test_ready_from_an_m_without_a_p_queues_globally() -> None:
    s, m = sched_with_m()
    with s.lock:
        s.releasep_locked(m)
        s.acquirep_locked(M(s, 1))  # no idle P: nobody to wake
    g = parked_g(s)
    ready(g, m)
    assert list(s.runq) == [g] and g.status == RUNNABLE
    close_all(s)


class _PlainWaiter:
    """A plain thread's waiter (not a G): ready() releases it."""

    woken = 0

    def wake(self) -> None:
        self.woken += 1


def test_ready_of_a_plain_thread_s_waiter_wakes_it_and_schedules_nothing() -> None:
    s, m = sched_with_m()
    w = _PlainWaiter()
    _ready_py(w, m)  # type: ignore[arg-type]
    assert w.woken == 1 and not m.p.runnext and not s.runq


def test_inject_queues_what_the_netpoller_found_and_wakes_ms_for_idle_ps() -> None:
    s, m = sched_with_m(gomaxprocs=2)
    s.mstart = lambda m: None  # a new M's thread does nothing here
    a, b = parked_g(s), parked_g(s)
    inject(s, [a, b])
    assert list(s.runq) == [a, b] and a.status == b.status == RUNNABLE
    assert s.pidle == [] and len(s.allm) == 2  # the idle P went to a new M
    close_all(s)


def test_ready_external_resumes_with_the_value_and_does_nothing_once_stopped() -> None:
    s, m = sched_with_m()
    g = parked_g(s)
    s.nexternal = 2
    ready_external(s, g, "done")
    assert g.param == "done" and list(s.runq) == [g] and s.nexternal == 1
    h = parked_g(s)
    with s.lock:
        s.stop_locked(result=None)
    ready_external(s, h, "late")
    assert h.param is None and h not in s.runq and s.nexternal == 0
    close_all(s)


# ---------------------------------------------------------------------- newproc, goexit, gopanic


def test_newproc_from_a_goroutine_takes_runnext_and_from_elsewhere_the_global_queue() -> None:
    s, m = sched_with_m()
    a = spawn(s, None)
    assert list(s.runq) == [a] and a.id == 1 and s.allgs == {1: a}
    b = spawn(s, m)
    c = spawn(s, m)
    assert list(m.p.runnext) == [c] and list(m.p.runq) == [b]
    assert (b.id, c.id) == (2, 3) and b.status == RUNNABLE
    close_all(s)


def test_newproc_in_a_stopping_run_closes_the_coroutine_and_says_so() -> None:
    s, _ = sched_with_m()
    with s.lock:
        s.stop_locked(result=None)
    coro = _noop()
    with pytest.raises(RuntimeError, match="the runtime is stopping"):
        newproc(s, None, coro, "test._noop", None, -1)
    assert coro.cr_frame is None  # closed: no "never awaited" warning


def test_goexit_records_the_g_dead_and_reuses_its_record() -> None:
    s, m = sched_with_m()
    main, other = running_g(s), running_g(s)
    other.coro.close()
    goexit(m, other, None)
    assert other.status == DEAD and other.id not in s.allgs and s.gfree == [other]
    assert other.coro is None and other.waitchan is None
    assert spawn(s, None) is other  # the dead record is reused
    main.coro.close()
    goexit(m, main, 42)  # goroutine 1 returning ends the run with its result
    assert s.stopping and s.outcome.result == 42
    close_all(s)


def test_gopanic_ends_the_run_with_the_exception_and_a_note_naming_the_g() -> None:
    s, m = sched_with_m()
    g = running_g(s)
    g.coro.close()
    exc = ValueError("boom")
    gopanic(m, g, exc)
    assert s.stopping and s.outcome.exc is exc and g.status == DEAD
    assert any(n.startswith(f"goroutine {g.id} panicked") for n in exc.__notes__)


# ---------------------------------------------------------------------- traps


def test_after_trap_gosched_and_requeue_go_to_the_global_queue() -> None:
    s, m = sched_with_m()
    a, b = running_g(s), running_g(s)
    entersyscall(m, b)  # b is back from a system call with no P free: REQUEUE
    after_trap(m, a, None)
    after_trap(m, b, REQUEUE)
    assert list(s.runq) == [a, b] and a.status == b.status == RUNNABLE
    close_all(s)


def test_after_trap_a_tuple_of_locks_parks_then_releases_them() -> None:
    s, m = sched_with_m()
    g = running_g(s)
    locks = (threading.Lock(), threading.Lock())
    for lk in locks:
        lk.acquire()
    seen: list[int] = []

    class Watch:
        def __init__(self, lk: threading.Lock) -> None:
            self.lk = lk

        def release(self) -> None:
            seen.append(g.status)  # marked waiting before any release
            self.lk.release()

    after_trap(m, g, tuple(Watch(lk) for lk in locks))
    assert seen == [WAITING, WAITING] and not any(lk.locked() for lk in locks)
    close_all(s)


def test_after_trap_a_commit_runs_on_the_m_once_the_g_is_waiting() -> None:
    s, m = sched_with_m()
    g = running_g(s)
    calls: list[tuple[M, G, int, str]] = []
    after_trap(m, g, Commit(lambda m2, g2: calls.append((m2, g2, g2.status, g2.waitreason)), WAIT_SLEEP))
    assert calls == [(m, g, WAITING, WAIT_SLEEP)]
    close_all(s)


def test_after_trap_of_something_unknown_is_a_panic_that_says_what_to_await() -> None:
    s, m = sched_with_m()
    g = running_g(s)
    g.coro.close()
    after_trap(m, g, 42)
    exc = s.outcome.exc
    assert isinstance(exc, TypeError)
    assert f"goroutine {g.id} awaited 42 (int), which is not a goroutines operation" in str(exc)
    close_all(s)


def test_unhook_takes_a_g_off_every_queue_it_waits_in() -> None:
    forgot: list[Any] = []

    class Q:
        def _forget(self, entry: Any) -> None:
            forgot.append(entry)

    g = G()
    q1, q2 = Q(), Q()
    g.waitchan = ((q1, "e1"), (q2, "e2"))  # a select's entries
    unhook(g)
    g.waitchan = q1
    unhook(g)
    unhook(g)  # nothing left: nothing happens
    assert forgot == ["e1", "e2", g] and g.waitchan is None


# ---------------------------------------------------------------------- system calls


def test_a_system_call_hands_the_p_off_and_takes_one_back_after() -> None:
    s, m = sched_with_m()
    g = running_g(s)
    p = m.p
    entersyscall(m, g)
    assert m.p is None and g.status == SYSCALL and s.pidle == [p] and p.status == P_IDLE
    assert exitsyscall(m, g) is True
    assert m.p is p and g.waitreason == ""
    # With no P free the G must be requeued (the caller yields REQUEUE).
    entersyscall(m, g)
    with s.lock:
        s.acquirep_locked(M(s, 1))
    assert exitsyscall(m, g) is False and m.p is None
    close_all(s)


# ---------------------------------------------------------------------- a P retaken under the loop


def retaken_under_the_loop(with_placeholder: bool) -> tuple[Sched, M, Any, M | None]:
    """An M whose schedule loop has read its ``p`` (without the lock, as it
    does before every pick), and then lost it to sysmon's retake: the P
    went to a new M (it has work: the global queue's head). Returns the
    Sched, the M, the P it read and the preempted M queued as a placeholder
    (or None: a G is queued instead)."""
    s, m = sched_with_m(gomaxprocs=1)
    p = m.p  # the loop's read
    w = None
    if with_placeholder:
        # A preempted goroutine's M, waiting for a P (see Sched.runq).
        w = M(s, 1)
        s.allm.append(w)
        s.mcount += 1
        with s.lock:
            s.runq.append(w)
    else:
        spawn(s, None)
    with s.lock:  # sysmon's retake, as _sysmon does it
        m.p = None
        new = s.handoffp_locked(p)
    assert new is not None and new.nextp is p and p.m is new and p.status == P_RUNNING
    return s, m, p, w


def test_a_fair_pick_with_a_p_retaken_meanwhile_hands_nobody_that_p() -> None:
    # The loop's 61st pick takes the global queue's head; a placeholder there
    # gets the picker's P. A P retaken since the loop read it is another M's:
    # handing it over gave one P two owners (check_invariants, seen in
    # test_foreign_threads.py in debug mode: "M10.p is <P 7 [running]>,
    # owned by M9").
    s, m, p, w = retaken_under_the_loop(with_placeholder=True)
    assert _fair_pick(m, p) is None
    assert m.p is None and w is not None and w.p is None and list(s.runq) == [w]
    check_invariants(s)


def test_a_fair_pick_with_a_p_retaken_meanwhile_leaves_the_global_queue_alone() -> None:
    s, m, p, _ = retaken_under_the_loop(with_placeholder=False)
    (g,) = s.runq
    assert _fair_pick(m, p) is None
    assert list(s.runq) == [g] and not p.runq and not p.runnext  # for p's new owner to take
    check_invariants(s)
    close_all(s)


# ---------------------------------------------------------------------- the loop


class _ParkOn:
    """Park on ``lk`` (held): the G is queued in ``where`` first."""

    def __init__(self, lk: Any, where: list[G]) -> None:
        self.lk = lk
        self.where = where

    def __await__(self) -> Generator[Any, Any, Any]:
        m = current_m()
        assert m is not None and m.curg is not None
        self.lk.acquire()
        self.where.append(m.curg)
        return (yield self.lk)


def test_the_loop_runs_runnext_then_the_local_then_the_global_queue() -> None:
    s, m = sched_with_m()
    order: list[str] = []

    async def main() -> str:
        order.append("main")
        spawn(s, current_m(), note, "local-1")  # runnext, then displaced...
        spawn(s, current_m(), note, "runnext")  # ...to the local queue by this one
        spawn(s, None, note, "global")
        await gosched()  # to the tail of the global queue
        order.append("main again")
        return "result"

    async def note(what: str) -> None:
        order.append(what)

    spawn(s, None, main)
    hand_p_to_mstart(s, m)
    mstart(m)
    assert order == ["main", "runnext", "local-1", "global", "main again"]
    assert s.stopping and s.outcome.result == "result" and s.mcount == 0
    assert current_m() is None  # the thread is unbound again


def test_the_loop_parks_a_g_on_the_lock_it_yields_until_it_is_readied() -> None:
    s, m = sched_with_m()
    lk = threading.Lock()
    parked: list[G] = []
    order: list[Any] = []

    async def main() -> None:
        spawn(s, current_m(), waker)
        order.append(await _ParkOn(lk, parked))

    async def waker() -> None:
        g = parked[0]
        order.append(("waker sees", g.status, lk.locked()))  # parked, lock released
        g.param = "woken"
        ready(g, current_m())

    spawn(s, None, main)
    hand_p_to_mstart(s, m)
    mstart(m)
    assert order == [("waker sees", WAITING, False), "woken"]
    assert s.outcome.exc is None and s.outcome.deadlock is None


def test_in_a_bubble_a_due_real_time_timer_runs_before_the_global_queue() -> None:
    # findrunnable's order: due timers -- in a bubble both heaps, the fake
    # clock's and the real-time one of I/O deadlines (Sched.realtimers) --
    # before the global queue. The C loop's take from the global queue
    # (_speedups.c take_global) must leave the pick to findrunnable while
    # either heap has a timer, or a due I/O deadline waits behind it (until
    # the 61st pick, an idle M or sysmon).
    s, m = sched_with_m(clock=FakeClock())
    order: list[str] = []

    def fired(arg: Any, seq: int) -> None:
        order.append("I/O deadline")

    async def main() -> None:
        order.append("goroutine")

    spawn(s, None, main)
    deadline = Timer(s, fired, None, real=True)
    assert deadline.heap is s.realtimers
    deadline.start(time.monotonic() - 1.0)  # due already
    hand_p_to_mstart(s, m)
    mstart(m)
    assert order == ["I/O deadline", "goroutine"]


def test_the_loop_reports_a_deadlock_when_its_only_g_parks_for_good() -> None:
    s, m = sched_with_m()
    lk = threading.Lock()

    async def main() -> None:
        await _ParkOn(lk, [])

    spawn(s, None, main)
    hand_p_to_mstart(s, m)
    mstart(m)
    d = s.outcome.deadlock
    assert d is not None and d.startswith("all goroutines are asleep - deadlock!")
    close_all(s)
