"""Unit tests of Sched (_core/_sched.py): idle lists, handing Ps to Ms,
GOMAXPROCS changes, stopping, and the deadlock check's counting.

Each test builds a Sched of its own and plays the Ms' part by hand (no
thread runs): M records are made as startm_locked makes them, never
started. The run queues themselves are tested in test_runq.py; the whole
scheduler through the public API everywhere else.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from goroutines._core._g import WAIT_CHAN_RECEIVE, WAITING, G
from goroutines._core._sched import P_DEAD, P_IDLE, P_RUNNING, M, Sched, wake_m
from goroutines._core._timer import Timer
from goroutines._core._timers import FAKE_EPOCH, FakeClock

pytestmark = pytest.mark.timeout(30)


def _nothing(arg: Any, seq: int) -> None:
    pass


def waiting_g(sched: Sched, reason: str = WAIT_CHAN_RECEIVE) -> G:
    """A goroutine record parked on something, as the deadlock dump sees it."""
    g = G()
    with sched.lock:
        sched.goidgen += 1
        g.id = sched.goidgen
        sched.allgs[g.id] = g
    g.status = WAITING
    g.waitreason = reason
    g.waitsince = sched.coarse_now
    g.entry = "main.worker"
    return g


def released(note: threading.Lock) -> bool:
    """Whether an M's note was released (its wake-up); takes it back."""
    return note.acquire(False)


# ---------------------------------------------------------------------- Ps and Ms


def test_a_new_sched_has_every_p_idle() -> None:
    s = Sched(3, 10)
    assert [p.id for p in s.allp] == [0, 1, 2]
    assert all(p.status == P_IDLE and p.m is None for p in s.allp)
    assert s.pidle[-1] is s.allp[0]  # pidle.pop() hands out P0 first


def test_startm_reuses_an_idle_m_then_the_poller_then_makes_one() -> None:
    s = Sched(3, 10)
    with s.lock:
        m0 = s.startm_locked(s.pidle.pop())
        assert m0 is not None and m0.thread is None  # new: wake_m will start it
        assert s.allm == [m0] and s.mcount == 1
        assert m0.nextp is s.allp[0] and s.allp[0].m is m0 and s.allp[0].status == P_RUNNING
        idle = M(s, 7)
        s.midle.append(idle)
        poller = M(s, 8)
        s.poller = poller
        assert s.startm_locked(s.pidle.pop()) is idle
        assert s.startm_locked(s.pidle.pop(), spinning=True) is poller
        assert s.poller is None and poller.spinning and s.nmspinning == 1
        assert s.mcount == 1  # no new thread for either


def test_startm_beyond_the_thread_limit_stops_the_run_with_an_error() -> None:
    s = Sched(2, 1)
    with s.lock:
        s.startm_locked(s.pidle.pop())
        p = s.pidle.pop()
        assert s.startm_locked(p) is None
    assert p in s.pidle and s.stopping
    assert isinstance(s.outcome.exc, RuntimeError)
    assert "1-thread limit" in str(s.outcome.exc) and "set_max_threads" in str(s.outcome.exc)


def test_wakep_needs_an_idle_p() -> None:
    s = Sched(1, 10)
    with s.lock:
        assert s.wakep_locked() is not None
        assert s.wakep_locked() is None  # no P left


def test_acquirep_and_releasep() -> None:
    s = Sched(1, 10)
    m = M(s, 0)
    with s.lock:
        p = s.acquirep_locked(m)
        assert p is not None and m.p is p and p.m is m and p.status == P_RUNNING
        assert s.acquirep_locked(M(s, 1)) is None
        s.releasep_locked(m)
        assert m.p is None and p.m is None and p.status == P_IDLE and s.pidle == [p]
        # A P that died meanwhile (GOMAXPROCS shrank) is not put back.
        s.acquirep_locked(m)
        p.status = P_DEAD
        s.releasep_locked(m)
        assert s.pidle == [] and p.status == P_DEAD


