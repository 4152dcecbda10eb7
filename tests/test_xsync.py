"""Issue 11 item 5: the contract's "More sync and context" section.

``gr.Semaphore`` (x/sync/semaphore.Weighted), ``gr.Cond`` (sync.Cond),
``gr.ErrGroup`` (x/sync/errgroup.WithContext), ``gr.with_cancel_cause`` /
``gr.cause`` (Go 1.21's context causes) and ``gr.after_func``
(time.AfterFunc). They park goroutines, never threads, and show their wait
reasons in ``gr.goroutines()`` and dumps.

No test sleeps to synchronise: goroutines are awaited as parked with the
``wait`` fixture (polling ``gr.goroutines()``), or hand off over channels.
"""

from __future__ import annotations

import contextvars
import gc
import random
import threading
import warnings
from typing import Any

import pytest

import goroutines as gr
from goroutines._core import G

pytestmark = [pytest.mark.usefixtures("no_leaked_runtime_threads"), pytest.mark.timeout(60)]

PROCS = [1, 4]

# Created at import time, before any run: plain objects, as the contract says.
MODULE_SEM = gr.Semaphore(1)


def test_public_exports() -> None:
    from goroutines import _cond, _context, _errgroup, _semaphore, _time

    assert gr.Semaphore is _semaphore.Semaphore
    assert gr.Cond is _cond.Cond
    assert gr.ErrGroup is _errgroup.ErrGroup
    assert gr.with_cancel_cause is _context.with_cancel_cause
    assert gr.cause is _context.cause
    assert gr.after_func is _time.after_func
    for n in ["Semaphore", "Cond", "ErrGroup", "with_cancel_cause", "cause", "after_func"]:
        assert n in gr.__all__


# ====================================================================== Semaphore


def test_semaphore_acquire_release_and_try() -> None:
    async def main() -> list[Any]:
        s = gr.Semaphore(3)
        out: list[Any] = []
        await s.acquire(2)
        out.append(s.held)
        out.append(s.try_acquire(2))  # only 1 free
        out.append(s.try_acquire())
        out.append(s.held)
        s.release(3)
        out.append(s.held)
        await s.acquire(0)  # weight 0: waits only for earlier waiters
        out.append(s.try_acquire(3))
        s.release(3)
        return out

    assert gr.run(main) == [2, False, True, 3, 0, True]


@pytest.mark.parametrize("procs", PROCS)
def test_semaphore_large_waiter_at_head_blocks_small_ones(procs: int, wait: Any) -> None:
    """Go's FIFO: a waiter that does not fit blocks every waiter behind it."""

    async def main() -> list[str]:
        s = gr.Semaphore(3)
        await s.acquire(3)
        order: gr.Chan[str] = gr.Chan(4)

        async def waiter(name: str, k: int) -> None:
            await s.acquire(k)
            await order.send(name)
            s.release(k)

        big = gr.go(waiter, "big", 3)
        await wait.parked(big.id, "semaphore.Weighted")
        small = gr.go(waiter, "small", 1)
        await wait.parked(small.id, "semaphore.Weighted")
        assert not s.try_acquire(1)  # waiters queued: no barging
        s.release(1)  # one unit free: small would fit, but big is first
        await wait.parked(small.id, "semaphore.Weighted")
        await wait.parked(big.id, "semaphore.Weighted")
        assert len(order) == 0 and s.held == 2
        s.release(2)  # big fits now; small only after big releases
        got = [await order.recv(), await order.recv()]
        await wait.gone(small.id)
        assert s.held == 0
        return got

    assert gr.run(main, gomaxprocs=procs) == ["big", "small"]


@pytest.mark.parametrize("procs", PROCS)
def test_semaphore_waiters_served_in_arrival_order(procs: int, wait: Any) -> None:
    async def main() -> list[int]:
        s = gr.Semaphore(1)
        await s.acquire()
        got: list[int] = []
        done = gr.WaitGroup()

        async def waiter(i: int) -> None:
            await s.acquire()
            got.append(i)
            s.release()
            done.done()

        for i in range(8):
            done.add(1)
            g = gr.go(waiter, i)
            await wait.parked(g.id, "semaphore.Weighted")
        s.release()
        await done.wait()
        return got

    assert gr.run(main, gomaxprocs=procs) == list(range(8))


