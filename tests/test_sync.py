"""Issue 4 (sync): WaitGroup, Mutex, RWMutex and Once.

The contract: they park goroutines, never threads; a negative WaitGroup
counter is a ValueError; unlocking an unlocked (RW)Mutex is a RuntimeError; a
Mutex is not owned; RWMutex prefers writers; Once runs fn once even if it
raises, and a concurrent caller waits for the first; wait reasons
``sync.Mutex``, ``sync.RWMutex``, ``sync.WaitGroup``, ``sync.Once``; the
objects are plain (module level, before run, reused by a later run).

No test sleeps to synchronise: goroutines are awaited as parked with the
``wait`` fixture (polling ``gr.goroutines()``), or hand off over channels.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

import goroutines as gr
from goroutines import _sync

try:  # the public names, once goroutines/__init__.py exports them
    from goroutines import Mutex, Once, RWMutex, WaitGroup  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - until the exports land
    from goroutines._sync import Mutex, Once, RWMutex, WaitGroup

pytestmark = [pytest.mark.usefixtures("no_leaked_runtime_threads"), pytest.mark.timeout(60)]

PROCS = [1, 4]

# Created at import time, before any run: the contract says that works.
MODULE_MU = Mutex()
MODULE_WG = WaitGroup()


def test_public_exports() -> None:
    names = ["Mutex", "RWMutex", "WaitGroup", "Once"]
    missing = [n for n in names if not hasattr(gr, n)]
    if missing:
        pytest.skip(f"goroutines/__init__.py does not export {missing} yet")
    for n in names:
        assert getattr(gr, n) is getattr(_sync, n)


# ====================================================================== WaitGroup


@pytest.mark.parametrize("procs", PROCS)
def test_waitgroup_waits_for_all_workers(procs: int) -> None:
    async def main() -> list[int]:
        wg = WaitGroup()
        done: list[int] = []
        lock = threading.Lock()

        async def worker(i: int) -> None:
            for _ in range(i % 5):
                await gr.gosched()
            with lock:
                done.append(i)
            wg.done()

        for i in range(100):
            wg.add(1)
            gr.go(worker, i)
        await wg.wait()
        with lock:
            return sorted(done)

    assert gr.run(main, gomaxprocs=procs) == list(range(100))


def test_waitgroup_wait_at_zero_returns_at_once() -> None:
    async def main() -> str:
        wg = WaitGroup()
        await wg.wait()
        wg.add(3)
        wg.add(-3)
        await wg.wait()
        return "ok"

    assert gr.run(main) == "ok"


@pytest.mark.parametrize("procs", PROCS)
def test_waitgroup_releases_every_waiter(procs: int, wait: Any) -> None:
    async def main() -> int:
        wg = WaitGroup()
        wg.add(1)
        out = gr.Chan(10)

        async def waiter(i: int) -> None:
            await wg.wait()
            await out.send(i)

        ids = [gr.go(waiter, i).id for i in range(10)]
        await wait.all_parked(ids, "sync.WaitGroup")
        wg.done()
        got = {await out.recv() for _ in range(10)}
        return len(got)

    assert gr.run(main, gomaxprocs=procs) == 10


def test_waitgroup_negative_counter_is_value_error() -> None:
    wg = WaitGroup()
    with pytest.raises(ValueError, match="sync: negative WaitGroup counter"):
        wg.done()
    assert wg.count == 0  # left unchanged, usable afterwards
    wg.add(2)
    with pytest.raises(ValueError, match="negative WaitGroup counter"):
        wg.add(-3)
    assert wg.count == 2


@pytest.mark.parametrize("bad", [1.0, "1", None, True])
def test_waitgroup_add_needs_an_int(bad: Any) -> None:
    with pytest.raises(TypeError, match="WaitGroup.add"):
        WaitGroup().add(bad)


def test_waitgroup_reused_after_wait() -> None:
    async def main() -> int:
        wg = WaitGroup()
        total = 0
        for rnd in range(5):
            results = gr.Chan(10)

            async def w(v: int, results: gr.Chan[int]) -> None:
                await results.send(v)
                wg.done()

            for i in range(10):
                wg.add(1)
                gr.go(w, rnd * 10 + i, results)
            await wg.wait()
            total += sum([await results.recv() for _ in range(10)])
        return total

    assert gr.run(main) == sum(range(50))


def test_waitgroup_wait_reason_and_deadlock() -> None:
    async def main() -> None:
        wg = WaitGroup()
        wg.add(1)
        await wg.wait()

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    assert str(ei.value).startswith("all goroutines are asleep - deadlock!")
    assert "goroutine 1 [sync.WaitGroup]" in str(ei.value)


def test_waitgroup_done_from_a_plain_thread(wait: Any) -> None:
    async def main() -> str:
        wg = WaitGroup()
        wg.add(1)
        go_on = threading.Event()

        def helper() -> None:
            go_on.wait(10)
            wg.done()

        t = threading.Thread(target=helper)
        t.start()

        async def keep_alive() -> None:  # the runtime is not asleep while the thread runs
            await gr.syscall(t.join)

        gr.go(keep_alive)
        go_on.set()
        await wg.wait()
        # Until keep_alive has left its blocking call and ended: an M still
        # inside one when main returns gets only a moment's grace before
        # the run leaves it behind (a runtime thread alive after the test).
        await wait.until(lambda: len(gr.goroutines()) == 1, "keep_alive to end")
        return "ok"

    assert gr.run(main, gomaxprocs=2) == "ok"


def test_waitgroup_outside_a_goroutine_is_runtime_error() -> None:
    async def in_asyncio() -> None:
        await WaitGroup().wait()

    with pytest.raises(RuntimeError, match="inside a goroutine"):
        asyncio.run(in_asyncio())


def test_waitgroup_module_level_used_by_two_runs(wait: Any) -> None:
    async def main(n: int) -> int:
        got = gr.Chan(n)

        async def w(i: int) -> None:
            await got.send(i)
            MODULE_WG.done()

        for i in range(n):
            MODULE_WG.add(1)
            gr.go(w, i)
        await MODULE_WG.wait()
        return len(got)

    assert gr.run(main, 5) == 5
    assert gr.run(main, 7) == 7


def test_waitgroup_abandoned_waiter_is_not_woken_in_a_later_run(wait: Any) -> None:
    wg = WaitGroup()

    async def first() -> None:
        wg.add(1)
        g = gr.go(_wait_on, wg)
        await wait.parked(g.id, "sync.WaitGroup")
        # main returns: the waiter is abandoned, and must be forgotten.

    gr.run(first)
    assert len(wg._waiters) == 0

    async def second() -> str:
        wg.done()  # counter 1 -> 0: nobody from the old run may be readied
        await wg.wait()
        return "ok"

    assert gr.run(second) == "ok"


async def _wait_on(wg: WaitGroup) -> None:
    await wg.wait()


# ====================================================================== Mutex


@pytest.mark.parametrize("procs", PROCS)
def test_mutex_mutual_exclusion(procs: int) -> None:
    async def main() -> tuple[int, int]:
        mu = Mutex()
        wg = WaitGroup()
        state = {"n": 0, "inside": 0, "max_inside": 0}

        async def worker() -> None:
            for _ in range(300):
                async with mu:
                    state["inside"] += 1
                    state["max_inside"] = max(state["max_inside"], state["inside"])
                    v = state["n"]
                    await gr.gosched()  # invite another goroutine in
                    state["n"] = v + 1
                    state["inside"] -= 1
            wg.done()

        for _ in range(8):
            wg.add(1)
            gr.go(worker)
        await wg.wait()
        return state["n"], state["max_inside"]

    assert gr.run(main, gomaxprocs=procs) == (2400, 1)


@pytest.mark.parametrize("procs", PROCS)
def test_mutex_waiters_get_it_in_arrival_order(procs: int, wait: Any) -> None:
    async def main() -> list[int]:
        mu = Mutex()
        order = gr.Chan(10)
        await mu.lock()

        async def waiter(i: int) -> None:
            await mu.lock()
            await order.send(i)
            mu.unlock()

        for i in range(5):
            g = gr.go(waiter, i)
            await wait.parked(g.id, "sync.Mutex")
        mu.unlock()
        return [await order.recv() for _ in range(5)]

    assert gr.run(main, gomaxprocs=procs) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("procs", PROCS)
def test_mutex_starvation_mode_lets_a_waiter_in(procs: int) -> None:
    """A goroutine that unlocks and relocks at once wins every race in normal
    mode; once the waiter has waited over 1 ms the mutex hands it over."""

    async def main() -> tuple[bool, int]:
        mu = Mutex()
        got = gr.Chan(1)
        stop = [False]

        started = gr.Chan(1)

        async def hog() -> int:
            n = 0
            deadline = time.monotonic() + 20
            while not stop[0] and time.monotonic() < deadline:
                await mu.lock()
                n += 1
                if n == 1:
                    await started.send(None)
                await gr.gosched()
                mu.unlock()
            return n

        async def victim() -> None:
            await mu.lock()
            stop[0] = True
            mu.unlock()
            await got.send(True)

        counts = gr.Chan(1)

        async def run_hog() -> None:
            await counts.send(await hog())

        # The victim arrives while the hog already holds the mutex and
        # relocks it at once. (Had the victim been queued first, it could
        # take the mutex and set ``stop`` before the hog ever ran.)
        gr.go(run_hog)
        await started.recv()
        gr.go(victim)
        ok = await got.recv()
        n = await counts.recv()
        return ok, n

    ok, n = gr.run(main, gomaxprocs=procs)
    assert ok
    assert n >= 1


def test_mutex_enters_and_leaves_starvation_mode(wait: Any) -> None:
    """White-box: a waiter that lost the race after > 1 ms sets starvation
    mode; the unlock then hands off; the mode ends with the last waiter."""

    async def main() -> list[Any]:
        mu = Mutex()
        seen: list[Any] = []
        await mu.lock()
        got = gr.Chan(1)

        async def victim() -> None:
            await mu.lock()
            seen.append(("victim has it, starving =", mu._starving))
            mu.unlock()
            await got.send(None)

        v = gr.go(victim)
        await wait.parked(v.id, "sync.Mutex")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.005:  # let the victim wait > 1 ms
            await gr.gosched()
        # Wake it, then barge in before it runs (we keep the thread: procs=1).
        mu.unlock()
        assert mu.try_lock()
        await wait.parked(v.id, "sync.Mutex")  # it lost, and re-queued
        seen.append(("starving after the lost race", mu._starving))
        mu.unlock()  # hand-off
        await got.recv()
        seen.append(("after the last waiter", mu._starving, mu.locked()))
        return seen

    seen = gr.run(main, gomaxprocs=1)
    assert seen == [
        ("starving after the lost race", True),
        ("victim has it, starving =", False),
        ("after the last waiter", False, False),
    ]


def test_mutex_unlock_of_unlocked_is_runtime_error() -> None:
    mu = Mutex()
    with pytest.raises(RuntimeError, match="sync: unlock of unlocked mutex"):
        mu.unlock()

    async def main() -> None:
        await mu.lock()
        mu.unlock()
        mu.unlock()

    with pytest.raises(RuntimeError, match="sync: unlock of unlocked mutex") as ei:
        gr.run(main)
    assert "goroutine 1" in "".join(getattr(ei.value, "__notes__", []))


def test_mutex_is_not_owned(wait: Any) -> None:
    async def main() -> str:
        mu = Mutex()
        done = gr.Chan()
        await mu.lock()

        async def other() -> None:
            mu.unlock()  # another goroutine unlocks main's lock: allowed
            await done.send(None)

        gr.go(other)
        await done.recv()
        await mu.lock()  # free again
        mu.unlock()
        return "ok"

    assert gr.run(main) == "ok"


def test_mutex_async_with_releases_on_exception() -> None:
    async def main() -> bool:
        mu = Mutex()
        with pytest.raises(KeyError):
            async with mu:
                assert mu.locked()
                raise KeyError("x")
        return mu.locked()

    assert gr.run(main) is False


def test_mutex_try_lock() -> None:
    mu = Mutex()
    assert mu.try_lock()
    assert not mu.try_lock()
    mu.unlock()
    assert mu.try_lock()
    mu.unlock()


def test_mutex_wait_reason_visible(wait: Any) -> None:
    async def main() -> str:
        mu = Mutex()
        await mu.lock()

        async def blocked() -> None:
            async with mu:
                pass

        g = gr.go(blocked)
        info = await wait.parked(g.id, "sync.Mutex")
        assert "blocked" in info.stack
        assert f"goroutine {g.id} [sync.Mutex]" in gr.dump()
        mu.unlock()
        await wait.gone(g.id)
        return info.wait_reason

    assert gr.run(main) == "sync.Mutex"


def test_mutex_locked_twice_is_a_deadlock() -> None:
    async def main() -> None:
        mu = Mutex()
        await mu.lock()
        await mu.lock()

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    assert "goroutine 1 [sync.Mutex]" in str(ei.value)


def test_mutex_outside_a_goroutine_is_runtime_error() -> None:
    async def in_asyncio() -> None:
        await Mutex().lock()

    with pytest.raises(RuntimeError, match="Mutex.lock.*inside a goroutine"):
        asyncio.run(in_asyncio())


def test_mutex_module_level_across_runs_and_abandoned_waiters(wait: Any) -> None:
    async def first() -> None:
        await MODULE_MU.lock()

        async def waiter() -> None:
            await MODULE_MU.lock()

        g = gr.go(waiter)
        await wait.parked(g.id, "sync.Mutex")
        # main returns holding the lock; the waiter is abandoned.

    gr.run(first)
    assert MODULE_MU.locked()
    assert len(MODULE_MU._waiters) == 0  # forgotten when the run ended

    async def second() -> str:
        MODULE_MU.unlock()  # not owned: this run may release it
        async with MODULE_MU:
            pass
        return "ok"

    assert gr.run(second) == "ok"
    assert not MODULE_MU.locked()


def test_mutex_woken_waiter_left_behind_does_not_block_a_later_run(wait: Any) -> None:
    """A waiter woken (normal mode) but never run before main returned must
    not stop later runs' unlocks from waking their waiters."""
    mu = Mutex()

    async def first() -> None:
        await mu.lock()

        async def waiter() -> None:
            await mu.lock()

        g = gr.go(waiter)
        await wait.parked(g.id, "sync.Mutex")
        mu.unlock()  # wakes the waiter into our P's runnext; we return first

    gr.run(first, gomaxprocs=1)

    async def second() -> str:
        if mu.locked():  # the woken waiter may or may not have run
            mu.unlock()
        await mu.lock()

        async def waiter() -> None:
            await mu.lock()
            mu.unlock()

        g = gr.go(waiter)
        await wait.parked(g.id, "sync.Mutex")
        mu.unlock()
        await wait.gone(g.id)
        return "ok"

    assert gr.run(second) == "ok"


