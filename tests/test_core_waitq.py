"""Unit tests of the sync objects' wait queue (_core/_waitq.py) on its own,
and of the protocol through a run: park hands the lock to the M, which
releases it only once the G is parked, so a waker that dequeues under the
lock never readies a G still running.

The sync objects built on it are tested in test_sync.py and test_xsync.py.
"""

from __future__ import annotations

from typing import Any

import pytest

import goroutines as gr
from goroutines._core import (
    GRANTED,
    RANK_SYNC,
    WAIT_MUTEX,
    WAITING,
    G,
    WaitQueue,
    current,
    lock_kind,
    wake,
    wake_all,
)
from goroutines._core._schedule import unhook

pytestmark = pytest.mark.timeout(30)

# A sync object's lock, made as _sync.py makes them: a kind of lock in the
# lock order (in debug mode a checked one, which the schedule loop parks on;
# new_lock() itself makes only locks outside the order, never parked on).
new_lock = lock_kind("test wait queue lock", RANK_SYNC)


def live_g(n: int = 0) -> G:
    g = G()
    g.id = n
    g.coro = object()  # alive: its goroutine has not been closed
    return g


def dead_g() -> G:
    return G()  # coro None: closed by the end of its run


def test_park_records_the_wait_and_returns_the_lock_to_yield() -> None:
    lk = new_lock()
    q = WaitQueue(lk)
    a, b, c = live_g(1), live_g(2), live_g(3)
    with lk:
        assert q.park(a, WAIT_MUTEX) is lk
        q.park(b, WAIT_MUTEX)
        q.park(c, WAIT_MUTEX, front=True)  # keeps its place at the head
    assert list(q) == [c, a, b]
    assert a.waitreason == WAIT_MUTEX and a.waitchan is q


def test_dequeues_skip_dead_waiters() -> None:
    q = WaitQueue(new_lock())
    a, b = live_g(1), live_g(2)
    q.extend([dead_g(), a, dead_g(), b])
    assert q.live() and list(q)[0] is a  # the dead head was dropped
    assert q.dequeue() is a
    assert q.dequeue() is b
    assert q.dequeue() is None and not q
    q.extend([dead_g(), dead_g()])
    assert not q.live() and not q
    q.extend([a, dead_g(), b])
    assert q.dequeue_all() == [a, b] and not q


def test_wake_one_releases_the_lock_only_when_it_woke_someone() -> None:
    lk = new_lock()
    q = WaitQueue(lk)
    lk.acquire()
    assert q.wake_one(GRANTED) is False and lk.locked()  # nobody: still held
    q.append(dead_g())
    assert q.wake_one(GRANTED) is False and lk.locked() and not q
    a, b = live_g(1), live_g(2)
    q.extend([dead_g(), a, b])
    # No run in progress, so nothing is readied; the rest is the protocol.
    assert q.wake_one(GRANTED) is True and not lk.locked()
    assert a.param is GRANTED and list(q) == [b]


def test_forget_takes_an_abandoned_waiter_off_through_its_waitchan() -> None:
    lk = new_lock()
    q = WaitQueue(lk)
    a, b = live_g(1), live_g(2)
    with lk:
        q.park(a, WAIT_MUTEX)
        q.park(b, WAIT_MUTEX)
    unhook(a)  # what the end of a run does with a parked G
    assert list(q) == [b] and a.waitchan is None
    q._forget(a)  # not there any more: nothing happens
    assert not lk.locked()


def test_wake_outside_a_run_does_nothing() -> None:
    g = live_g()
    wake(g)
    wake_all([g])
    assert g.status != WAITING


class _Park:
    """``await _Park(q, reason)``: park on ``q`` (a test of the protocol)."""

    def __init__(self, q: WaitQueue, reason: str) -> None:
        self.q = q
        self.reason = reason

    def __await__(self) -> Any:
        m = current("park")
        self.q.lock.acquire()
        r = yield self.q.park(m.curg, self.reason)
        return r


@pytest.mark.parametrize("procs", [1, 2])
def test_a_woken_g_resumes_with_the_value_its_waker_left(procs: int) -> None:
    lk = new_lock()
    q = WaitQueue(lk)
    got: list[Any] = []

    async def waiter() -> None:
        got.append(await _Park(q, WAIT_MUTEX))

    async def main() -> None:
        wg = gr.WaitGroup()
        for _ in range(3):
            wg.add(1)

            async def one() -> None:
                await waiter()
                wg.done()

            gr.go(one)
        while True:  # until all three are queued (and so parked: see above)
            with lk:
                if len(q) == 3:
                    break
            await gr.gosched()
        infos = {g.wait_reason for g in gr.goroutines() if g.state == "waiting"}
        assert WAIT_MUTEX in infos
        with lk:
            first = q.dequeue()
            rest = q.dequeue_all()
        assert first is not None
        first.param = GRANTED
        wake(first)
        wake_all(rest)
        await wg.wait()

    gr.run(main, gomaxprocs=procs)
    assert sorted(got, key=repr) == sorted([GRANTED, None, None], key=repr)