@pytest.mark.parametrize("procs", PROCS)
def test_semaphore_never_over_committed(procs: int) -> None:
    async def main() -> tuple[int, int]:
        n = 5
        s = gr.Semaphore(n)
        lock = threading.Lock()
        inuse = [0, 0]  # now, max
        wg = gr.WaitGroup()
        rng = random.Random(7)

        async def worker(k: int) -> None:
            for _ in range(20):
                await s.acquire(k)
                with lock:
                    inuse[0] += k
                    inuse[1] = max(inuse[1], inuse[0])
                    assert inuse[0] <= n
                await gr.gosched()
                with lock:
                    inuse[0] -= k
                s.release(k)
            wg.done()

        for _ in range(12):
            wg.add(1)
            gr.go(worker, rng.randint(1, n))
        await wg.wait()
        return inuse[0], s.held

    assert gr.run(main, gomaxprocs=procs) == (0, 0)


def test_semaphore_bad_inputs() -> None:
    with pytest.raises(ValueError, match="negative"):
        gr.Semaphore(-1)
    for bad in [1.5, "2", None, True]:
        with pytest.raises(TypeError, match="Semaphore: n"):
            gr.Semaphore(bad)  # type: ignore[arg-type]
    s = gr.Semaphore(2)
    with pytest.raises(ValueError, match="more than the semaphore's size 2"):
        s.acquire(3)
    assert s.try_acquire(3) is False  # as Go's TryAcquire
    with pytest.raises(ValueError, match="negative"):
        s.acquire(-1)
    with pytest.raises(TypeError, match="weight"):
        s.try_acquire(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="weight"):
        s.release(True)
    assert s.try_acquire(1)
    with pytest.raises(ValueError, match=r"released more than held \(release\(2\) with 1 held\)"):
        s.release(2)
    assert s.held == 1  # unchanged
    s.release(1)
    with pytest.raises(ValueError, match="released more than held"):
        s.release()


def test_semaphore_acquire_outside_a_goroutine_is_runtime_error() -> None:
    s = gr.Semaphore(1)
    op = s.acquire()
    with pytest.raises(RuntimeError, match="Semaphore.acquire"):
        op.__await__().send(None)


def test_semaphore_wait_reason_in_deadlock_dump() -> None:
    async def main() -> None:
        s = gr.Semaphore(1)
        await s.acquire()
        await s.acquire()

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    assert "goroutine 1 [semaphore.Weighted]" in str(ei.value)


def test_semaphore_granted_to_an_abandoned_waiter_is_given_back(wait: Any) -> None:
    s = MODULE_SEM

    async def first() -> None:
        await s.acquire()

        async def waiter() -> None:
            await s.acquire()
            s.release()

        g = gr.go(waiter)
        await wait.parked(g.id, "semaphore.Weighted")
        s.release()  # granted to the waiter, which may never run: main returns

    gr.run(first, gomaxprocs=1)
    assert s.held == 0

    async def second() -> bool:
        await s.acquire()
        s.release()
        return s.try_acquire()

    assert gr.run(second) is True
    s.release()


# ====================================================================== Cond


@pytest.mark.parametrize("procs", PROCS)
def test_cond_signal_wakes_waiters_in_order(procs: int, wait: Any) -> None:
    async def main() -> list[int]:
        mu = gr.Mutex()
        c = gr.Cond(mu)
        woke: gr.Chan[int] = gr.Chan(8)

        async def waiter(i: int) -> None:
            async with mu:
                await c.wait()
                assert mu.locked()  # relocked before wait returns
                await woke.send(i)

        gs = []
        for i in range(5):
            g = gr.go(waiter, i)
            await wait.parked(g.id, "sync.Cond")
            gs.append(g)
        got = []
        for _ in gs:
            c.signal()
            got.append(await woke.recv())
        c.signal()  # nobody waits: nothing happens
        return got

    assert gr.run(main, gomaxprocs=procs) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("procs", PROCS)