@pytest.mark.parametrize("procs", PROCS)
def test_mutex_stress_with_plain_thread_unlockers(procs: int) -> None:
    """Many goroutines, some locks handed to threads outside the runtime."""

    async def main() -> int:
        mu = Mutex()
        wg = WaitGroup()
        total = [0]

        async def worker(k: int) -> None:
            for i in range(200):
                await mu.lock()
                total[0] += 1
                if i % 50 == 0 and k == 0:
                    t = threading.Thread(target=mu.unlock)
                    t.start()
                    await gr.syscall(t.join)
                else:
                    mu.unlock()
            wg.done()

        for k in range(6):
            wg.add(1)
            gr.go(worker, k)
        await wg.wait()
        return total[0]

    assert gr.run(main, gomaxprocs=procs) == 1200


# ====================================================================== RWMutex


@pytest.mark.parametrize("procs", PROCS)
def test_rwmutex_readers_share_it(procs: int, wait: Any) -> None:
    async def main() -> int:
        rw = RWMutex()
        release = gr.Chan()
        holding = gr.Chan(10)
        wg = WaitGroup()

        async def reader() -> None:
            await rw.rlock()
            await holding.send(None)
            await release.recv()
            rw.runlock()
            wg.done()

        for _ in range(10):
            wg.add(1)
            gr.go(reader)
        for _ in range(10):  # all ten hold the read lock at once
            await holding.recv()
        n = rw._readers
        release.close()
        await wg.wait()
        await rw.lock()  # free for a writer now
        rw.unlock()
        return n

    assert gr.run(main, gomaxprocs=procs) == 10