@pytest.mark.parametrize("work", ["runnext", "runq", "global", "timer"])
def test_handoffp_starts_an_m_only_when_there_is_work_for_the_p(work: str) -> None:
    s = Sched(1, 10)
    m = M(s, 0)
    with s.lock:
        p = s.acquirep_locked(m)
        assert p is not None
        m.p = None
        assert s.handoffp_locked(p) is None  # nothing to do: idle
        assert s.pidle == [p] and p.m is None
        s.acquirep_locked(m)
        m.p = None
        g = G()
        if work == "runnext":
            p.runnext.append(g)
        elif work == "runq":
            p.runq.append(g)
        elif work == "global":
            s.runq.append(g)
        else:
            s.timers.add(Timer(s, _nothing, None), 1.0)  # nobody waits for it
        m2 = s.handoffp_locked(p)
    assert m2 is not None and m2.nextp is p and p.m is m2


def test_growing_gomaxprocs_adds_idle_ps_and_shrinking_kills_them() -> None:
    s = Sched(1, 10)
    with s.lock:
        assert s.set_gomaxprocs_locked(3) == []  # nothing queued: no M to wake
        assert len(s.allp) == 3 and len(s.pidle) == 3
        g = G()
        s.allp[2].runq.append(g)
        s.set_gomaxprocs_locked(1)
        assert s.allp[1].status == P_DEAD and s.allp[2].status == P_DEAD
        assert s.pidle == [s.allp[0]]
        assert list(s.runq) == [g]  # a dying P's Gs go to the global queue
        # Growing again revives a dead P, and wakes an M per queued G (at
        # most one per new P), handing it the P.
        towake = s.set_gomaxprocs_locked(2)
        assert [m.nextp for m in towake] == [s.allp[1]]
        assert s.allp[1].status == P_RUNNING and s.allp[2].status == P_DEAD


def test_nmidle_counts_a_poller_waiting_for_timers_but_not_one_in_the_netpoller() -> None:
    s = Sched(1, 10)
    s.midle.append(M(s, 0))
    s.lockedidle.append(M(s, 1))
    poller = M(s, 2)
    s.poller = poller
    with s.lock:
        assert s.nmidle_locked() == 3
        poller.inpoll = True  # it will make goroutines runnable: running
        assert s.nmidle_locked() == 2


def test_m_start_without_a_thread_entry_says_what_is_missing() -> None:
    s = Sched(1, 10)
    with pytest.raises(RuntimeError, match="without a thread entry"):
        wake_m(M(s, 0))


def test_wake_m_releases_a_parked_m_s_note() -> None:
    s = Sched(1, 10)
    m = M(s, 0)
    m.thread = threading.current_thread()  # started
    wake_m(m)
    assert released(m.note)
    wake_m(None)  # nothing to wake: nothing happens


def test_stop_decides_the_outcome_once_and_wakes_every_parked_m() -> None:
    s = Sched(1, 10)
    idle, locked, poller = M(s, 0), M(s, 1), M(s, 2)
    s.midle.append(idle)
    s.lockedidle.append(locked)
    s.poller = poller
    with s.lock:
        s.stop_locked(result=42)
        s.stop_locked(exc=ValueError("late"))  # the first call decided
    assert s.stopping and s.outcome.result == 42 and s.outcome.exc is None
    assert released(idle.note) and released(locked.note) and released(poller.note)
    assert s.midle == [] and s.lockedidle == [] and s.poller is None
    assert released(s.done)


# ---------------------------------------------------------------------- the deadlock check


def last_m(s: Sched) -> M:
    """The M going idle: counted in mcount, as a started M is."""
    m = M(s, len(s.allm))
    s.allm.append(m)
    s.mcount += 1
    return m