def test_cond_broadcast_wakes_all_each_relocks(procs: int, wait: Any) -> None:
    async def main() -> tuple[int, int]:
        mu = gr.Mutex()
        c = gr.Cond(mu)
        state = {"go": False, "inside": 0, "max": 0, "done": 0}
        wg = gr.WaitGroup()

        async def waiter() -> None:
            async with mu:
                while not state["go"]:
                    await c.wait()
                state["inside"] += 1
                state["max"] = max(state["max"], state["inside"])
                await gr.gosched()  # holding mu: nobody else may be inside
                state["inside"] -= 1
                state["done"] += 1
            wg.done()

        ids = []
        for _ in range(6):
            wg.add(1)
            ids.append(gr.go(waiter).id)
        await wait.all_parked(ids, "sync.Cond")
        async with mu:
            state["go"] = True
            c.broadcast()
        await wg.wait()
        return state["max"], state["done"]

    assert gr.run(main, gomaxprocs=procs) == (1, 6)


@pytest.mark.parametrize("procs", PROCS)
def test_cond_ping_pong_loses_no_wakeup(procs: int) -> None:
    async def main() -> int:
        mu = gr.Mutex()
        c = gr.Cond(mu)
        turn = [0]
        n = 300
        done = gr.Chan[None]()

        async def player(me: int) -> None:
            for _ in range(n):
                async with mu:
                    while turn[0] != me:
                        await c.wait()
                    turn[0] = 1 - me
                    c.signal()
            await done.send(None)

        gr.go(player, 0)
        gr.go(player, 1)
        await done.recv()
        await done.recv()
        return turn[0]

    assert gr.run(main, gomaxprocs=procs) == 0


def test_cond_wait_without_the_lock_is_runtime_error() -> None:
    async def main() -> str:
        mu = gr.Mutex()
        c = gr.Cond(mu)
        with pytest.raises(RuntimeError, match=r"Cond.wait\(\) called without holding its lock"):
            await c.wait()
        assert "waiters=0" in repr(c)  # nothing left queued to eat a signal
        return "ok"

    assert gr.run(main) == "ok"


def test_cond_over_rwmutex_and_rlocker(wait: Any) -> None:
    async def main() -> list[str]:
        rw = gr.RWMutex()
        got: list[str] = []
        locks: list[tuple[str, gr.RWMutex | Any]] = [("write", rw), ("read", rw.rlocker())]
        for name, lk in locks:
            c = gr.Cond(lk)

            async def waiter(name: str, lk: Any, c: gr.Cond) -> None:
                async with lk:
                    await c.wait()
                    got.append(name)

            g = gr.go(waiter, name, lk, c)
            await wait.parked(g.id, "sync.Cond")
            c.signal()
            await wait.gone(g.id)
        assert rw.try_lock()
        return got

    assert gr.run(main) == ["write", "read"]


def test_cond_needs_a_goroutines_lock() -> None:
    with pytest.raises(TypeError, match="Cond: mu must be a goroutines.Mutex"):
        gr.Cond(threading.Lock())  # type: ignore[arg-type]


def test_cond_wait_reason_in_deadlock_dump() -> None:
    async def main() -> None:
        mu = gr.Mutex()
        c = gr.Cond(mu)
        async with mu:
            await c.wait()

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    assert "goroutine 1 [sync.Cond]" in str(ei.value)


def test_cond_signal_from_a_plain_thread(wait: Any) -> None:
    async def main() -> str:
        mu = gr.Mutex()
        c = gr.Cond(mu)
        res: gr.Chan[str] = gr.Chan(1)

        async def waiter() -> None:
            async with mu:
                await c.wait()
            await res.send("woken")

        g = gr.go(waiter)
        await wait.parked(g.id, "sync.Cond")
        def from_thread() -> None:
            t = threading.Thread(target=c.signal)
            t.start()
            t.join()

        await gr.syscall(from_thread)
        return await res.recv()

    assert gr.run(main) == "woken"


# ====================================================================== ErrGroup