@pytest.mark.parametrize("procs", PROCS)
def test_rwmutex_writer_preference(procs: int, wait: Any) -> None:
    """A waiting writer blocks new readers; it goes before them."""

    async def main() -> list[str]:
        rw = RWMutex()
        log = gr.Chan(10)
        await rw.rlock()  # main is the first reader

        async def writer() -> None:
            await rw.lock()
            await log.send("writer")
            rw.unlock()

        async def late_reader() -> None:
            await rw.rlock()
            await log.send("late reader")
            rw.runlock()

        w = gr.go(writer)
        await wait.parked(w.id, "sync.RWMutex")
        r = gr.go(late_reader)
        await wait.parked(r.id, "sync.RWMutex")  # blocked behind the writer
        assert not rw.try_rlock()
        rw.runlock()  # last reader out: the writer goes first
        return [await log.recv(), await log.recv()]

    assert gr.run(main, gomaxprocs=procs) == ["writer", "late reader"]


@pytest.mark.parametrize("procs", PROCS)
def test_rwmutex_writer_unlock_admits_queued_readers_before_next_writer(procs: int, wait: Any) -> None:
    async def main() -> list[str]:
        rw = RWMutex()
        log = gr.Chan(10)
        release_readers = gr.Chan()
        await rw.lock()  # main is writer 1

        async def reader(name: str) -> None:
            await rw.rlock()
            await log.send(name)
            await release_readers.recv()
            rw.runlock()

        async def writer2() -> None:
            await rw.lock()
            await log.send("w2")
            rw.unlock()

        r1 = gr.go(reader, "r1")
        await wait.parked(r1.id, "sync.RWMutex")
        r2 = gr.go(reader, "r2")
        await wait.parked(r2.id, "sync.RWMutex")
        w2 = gr.go(writer2)
        await wait.parked(w2.id, "sync.RWMutex")
        rw.unlock()
        first = sorted([await log.recv(), await log.recv()])  # both readers, together
        assert rw._readers == 2
        await wait.parked(w2.id, "sync.RWMutex")  # w2 still waits for them
        release_readers.close()
        return first + [await log.recv()]

    assert gr.run(main, gomaxprocs=procs) == ["r1", "r2", "w2"]