def test_the_last_m_going_idle_with_every_goroutine_parked_is_a_deadlock() -> None:
    s = Sched(2, 10)
    waiting_g(s)
    m = last_m(s)
    with s.lock:
        assert s.checkdead_locked(m) is False
    assert s.stopping
    d = s.outcome.deadlock
    assert d is not None and d.startswith("all goroutines are asleep - deadlock!\n\n")
    assert "goroutine 1 [chan receive]:\nmain.worker(" in d


class _Netpoll:
    nwaiters = 1


@pytest.mark.parametrize(
    "alive",
    ["other M running", "global runq", "runnext", "local runq", "timer", "io", "npolling", "external", "no goroutines"],
)
def test_each_thing_that_may_still_happen_keeps_the_run_alive(alive: str) -> None:
    s = Sched(2, 10)
    if alive != "no goroutines":
        waiting_g(s)
    m = last_m(s)
    if alive == "other M running":
        last_m(s)
    elif alive == "global runq":
        s.runq.append(G())
    elif alive == "runnext":
        s.allp[1].runnext.append(G())
    elif alive == "local runq":
        s.allp[1].runq.append(G())
    elif alive == "timer":
        Timer(s, _nothing, None).start(1e9)
    elif alive == "io":
        s.netpoll = _Netpoll()
    elif alive == "npolling":
        s.npolling = 1
    elif alive == "external":
        s.nexternal = 1
    with s.lock:
        assert s.checkdead_locked(m) is False
    assert not s.stopping


def test_idle_ms_do_not_count_as_running() -> None:
    s = Sched(1, 10)
    waiting_g(s)
    s.midle.append(last_m(s))
    s.lockedidle.append(last_m(s))
    m = last_m(s)
    with s.lock:
        s.checkdead_locked(m)
    assert s.outcome.deadlock is not None


def test_a_plain_thread_that_may_still_act_holds_the_check_back() -> None:
    s = Sched(1, 10)
    waiting_g(s)
    m = last_m(s)
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)  # started during the run: it may act
    t.start()
    try:
        with s.lock:
            assert s.checkdead_locked(m) is False
        assert s.plain.suppressed and not s.stopping  # sysmon looks again
    finally:
        stop.set()
        t.join()
    with s.lock:
        s.checkdead_locked(m)
    assert s.outcome.deadlock is not None and not s.plain.suppressed


def test_a_stopping_run_is_never_declared_deadlocked() -> None:
    s = Sched(1, 10)
    waiting_g(s)
    m = last_m(s)
    with s.lock:
        s.stop_locked(result=None)
        assert s.checkdead_locked(m) is False
    assert s.outcome.deadlock is None


def test_in_a_bubble_the_fake_clock_jumps_to_the_next_timer() -> None:
    clock = FakeClock()
    s = Sched(1, 10, clock=clock)
    waiting_g(s)
    m = last_m(s)
    Timer(s, _nothing, None).start(FAKE_EPOCH + 60)
    with s.lock:
        assert s.checkdead_locked(m) is True  # the caller runs what is due
    assert clock.now() == FAKE_EPOCH + 60 and not s.stopping


def test_in_a_bubble_inert_timers_do_not_keep_it_alive() -> None:
    s = Sched(1, 10, clock=FakeClock())
    waiting_g(s)
    m = last_m(s)
    t = Timer(s, _nothing, None, period=1.0)
    t.inert = lambda arg: True  # a ticker nobody receives from
    t.start(FAKE_EPOCH + 1)
    with s.lock:
        assert s.checkdead_locked(m) is False
    assert s.outcome.deadlock is not None


def test_in_a_bubble_the_goroutine_in_testing_wait_is_readied_first() -> None:
    s = Sched(1, 10, clock=FakeClock())
    waiting_g(s)
    w = waiting_g(s, "synctest.Wait")
    s.waiter = w
    m = last_m(s)
    Timer(s, _nothing, None).start(FAKE_EPOCH + 60)
    with s.lock:
        assert s.checkdead_locked(m) is True
    assert list(s.runq) == [w] and s.waiter is None
    assert s.clock.now() == FAKE_EPOCH  # the clock waits for it