@pytest.mark.parametrize("procs", PROCS)
def test_errgroup_waits_for_all_and_returns_none(procs: int) -> None:
    async def main() -> tuple[list[int], Any, Any]:
        g = gr.ErrGroup()
        out: list[int] = []
        lock = threading.Lock()

        async def work(i: int, *, scale: int) -> None:
            await gr.gosched()
            with lock:
                out.append(i * scale)

        def plain(i: int) -> None:
            with lock:
                out.append(i)

        for i in range(10):
            g.go(work, i, scale=10)
        await g.go(plain, 7)  # awaiting without a limit is allowed and does nothing
        assert g.ctx.err() is None
        await g.wait()  # returns None
        # Go's Wait cancels the context once all are done.
        return sorted(out), type(g.ctx.err()), gr.cause(g.ctx) is g.ctx.err()

    out, errtype, same = gr.run(main, gomaxprocs=procs)
    assert out == sorted([i * 10 for i in range(10)] + [7])
    assert errtype is gr.Canceled and same


@pytest.mark.parametrize("procs", PROCS)
def test_errgroup_first_exception_cancels_ctx_and_is_raised(procs: int, wait: Any) -> None:
    class Boom(Exception):
        pass

    first = Boom("first")

    async def main() -> tuple[Any, int]:
        g = gr.ErrGroup()
        stopped = [0]
        lock = threading.Lock()

        async def worker() -> None:
            await g.ctx.done().recv()  # until a sibling fails
            with lock:
                stopped[0] += 1

        for _ in range(3):
            g.go(worker)
        await wait.until(lambda: sum(1 for i in gr.goroutines() if i.wait_reason == "chan receive") == 3, "workers park")

        async def failer() -> None:
            raise first

        g.go(failer)
        with pytest.raises(Boom) as ei:
            await g.wait()
        assert ei.value is first  # that exception object
        assert isinstance(g.ctx.err(), gr.Canceled)
        assert gr.cause(g.ctx) is first
        return ei.value, stopped[0]

    exc, stopped = gr.run(main, gomaxprocs=procs)
    assert exc is first and stopped == 3


def test_errgroup_keeps_only_the_first_exception(wait: Any) -> None:
    async def main() -> str:
        g = gr.ErrGroup()
        gate = gr.Chan[None]()

        async def first() -> None:
            raise ValueError("first")

        async def later() -> None:
            await gate.recv()
            raise KeyError("later")

        g.go(later)
        g.go(first)
        await g.ctx.done().recv()
        gate.close()
        with pytest.raises(ValueError, match="first"):
            await g.wait()
        with pytest.raises(ValueError, match="first"):
            await g.wait()  # again: the same first error
        return "ok"

    assert gr.run(main) == "ok"


def test_errgroup_ctx_derives_from_parent() -> None:
    async def main() -> list[Any]:
        parent, cancel = gr.with_cancel_cause(gr.background())
        parent = gr.with_value(parent, "k", "v")
        g = gr.ErrGroup(parent)
        assert g.ctx.value("k") == "v"
        why = OSError("shutting down")
        cancel(why)
        await g.ctx.done().recv()
        return [type(g.ctx.err()), gr.cause(g.ctx) is why]

    assert gr.run(main) == [gr.Canceled, True]


@pytest.mark.parametrize("procs", PROCS)
def test_errgroup_limit_bounds_active_and_go_waits_fifo(procs: int, wait: Any) -> None:
    async def main() -> tuple[int, list[int]]:
        g = gr.ErrGroup()
        g.set_limit(2)
        lock = threading.Lock()
        active = [0, 0]
        started: list[int] = []
        gates = [gr.Chan[None](1) for _ in range(6)]

        async def work(i: int) -> None:
            with lock:
                active[0] += 1
                active[1] = max(active[1], active[0])
                started.append(i)
            await gates[i].recv()
            with lock:
                active[0] -= 1

        await g.go(work, 0)
        await g.go(work, 1)
        await wait.until(lambda: active[0] == 2, "two members run")
        assert g.try_go(work, 5) is False  # both slots taken
        waiters = []
        for i in (2, 3, 4):

            async def starter(i: int) -> None:
                await g.go(work, i)

            h = gr.go(starter, i)
            await wait.parked(h.id, "errgroup.Group.Go")
            waiters.append(h)
        with pytest.raises(RuntimeError, match="modify limit while 2 goroutines"):
            g.set_limit(10)
        for i in range(5):
            await gates[i].send(None)  # frees one slot: the longest waiter starts
            if i < 3:
                await wait.until(lambda i=i: len(started) == 3 + i, f"member {i + 2} starts")
        await wait.until(lambda: gr.num_goroutine() == 1, "every member has finished")
        assert g.try_go(work, 5)
        await gates[5].send(None)
        await g.wait()
        return active[1], started

    mx, started = gr.run(main, gomaxprocs=procs)
    assert mx == 2
    assert sorted(started[:2]) == [0, 1] and started[2:5] == [2, 3, 4] and started[5] == 5