@pytest.mark.parametrize("procs", PROCS)
def test_rwmutex_stress_invariants(procs: int) -> None:
    async def main() -> tuple[int, int]:
        rw = RWMutex()
        wg = WaitGroup()
        st = {"readers": 0, "writers": 0, "reads": 0, "writes": 0}
        lock = threading.Lock()
        bad: list[str] = []

        async def reader() -> None:
            for _ in range(150):
                async with rw.rlocker():
                    with lock:
                        st["readers"] += 1
                        if st["writers"]:
                            bad.append("reader saw a writer")
                    await gr.gosched()
                    with lock:
                        st["readers"] -= 1
                        st["reads"] += 1
            wg.done()

        async def writer() -> None:
            for _ in range(50):
                async with rw:
                    with lock:
                        st["writers"] += 1
                        if st["writers"] > 1 or st["readers"]:
                            bad.append("writer not alone")
                    await gr.gosched()
                    with lock:
                        st["writers"] -= 1
                        st["writes"] += 1
            wg.done()

        for i in range(8):
            wg.add(1)
            gr.go(writer if i % 4 == 0 else reader)
        await wg.wait()
        assert not bad, bad[:3]
        return st["reads"], st["writes"]

    assert gr.run(main, gomaxprocs=procs) == (6 * 150, 2 * 50)


