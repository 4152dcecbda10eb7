"""Per-P local run queues, work stealing and spinning Ms (_core/_sched.py).

The queue operations are tested on their own (the bound, the overflow of
half to the global queue, stealing half, the global batch); the runtime
tests check that work queued on one P is run by another P's M when the
first one is busy, with sysmon off so that nothing but stealing can move
it, and that shrinking GOMAXPROCS loses no queued goroutine.
"""

from __future__ import annotations

import threading
import time

import pytest

import goroutines as gr
from goroutines._core._g import G
from goroutines._core._sched import (
    LOCAL_RUNQ,
    Sched,
    globrunqget_locked,
    runqget,
    runqput,
    runqsteal,
)

pytestmark = pytest.mark.timeout(60)


def gs(n: int) -> list[G]:
    out = []
    for i in range(n):
        g = G()
        g.id = i
        out.append(g)
    return out


def test_runqget_takes_runnext_before_the_local_queue() -> None:
    s = Sched(1, 10)
    p = s.allp[0]
    a, b, c = gs(3)
    runqput(s, p, a)
    runqput(s, p, b)
    p.runnext.append(c)
    assert [runqget(p), runqget(p), runqget(p), runqget(p)] == [c, a, b, None]


def test_a_full_local_queue_moves_its_older_half_and_the_new_g_to_the_global_queue() -> None:
    s = Sched(1, 10)
    p = s.allp[0]
    many = gs(LOCAL_RUNQ + 1)
    for g in many:
        runqput(s, p, g)
    assert list(s.runq) == many[: LOCAL_RUNQ // 2] + [many[LOCAL_RUNQ]]
    assert list(p.runq) == many[LOCAL_RUNQ // 2 : LOCAL_RUNQ]


def test_steal_takes_the_older_half_rounded_up_and_returns_the_oldest() -> None:
    s = Sched(2, 10)
    thief, victim = s.allp
    five = gs(5)
    victim.runq.extend(five)
    got = runqsteal(thief, victim, stealrunnext=False)
    assert got is five[0]
    assert list(thief.runq) == five[1:3]
    assert list(victim.runq) == five[3:]


def test_steal_takes_runnext_only_when_asked_and_the_queue_is_empty() -> None:
    s = Sched(2, 10)
    thief, victim = s.allp
    (g,) = gs(1)
    victim.runnext.append(g)
    assert runqsteal(thief, victim, stealrunnext=False) is None
    assert runqsteal(thief, victim, stealrunnext=True) is g
    assert not victim.runnext


def test_global_batch_is_the_fair_share_and_stops_at_a_placeholder() -> None:
    s = Sched(2, 10)
    p = s.allp[0]
    ten = gs(10)
    s.runq.extend(ten)
    with s.lock:  # its contract (checked in debug mode)
        # 10 queued, 2 Ps: 10 // 2 + 1 = 6 taken, one returned, five queued locally.
        assert globrunqget_locked(s, p) is ten[0]
        assert list(p.runq) == ten[1:6]
        assert list(s.runq) == ten[6:]
        placeholder = object()  # a preempted M waiting for a P
        s.runq.appendleft(ten[5])
        s.runq.insert(1, placeholder)
        p.runq.clear()
        assert globrunqget_locked(s, p) is ten[5]
        assert not p.runq  # the batch stops before the placeholder
        assert globrunqget_locked(s, p) is placeholder
        assert globrunqget_locked(s, p, most=1) is ten[6]
        assert not p.runq


def test_work_queued_on_a_busy_p_is_stolen_by_another_m(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sysmon off: only a spinning M stealing from the busy P's local queue
    # can run the goroutines while their creator computes without awaiting.
    monkeypatch.setenv("GOROUTINES_SYSMON", "0")
    ran_elsewhere = threading.Event()

    async def child() -> None:
        if threading.current_thread() is not creator_thread[0]:
            ran_elsewhere.set()

    creator_thread: list[threading.Thread] = []

    async def main() -> bool:
        creator_thread.append(threading.current_thread())
        for _ in range(8):
            gr.go(child)
        # Busy, never awaiting: the children sit in this P's queues unless
        # another M steals them. Bounded so a broken runtime fails, not hangs.
        return ran_elsewhere.wait(20.0)  # blocking: the condition itself

    assert gr.run(main, gomaxprocs=2)


def test_shrinking_gomaxprocs_loses_no_locally_queued_goroutine() -> None:
    n = 200

    async def child(done: gr.Chan) -> None:
        await gr.gosched()
        await done.send(None)

    async def main() -> int:
        done = gr.Chan()
        for _ in range(n):
            gr.go(child, done)
        gr.gomaxprocs(1)
        for _ in range(n):
            await done.recv()
        # Every child has sent; those handed off by the receives may still be
        # queued to return. Let them: each must exit (none was lost).
        while gr.num_goroutine() > 1:
            await gr.gosched()
        return gr.num_goroutine()

    assert gr.run(main, gomaxprocs=4) == 1


@pytest.mark.parametrize("procs", [2, 4, 8])
def test_deadlock_is_still_found_with_work_spread_over_local_queues(procs: int) -> None:
    async def child(wait: gr.Chan, started: gr.Chan) -> None:
        await started.send(None)
        await wait.recv()

    async def main() -> None:
        wait, started = gr.Chan(), gr.Chan(64)
        for _ in range(64):
            gr.go(child, wait, started)
        for _ in range(64):
            await started.recv()
        await wait.send(None)  # one child takes it; then everyone is stuck
        await gr.Chan().recv()

    t0 = time.monotonic()
    with pytest.raises(gr.Deadlock):
        gr.run(main, gomaxprocs=procs)
    assert time.monotonic() - t0 < 30