def test_errgroup_go_not_awaited_with_a_limit_is_loud() -> None:
    async def work() -> None:
        pass

    async def main() -> str:
        g = gr.ErrGroup()
        g.set_limit(1)
        with warnings.catch_warnings(record=True) as ws:
            warnings.simplefilter("always")
            g.go(work)  # forgot the await: nothing starts
            gc.collect()
        assert any("was never awaited" in str(w.message) and w.category is RuntimeWarning for w in ws)
        with pytest.raises(RuntimeError, match=r"1 go\(\) call\(s\) made while a limit was set were never awaited"):
            await g.wait()
        return "ok"

    assert gr.run(main) == "ok"


def test_errgroup_go_not_awaited_yet_is_not_an_error() -> None:
    async def main() -> list[int]:
        g = gr.ErrGroup()
        g.set_limit(1)
        hits: list[int] = []

        def work(i: int) -> None:
            hits.append(i)

        op = g.go(work, 1)  # awaited below, after a wait() elsewhere
        assert hits == []  # with a limit, nothing starts before the await
        done = gr.Chan[None]()

        async def other() -> None:
            await g.wait()
            await done.send(None)

        gr.go(other)
        await done.recv()
        await op
        await op  # a second await does nothing more
        await g.wait()
        return hits

    assert gr.run(main) == [1]


def test_errgroup_try_go_without_limit_and_after_limit_removed() -> None:
    async def main() -> list[bool]:
        g = gr.ErrGroup()
        hits: list[int] = []

        def work(i: int) -> None:
            hits.append(i)

        out = [g.try_go(work, 1)]
        await g.wait()
        g.set_limit(1)
        g.set_limit(-1)  # no limit again
        out.append(g.try_go(work, 2))
        out.append(g.try_go(work, 3))
        await g.wait()
        out.append(sorted(hits) == [1, 2, 3])
        return out

    assert gr.run(main) == [True, True, True, True]


def test_errgroup_abandoned_by_a_run_gives_its_slots_back(wait: Any) -> None:
    g = gr.ErrGroup()  # a plain object, used by two runs
    g.set_limit(2)

    async def forever() -> None:
        await gr.Chan[None]().recv()

    async def first() -> None:
        await g.go(forever)
        await g.go(forever)

        async def starter() -> None:
            await g.go(forever)

        h = gr.go(starter)
        await wait.parked(h.id, "errgroup.Group.Go")
        # main returns: both members and the starter are abandoned

    gr.run(first)
    assert g._wg.count == 0  # the abandoned members' finally blocks ran

    async def second() -> str:
        hits: list[int] = []
        await g.go(hits.append, 1)
        await g.go(hits.append, 2)
        await g.go(hits.append, 3)
        await g.wait()
        return f"{sorted(hits)}"

    assert gr.run(second) == "[1, 2, 3]"


def test_errgroup_bad_inputs() -> None:
    with pytest.raises(TypeError, match="ErrGroup: parent must be a context"):
        gr.ErrGroup("ctx")  # type: ignore[arg-type]
    g = gr.ErrGroup()
    with pytest.raises(TypeError, match="is not callable"):
        g.go(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="is not callable"):
        g.try_go(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"set_limit\(0\)"):
        g.set_limit(0)
    with pytest.raises(TypeError, match="n must be an int"):
        g.set_limit(2.0)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="no goroutines runtime is running"):
        g.go(lambda: None)
    assert g._wg.count == 0  # the failed start was undone


def test_errgroup_wait_reason_and_dump(wait: Any) -> None:
    async def main() -> str:
        g = gr.ErrGroup()
        gate = gr.Chan[None]()

        async def work() -> None:
            await gate.recv()

        async def waiter() -> None:
            await g.wait()

        g.go(work)
        h = gr.go(waiter)
        info = await wait.parked(h.id, "errgroup.Group.Wait")
        assert f"goroutine {h.id} [errgroup.Group.Wait]" in gr.dump()
        gate.close()
        await wait.gone(h.id)
        return str(info.wait_reason)

    assert gr.run(main) == "errgroup.Group.Wait"