def test_rwmutex_misuse_errors() -> None:
    rw = RWMutex()
    with pytest.raises(RuntimeError, match="sync: RUnlock of unlocked RWMutex"):
        rw.runlock()
    with pytest.raises(RuntimeError, match="sync: Unlock of unlocked RWMutex"):
        rw.unlock()
    assert rw.try_rlock()
    with pytest.raises(RuntimeError, match="Unlock of unlocked RWMutex.*use runlock"):
        rw.unlock()  # read-locked, not write-locked
    rw.runlock()
    assert rw.try_lock()
    with pytest.raises(RuntimeError, match="RUnlock of unlocked RWMutex"):
        rw.runlock()  # write-locked, not read-locked
    assert not rw.try_lock() and not rw.try_rlock()
    rw.unlock()


def test_rwmutex_outside_a_goroutine_is_runtime_error() -> None:
    async def in_asyncio() -> None:
        await RWMutex().rlock()

    with pytest.raises(RuntimeError, match="RWMutex.rlock.*inside a goroutine"):
        asyncio.run(in_asyncio())


def test_rwmutex_deadlock_reports_wait_reason() -> None:
    async def main() -> None:
        rw = RWMutex()
        await rw.rlock()
        await rw.lock()  # waits for itself

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    assert "goroutine 1 [sync.RWMutex]" in str(ei.value)