def test_errgroup_base_exception_is_a_panic() -> None:
    async def main() -> None:
        g = gr.ErrGroup()

        async def bad() -> None:
            raise KeyboardInterrupt

        g.go(bad)
        await g.wait()

    with pytest.raises(KeyboardInterrupt):
        gr.run(main)


# ====================================================================== cancel causes


def test_cause_before_and_after_cancel() -> None:
    ctx, cancel = gr.with_cancel_cause(gr.background())
    assert gr.cause(ctx) is None and ctx.err() is None
    why = ValueError("bad input")
    cancel(why)
    assert isinstance(ctx.err(), gr.Canceled)
    assert gr.cause(ctx) is why
    cancel(KeyError("later"))  # only the first cancellation counts
    assert gr.cause(ctx) is why

    async def main() -> tuple[Any, bool]:
        return await ctx.done().recv_ok()

    assert gr.run(main) == (None, False)


def test_cause_without_a_given_cause_is_err() -> None:
    ctx, cancel = gr.with_cancel_cause(gr.background())
    cancel()
    assert gr.cause(ctx) is ctx.err() and isinstance(ctx.err(), gr.Canceled)
    c2, cancel2 = gr.with_cancel(gr.background())
    assert gr.cause(c2) is None
    cancel2()
    assert gr.cause(c2) is c2.err()
    assert gr.cause(gr.background()) is None
    assert gr.cause(gr.with_value(gr.background(), "k", 1)) is None


def test_cause_reaches_derived_contexts() -> None:
    async def main() -> list[bool]:
        root, cancel = gr.with_cancel_cause(gr.background())
        child, _ = gr.with_cancel(root)
        val = gr.with_value(child, "k", 1)
        grand, _ = gr.with_cancel_cause(val)
        timed, _ = gr.with_timeout(root, 60)
        own, cancel_own = gr.with_cancel(root)
        cancel_own()  # cancelled first by itself: its own err, later causes do not reach it
        why = RuntimeError("upstream failed")
        cancel(why)
        late, _ = gr.with_cancel(child)  # derived after the cancellation
        return [
            gr.cause(child) is why,
            gr.cause(val) is why,
            gr.cause(grand) is why,
            gr.cause(timed) is why and isinstance(timed.err(), gr.Canceled),
            gr.cause(late) is why,
            gr.cause(own) is own.err(),
            child.err() is not root.err(),  # each context its own err instance
        ]

    assert gr.run(main) == [True] * 7


def test_cause_of_a_deadline_is_deadline_exceeded() -> None:
    async def main() -> list[bool]:
        ctx, cancel = gr.with_timeout(gr.background(), 0.01)
        child, _ = gr.with_cancel(ctx)
        await ctx.done().recv()
        await child.done().recv()
        past, _ = gr.with_deadline(gr.background(), 0.0)
        out = [
            isinstance(ctx.err(), gr.DeadlineExceeded),
            gr.cause(ctx) is ctx.err(),
            isinstance(gr.cause(child), gr.DeadlineExceeded),
            gr.cause(past) is past.err() and isinstance(past.err(), gr.DeadlineExceeded),
        ]
        cancel()
        return out

    assert gr.run(main) == [True] * 4


def test_cause_through_a_foreign_context_type() -> None:
    class Mine(gr.Context):
        def __init__(self) -> None:
            self.inner, self.cancel = gr.with_cancel_cause(gr.background())

        def done(self) -> gr.Chan[Any]:
            return self.inner.done()

        def err(self) -> Exception | None:
            return self.inner.err()

        def value(self, key: Any) -> Any:
            return self.inner.value(key)  # delegates: cause() finds the inner context

        def deadline(self) -> float | None:
            return None

    async def main() -> list[bool]:
        m = Mine()
        child, _ = gr.with_cancel(m)
        why = ValueError("mine")
        m.cancel(why)
        await child.done().recv()
        return [gr.cause(m) is why, gr.cause(child) is why]

    assert gr.run(main) == [True, True]


def test_cause_bad_inputs() -> None:
    _, cancel = gr.with_cancel_cause(gr.background())
    with pytest.raises(TypeError, match="cause must be an exception instance"):
        cancel("because")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="with_cancel_cause: parent must be a context"):
        gr.with_cancel_cause(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cause: ctx must be a context"):
        gr.cause("ctx")  # type: ignore[arg-type]


# ====================================================================== after_func


@pytest.mark.parametrize("procs", PROCS)
def test_after_func_runs_fn_in_its_own_goroutine(procs: int) -> None:
    async def main() -> list[Any]:
        res: gr.Chan[Any] = gr.Chan(2)
        me = [i.id for i in gr.goroutines() if i.state == "running"]

        async def afn(x: int) -> None:
            ids = [i.id for i in gr.goroutines() if i.state == "running"]
            await res.send(("async", x, ids != me))

        def pfn(x: int) -> None:
            if x < 0:
                res.close()

        t1 = gr.after_func(0.005, afn, 1)
        assert isinstance(t1, gr.Timer) and t1.c is None
        got = await res.recv()
        t2 = gr.after_func(0, pfn, -1)  # a plain function runs as a goroutine too
        closed = await res.recv_ok()
        return [got, closed, t1.stop(), t2.stop()]

    got, closed, s1, s2 = gr.run(main, gomaxprocs=procs)
    assert got[:2] == ("async", 1) and got[2]
    assert closed == (None, False)
    assert (s1, s2) == (False, False)  # already fired


def test_after_func_stop_prevents_it() -> None:
    async def main() -> list[Any]:
        ran: list[int] = []
        t = gr.after_func(0.02, ran.append, 1)
        first = t.stop()
        again = t.stop()
        await gr.after(0.06).recv()  # well past when it would have fired
        return [first, again, ran]

    assert gr.run(main) == [True, False, []]


def test_after_func_reset() -> None:
    async def main() -> list[Any]:
        hits: gr.Chan[int] = gr.Chan(4)
        n = [0]

        async def fn() -> None:
            n[0] += 1
            await hits.send(n[0])

        t = gr.after_func(30, fn)
        pending = t.reset(0.005)  # was pending: reschedule, fires once
        first = await hits.recv()
        fired = t.reset(0.005)  # already fired: schedules it again
        second = await hits.recv()
        t2 = gr.after_func(0.01, fn)
        t2.stop()
        restarted = t2.reset(0)  # stopped: not pending, runs after reset
        third = await hits.recv()
        return [pending, first, fired, second, restarted, third]

    assert gr.run(main) == [True, 1, False, 2, False, 3]


def test_after_func_pending_is_not_a_deadlock() -> None:
    async def main() -> str:
        ch: gr.Chan[str] = gr.Chan()

        async def later() -> None:
            await ch.send("from the timer")

        gr.after_func(0.01, later)  # the Timer is dropped at once: it still fires
        gc.collect()
        return await ch.recv()

    assert gr.run(main) == "from the timer"


@pytest.mark.skipif("ctx" not in G.__slots__, reason="per-goroutine contextvars not in this build yet")
def test_after_func_runs_in_the_callers_context_variables() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def main() -> list[str]:
        res: gr.Chan[str] = gr.Chan(2)
        var.set("at after_func")

        async def fn() -> None:
            await res.send(var.get())
            var.set("changed in fn")

        t = gr.after_func(0, fn)
        var.set("later in main")
        first = await res.recv()
        t.reset(0)
        return [first, await res.recv(), var.get()]

    assert gr.run(main) == ["at after_func", "at after_func", "later in main"]


def test_after_func_bad_inputs() -> None:
    with pytest.raises(RuntimeError, match="needs a running goroutines runtime"):
        gr.after_func(1, print)

    async def f() -> None:
        pass

    async def main() -> str:
        coro = f()
        with pytest.raises(TypeError, match="got a coroutine object"):
            gr.after_func(1, coro)  # type: ignore[arg-type]
        coro.close()
        with pytest.raises(TypeError, match="is not callable"):
            gr.after_func(1, 3)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="seconds must be a number"):
            gr.after_func("1", f)  # type: ignore[arg-type]
        return "ok"

    assert gr.run(main) == "ok"