def test_rwmutex_abandoned_waiters_forgotten(wait: Any) -> None:
    rw = RWMutex()

    async def first() -> None:
        await rw.lock()

        async def r() -> None:
            await rw.rlock()

        async def w() -> None:
            await rw.lock()

        a = gr.go(r)
        b = gr.go(w)
        await wait.all_parked([a.id, b.id], "sync.RWMutex")

    gr.run(first)
    assert not rw._rq and not rw._wq

    async def second() -> str:
        rw.unlock()
        await rw.rlock()
        rw.runlock()
        return "ok"

    assert gr.run(second) == "ok"


@pytest.fixture
def no_preemption(monkeypatch: pytest.MonkeyPatch) -> None:
    """White-box: sysmon never retakes a P. Otherwise a goroutine may lose its
    P anywhere (as in Go), e.g. between readying a waiter and returning from
    main, and at gomaxprocs=1 the waiter then runs on the P handed to another
    M: it legitimately gets and keeps what it waited for. (Under load a
    descheduled thread looks blocked to sysmon within BLOCKED_AFTER.)"""
    from goroutines._core import _sysmon

    monkeypatch.setattr(_sysmon, "BLOCKED_AFTER", float("inf"))
    monkeypatch.setattr(_sysmon, "PREEMPT_AFTER", float("inf"))


@pytest.mark.parametrize("write", [True, False])
def test_rwmutex_granted_to_a_goroutine_that_never_ran_is_given_back(
    write: bool, wait: Any, no_preemption: None
) -> None:
    """main unlocks, granting the lock to a waiter, and returns before the
    waiter runs: the abandoned waiter must not keep the lock for later runs."""
    rw = RWMutex()

    async def first() -> None:
        await rw.lock()

        async def waiter() -> None:
            await (rw.lock() if write else rw.rlock())

        g = gr.go(waiter)
        await wait.parked(g.id, "sync.RWMutex")
        rw.unlock()  # grants it to the waiter, now runnable on our P; we return

    gr.run(first, gomaxprocs=1)
    assert (rw._writer, rw._readers) == (False, 0)
    assert rw.try_lock()
    rw.unlock()


def test_mutex_handed_to_a_goroutine_that_never_ran_is_given_back(wait: Any, no_preemption: None) -> None:
    mu = Mutex()

    async def first() -> None:
        await mu.lock()

        async def waiter() -> None:
            await mu.lock()

        g = gr.go(waiter)
        await wait.parked(g.id, "sync.Mutex")
        mu._starving = True  # white-box: as if the waiter had starved
        mu.unlock()  # hands it over; the waiter never runs: we return

    gr.run(first, gomaxprocs=1)
    assert not mu.locked() and not mu._starving
    assert mu.try_lock()
    mu.unlock()


def test_dead_waiters_left_by_an_ended_run_are_skipped() -> None:
    """White-box: a goroutine that parked only after its run's shutdown had
    unhooked the parked ones (it was inside a blocking call) is closed but
    stays queued; no primitive may ready it in a later run."""
    from goroutines._core import G

    def dead() -> G:
        g = G()
        g.id = 999
        return g  # coro is None: closed

    mu, rw, wg, once = Mutex(), RWMutex(), WaitGroup(), Once()

    async def main() -> str:
        await mu.lock()
        mu._waiters.append(dead())
        mu.unlock()  # must not ready the dead G
        assert not mu._waiters and not mu.locked()
        mu._starving = True
        await mu.lock()  # free: the fast path
        mu._waiters.append(dead())
        mu._starving = True
        mu.unlock()  # starvation mode: no live waiter to hand it to
        assert not mu.locked() and not mu._starving

        rw._wq.append(dead())
        assert rw.try_rlock()  # a dead writer does not block readers
        rw.runlock()
        await rw.lock()  # nor writers
        rw._rq.append(dead())
        rw._wq.append(dead())
        rw.unlock()
        assert (rw._writer, rw._readers) == (False, 0)

        wg.add(1)
        wg._waiters.append(dead())
        wg.done()
        await wg.wait()

        once._waiters.append(dead())
        await once.do(lambda: None)
        assert not once._waiters
        await gr.sleep(0.01)  # anything readied by mistake would run (and crash) now
        return "ok"

    assert gr.run(main) == "ok"


# ====================================================================== Once


@pytest.mark.parametrize("procs", PROCS)
def test_once_runs_fn_once_and_a_concurrent_caller_waits(procs: int, wait: Any) -> None:
    async def main() -> tuple[int, list[str]]:
        once = Once()
        calls = [0]
        finished = [False]
        inside = gr.Chan()
        proceed = gr.Chan()
        log = gr.Chan(10)

        async def init() -> None:
            calls[0] += 1
            await inside.send(None)
            await proceed.recv()
            finished[0] = True

        async def caller(name: str) -> None:
            await once.do(init)
            await log.send(f"{name} sees finished={finished[0]}")

        gr.go(caller, "first")
        await inside.recv()  # the first caller is inside init
        second = gr.go(caller, "second")
        await wait.parked(second.id, "sync.Once")
        await proceed.send(None)
        got = sorted([await log.recv(), await log.recv()])
        await once.do(init)  # done: returns at once
        return calls[0], got

    assert gr.run(main, gomaxprocs=procs) == (1, ["first sees finished=True", "second sees finished=True"])


def test_once_plain_function_and_awaitable_result() -> None:
    async def main() -> list[str]:
        log: list[str] = []
        o1, o2 = Once(), Once()

        def plain() -> None:
            log.append("plain")

        async def coro_fn() -> None:
            await gr.gosched()
            log.append("coro")

        for _ in range(3):
            await o1.do(plain)
            await o2.do(lambda: coro_fn())  # a plain fn returning an awaitable
        assert await o1.do(plain) is None
        return log

    assert gr.run(main) == ["plain", "coro"]


@pytest.mark.parametrize("procs", PROCS)
def test_once_fn_raising_still_counts_as_done(procs: int, wait: Any) -> None:
    async def main() -> tuple[str, int, str]:
        once = Once()
        calls = [0]
        inside = gr.Chan()
        proceed = gr.Chan()
        res = gr.Chan(1)

        async def boom() -> None:
            calls[0] += 1
            await inside.send(None)
            await proceed.recv()
            raise ValueError("init failed")

        async def second() -> None:
            await once.do(boom)  # waits for the first; returns normally
            await res.send("second returned")

        async def first() -> str:
            try:
                await once.do(boom)
            except ValueError as e:
                return str(e)
            return "no error"

        outcome = gr.Chan(1)

        async def run_first() -> None:
            await outcome.send(await first())

        gr.go(run_first)
        await inside.recv()
        s = gr.go(second)
        await wait.parked(s.id, "sync.Once")
        await proceed.send(None)
        first_saw = await outcome.recv()
        await once.do(boom)  # not run again
        return first_saw, calls[0], await res.recv()

    assert gr.run(main, gomaxprocs=procs) == ("init failed", 1, "second returned")
    assert Once().done is False


def test_once_recursive_do_is_runtime_error() -> None:
    async def main() -> str:
        once = Once()

        async def fn() -> None:
            await once.do(fn)

        with pytest.raises(RuntimeError, match="Once.do called from inside its own fn"):
            await once.do(fn)
        return "done" if once.done else "not done"

    assert gr.run(main) == "done"


def test_once_needs_a_callable() -> None:
    with pytest.raises(TypeError, match="Once.do: .* is not callable"):
        Once().do(42)  # type: ignore[arg-type]


def test_once_outside_a_goroutine_is_runtime_error() -> None:
    async def in_asyncio() -> None:
        await Once().do(lambda: None)

    with pytest.raises(RuntimeError, match="Once.do.*inside a goroutine"):
        asyncio.run(in_asyncio())


def test_once_shared_by_two_runs() -> None:
    once = Once()
    calls: list[int] = []

    async def main(i: int) -> None:
        await once.do(lambda: calls.append(i))

    gr.run(main, 1)
    gr.run(main, 2)
    assert calls == [1]


# ====================================================================== they park goroutines, not threads


@pytest.mark.parametrize("procs", [1, 2])
def test_blocked_sync_waiters_never_block_the_thread(procs: int, wait: Any) -> None:
    """With every primitive holding a waiter, one thread still runs the rest."""

    async def main() -> int:
        mu, rw, wg, once = Mutex(), RWMutex(), WaitGroup(), Once()
        await mu.lock()
        await rw.lock()
        wg.add(1)
        gate = gr.Chan()

        async def once_fn() -> None:
            await gate.recv()

        async def in_once() -> None:
            await once.do(once_fn)

        gids = []
        gids.append(gr.go(_lock, mu).id)
        gids.append(gr.go(_rlock, rw).id)
        gids.append(gr.go(_wait_on, wg).id)
        runner = gr.go(in_once)
        await wait.parked(runner.id, "chan receive")  # inside once_fn
        gids.append(gr.go(in_once).id)
        await wait.parked(gids[0], "sync.Mutex")
        await wait.parked(gids[1], "sync.RWMutex")
        await wait.parked(gids[2], "sync.WaitGroup")
        await wait.parked(gids[3], "sync.Once")
        # Meanwhile plain channel traffic still flows on this thread.
        ch = gr.Chan()

        async def pinger() -> None:
            for i in range(100):
                await ch.send(i)

        gr.go(pinger)
        s = sum([await ch.recv() for _ in range(100)])
        mu.unlock()
        rw.unlock()
        wg.done()
        await gate.send(None)
        for gid in gids:
            await wait.gone(gid)
        return s

    assert gr.run(main, gomaxprocs=procs) == sum(range(100))


async def _lock(mu: Mutex) -> None:
    await mu.lock()
    mu.unlock()


async def _rlock(rw: RWMutex) -> None:
    await rw.rlock()
    rw.runlock()
