"""Issue 3: ``await gr.syscall(fn, *args, **kwargs)``.

The contract: run a blocking call on this goroutine's thread; the runtime
hands the other goroutines to another thread while it blocks. It returns
``fn``'s result or raises its exception. A goroutine inside a call is not
asleep (no false deadlock), the runtime's threads are gone after ``run``,
and ``set_max_threads`` caps how many threads a run may start.

``time.sleep`` inside a goroutine is the behaviour under test (a blocking
call), never synchronisation: such lines carry a ``# blocking`` comment.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import traceback
import warnings

import pytest
from helpers import runtime_threads as live_runtime_threads

import goroutines as gr

PROCS = [1, 2, 4]


def runtime_threads() -> set[threading.Thread]:
    return set(live_runtime_threads())


def assert_no_new_runtime_threads(before: set[threading.Thread]) -> None:
    left = runtime_threads() - before
    assert not left, f"runtime threads left behind after run: {sorted(t.name for t in left)}"


# ---------------------------------------------------------------------- result and arguments


@pytest.mark.timeout(10)
def test_syscall_returns_result():
    async def main():
        return await gr.syscall(divmod, 17, 5)

    assert gr.run(main) == (3, 2)


@pytest.mark.timeout(10)
def test_syscall_returns_the_same_object():
    obj = object()

    async def main():
        return await gr.syscall(lambda: obj)

    assert gr.run(main) is obj


@pytest.mark.timeout(10)
def test_syscall_passes_args_and_kwargs():
    calls = []

    def fn(*args, **kwargs):
        calls.append((args, kwargs))
        return "ok"

    async def main():
        r1 = await gr.syscall(fn)
        r2 = await gr.syscall(fn, 1, 2)
        r3 = await gr.syscall(fn, 1, key="v", other=None)
        r4 = await gr.syscall(fn, args=(1,), kwargs={"a": 2})
        return r1, r2, r3, r4

    assert gr.run(main) == ("ok",) * 4
    assert calls == [
        ((), {}),
        ((1, 2), {}),
        ((1,), {"key": "v", "other": None}),
        ((), {"args": (1,), "kwargs": {"a": 2}}),
    ]


@pytest.mark.timeout(10)
def test_syscall_passes_kwarg_named_fn():
    # syscall's own first parameter must not swallow a keyword argument of
    # the called function that happens to share its name.
    def fn(**kwargs):
        return kwargs

    async def main():
        return await gr.syscall(fn, fn=1)

    assert gr.run(main) == {"fn": 1}


@pytest.mark.timeout(10)
def test_syscall_with_bound_method_and_builtin():
    class Box:
        def __init__(self):
            self.v = 41

        def bump(self, by):
            self.v += by
            return self.v

    box = Box()

    async def main():
        a = await gr.syscall(box.bump, 1)
        b = await gr.syscall(sorted, [3, 1, 2], reverse=True)
        return a, b

    assert gr.run(main) == (42, [3, 2, 1])


@pytest.mark.timeout(10)
def test_syscall_runs_on_the_goroutines_thread():
    # "Run a blocking call on this goroutine's thread."
    async def main():
        outer = threading.get_ident()
        inner = await gr.syscall(threading.get_ident)
        return outer, inner

    outer, inner = gr.run(main)
    assert outer == inner


# ---------------------------------------------------------------------- exceptions


class Boom(Exception):
    pass


class BaseBoom(BaseException):
    pass


@pytest.mark.timeout(10)
def test_syscall_raises_the_original_exception_with_its_traceback():
    raised = []

    def fails(x):
        e = Boom(x)
        raised.append(e)
        raise e

    async def main():
        try:
            await gr.syscall(fails, 7)
        except Boom as e:
            frames = [f.f_code.co_name for f, _ in traceback.walk_tb(e.__traceback__)]
            return e, frames
        return None, []

    e, frames = gr.run(main)
    assert e is raised[0]
    assert e.args == (7,)
    # The traceback leads from the goroutine's await into fn's own frame.
    assert frames[0] == "main"
    assert frames[-1] == "fails"


@pytest.mark.timeout(10)
def test_syscall_exception_keeps_cause_and_context():
    def fails():
        try:
            raise KeyError("inner")
        except KeyError as k:
            raise Boom("outer") from k

    async def main():
        try:
            await gr.syscall(fails)
        except Boom as e:
            return e

    e = gr.run(main)
    assert isinstance(e.__cause__, KeyError)
    assert e.__cause__.args == ("inner",)


@pytest.mark.timeout(10)
def test_syscall_propagates_base_exception():
    def fails():
        raise BaseBoom("base")

    async def main():
        try:
            await gr.syscall(fails)
        except BaseBoom as e:
            return e.args

    assert gr.run(main) == ("base",)


@pytest.mark.timeout(10)
def test_uncaught_syscall_exception_is_a_panic_reraised_by_run():
    raised = []

    def fails():
        e = Boom("panic")
        raised.append(e)
        raise e

    async def worker():
        await gr.syscall(fails)

    async def main():
        gr.go(worker)
        await gr.Chan().recv()  # never sent: the panic ends the run

    with pytest.raises(Boom) as ei:
        gr.run(main)
    assert ei.value is raised[0]
    frames = [f.f_code.co_name for f, _ in traceback.walk_tb(ei.value.__traceback__)]
    assert "fails" in frames


@pytest.mark.timeout(10)
def test_goroutine_continues_normally_after_syscall_exception():
    async def main():
        ch = gr.Chan(1)
        try:
            await gr.syscall(int, "not a number")
        except ValueError:
            pass
        await ch.send(await gr.syscall(int, "12"))
        return await ch.recv()

    assert gr.run(main) == 12


# ---------------------------------------------------------------------- misuse


@pytest.mark.timeout(10)
@pytest.mark.parametrize("bad", [5, None, "time.sleep", (time.sleep, 1)])  # blocking (not called)
def test_syscall_non_callable_is_type_error(bad):
    async def main():
        with pytest.raises(TypeError) as ei:
            await gr.syscall(bad)
        # The goroutine (and the run) carry on.
        return str(ei.value), await gr.syscall(lambda: "after")

    msg, after = gr.run(main)
    assert "callable" in msg
    assert after == "after"


def test_syscall_non_callable_outside_goroutine_is_type_error():
    with pytest.raises(TypeError):
        gr.syscall(42)


@pytest.mark.timeout(10)
def test_syscall_awaited_outside_a_goroutine_raises_runtime_error():
    called = []

    async def caller():
        return await gr.syscall(called.append, 1)

    coro = caller()
    with pytest.raises(RuntimeError) as ei:
        coro.send(None)
    assert "goroutine" in str(ei.value)
    assert called == [], "fn must not run when syscall is misused"


@pytest.mark.timeout(10)
def test_syscall_awaited_in_asyncio_raises_runtime_error():
    called = []

    async def caller():
        return await gr.syscall(called.append, 1)

    with pytest.raises(RuntimeError):
        asyncio.run(caller())
    assert called == []


@pytest.mark.timeout(10)
def test_syscall_awaited_on_a_foreign_thread_during_a_run_raises_runtime_error():
    # A plain thread started while a runtime is running is still not a goroutine.
    called = []
    errors = []

    async def caller():
        return await gr.syscall(called.append, 1)

    def foreign():
        coro = caller()
        try:
            coro.send(None)
        except BaseException as e:  # noqa: BLE001 - recorded for the assertion
            errors.append(e)
        finally:
            coro.close()

    async def main():
        t = threading.Thread(target=foreign)
        t.start()
        await gr.syscall(t.join, 10)
        return t.is_alive()

    assert gr.run(main) is False
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError), errors
    assert called == []


# ---------------------------------------------------------------------- introspection


@pytest.mark.timeout(10)
def test_goroutine_in_syscall_shows_syscall_state():
    entered = threading.Event()
    release = threading.Event()

    def blocking():
        entered.set()
        release.wait(10)
        return "released"

    async def main():
        out = gr.Chan(1)

        async def caller():
            await out.send(await gr.syscall(blocking))

        h = gr.go(caller)
        assert await gr.syscall(entered.wait, 10)
        infos = {i.id: i for i in gr.goroutines()}
        info = infos[h.id]
        state, reason = info.state, info.wait_reason
        release.set()
        return state, reason, await out.recv()

    try:
        state, reason, result = gr.run(main, gomaxprocs=1)
    finally:
        release.set()
    assert (state, reason, result) == ("syscall", "syscall", "released")


# ---------------------------------------------------------------------- many concurrent syscalls


def _identity_after(seconds, value):
    time.sleep(seconds)  # blocking
    return value


@pytest.mark.timeout(60)
@pytest.mark.parametrize("procs", PROCS)
def test_many_concurrent_syscalls_with_channel_traffic(procs):
    n_producers, per_producer, n_consumers = 16, 20, 4
    before = runtime_threads()

    async def producer(pid, data, pdone):
        for i in range(per_producer):
            if i % 2:
                v = await gr.syscall(_identity_after, 0.002, (pid, i))
            else:
                await gr.syscall(time.sleep, 0.001)  # blocking
                v = (pid, i)
            await data.send(v)
        await pdone.send(pid)

    async def consumer(data, out):
        got = []
        async for v in data:
            got.append(v)
            if len(got) % 7 == 0:
                await gr.syscall(time.sleep, 0)  # blocking
        await out.send(got)

    async def main():
        data = gr.Chan()
        pdone = gr.Chan()
        out = gr.Chan()
        for _ in range(n_consumers):
            gr.go(consumer, data, out)
        for pid in range(n_producers):
            gr.go(producer, pid, data, pdone)
        finished = {await pdone.recv() for _ in range(n_producers)}
        data.close()
        lists = [await out.recv() for _ in range(n_consumers)]
        return finished, lists

    finished, lists = gr.run(main, gomaxprocs=procs)
    assert finished == set(range(n_producers))
    everything = [v for got in lists for v in got]
    expected = [(p, i) for p in range(n_producers) for i in range(per_producer)]
    assert sorted(everything) == expected, "every value delivered exactly once"
    for got in lists:
        for p in range(n_producers):
            seq = [i for (q, i) in got if q == p]
            assert seq == sorted(seq), "values from one sender arrive in the order sent"
    assert_no_new_runtime_threads(before)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("procs", PROCS)
def test_syscalls_returning_together_all_resume(procs):
    # Many calls end at about the same moment while few Ps are free: each
    # goroutine must get a P back (or be queued) and resume exactly once.
    n = 40
    barrier = threading.Barrier(n, timeout=20)

    async def worker(i, out):
        await gr.syscall(barrier.wait)
        await out.send(i)

    async def main():
        out = gr.Chan(n)
        for i in range(n):
            gr.go(worker, i, out)
        return sorted([await out.recv() for _ in range(n)])

    assert gr.run(main, gomaxprocs=procs) == list(range(n))


# ---------------------------------------------------------------------- no false deadlock


@pytest.mark.timeout(20)
@pytest.mark.parametrize("procs", PROCS)
def test_no_false_deadlock_while_a_syscall_is_in_flight(procs):
    async def slow(ch):
        await gr.syscall(time.sleep, 0.2)  # blocking
        await ch.send("done")

    async def main():
        ch = gr.Chan()
        gr.go(slow, ch)
        return await ch.recv()

    assert gr.run(main, gomaxprocs=procs) == "done"


@pytest.mark.timeout(20)
@pytest.mark.parametrize("procs", PROCS)
def test_no_false_deadlock_while_main_is_in_a_syscall(procs):
    # Every other goroutine is blocked on a channel; only main, inside a
    # call, can unblock them.
    async def waiter(ch, out):
        await out.send(await ch.recv() + 1)

    async def main():
        ch, out = gr.Chan(), gr.Chan()
        for _ in range(3):
            gr.go(waiter, ch, out)
        await gr.syscall(time.sleep, 0.2)  # blocking
        for i in range(3):
            await ch.send(i)
        return sorted([await out.recv() for _ in range(3)])

    assert gr.run(main, gomaxprocs=procs) == [1, 2, 3]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("procs", PROCS)
def test_no_false_deadlock_with_select_waiting_on_syscall_goroutines(procs):
    async def slow(ch, d, v):
        await gr.syscall(time.sleep, d)  # blocking
        await ch.send(v)

    async def main():
        a, b = gr.Chan(), gr.Chan()
        gr.go(slow, a, 0.1, "a")
        gr.go(slow, b, 0.2, "b")
        got = []
        for _ in range(2):
            i, v, ok = await gr.select(a.recv(), b.recv())
            got.append(v)
        return sorted(got)

    assert gr.run(main, gomaxprocs=procs) == ["a", "b"]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("procs", PROCS)
def test_no_false_deadlock_while_an_unannotated_call_blocks(procs):
    async def slow(ch):
        time.sleep(0.2)  # blocking
        await ch.send("done")

    async def main():
        ch = gr.Chan()
        gr.go(slow, ch)
        return await ch.recv()

    assert gr.run(main, gomaxprocs=procs) == "done"


@pytest.mark.timeout(20)
@pytest.mark.parametrize("procs", PROCS)
def test_real_deadlock_after_syscall_is_still_detected(procs):
    async def slow():
        await gr.syscall(time.sleep, 0.1)  # blocking
        # returns without sending: main can never proceed

    async def main():
        ch = gr.Chan()
        gr.go(slow)
        await ch.recv()

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main, gomaxprocs=procs)
    assert str(ei.value).startswith("all goroutines are asleep - deadlock!")


# ---------------------------------------------------------------------- threads


@pytest.mark.timeout(60)
def test_threads_return_to_baseline_after_runs():
    before = runtime_threads()

    async def simple():
        ch = gr.Chan()

        async def send():
            await ch.send(1)

        gr.go(send)
        return await ch.recv()

    assert gr.run(simple) == 1
    assert_no_new_runtime_threads(before)

    async def many_syscalls(n):
        out = gr.Chan()

        async def w(i):
            await gr.syscall(time.sleep, 0.05)  # blocking
            await out.send(i)

        for i in range(n):
            gr.go(w, i)
        return sorted([await out.recv() for _ in range(n)])

    for procs in PROCS:
        assert gr.run(many_syscalls, 50, gomaxprocs=procs) == list(range(50))
        assert_no_new_runtime_threads(before)

    # A later run works, and leaves nothing behind either.
    assert gr.run(simple, gomaxprocs=2) == 1
    assert_no_new_runtime_threads(before)


@pytest.mark.timeout(60)
def test_threads_return_to_baseline_after_sequential_syscalls():
    before = runtime_threads()

    async def main():
        total = 0
        for i in range(300):
            total += await gr.syscall(abs, -i)
        return total

    for procs in PROCS:
        assert gr.run(main, gomaxprocs=procs) == sum(range(300))
        assert_no_new_runtime_threads(before)


@pytest.mark.timeout(30)
def test_threads_return_to_baseline_after_unannotated_blocking():
    before = runtime_threads()

    async def main():
        out = gr.Chan()

        async def w(i):
            time.sleep(0.05)  # blocking
            await out.send(i)

        for i in range(8):
            gr.go(w, i)
        return sorted([await out.recv() for _ in range(8)])

    assert gr.run(main, gomaxprocs=1) == list(range(8))
    assert_no_new_runtime_threads(before)


# ---------------------------------------------------------------------- the thread cap


def test_set_max_threads_returns_previous():
    prev = gr.set_max_threads(123)
    try:
        assert isinstance(prev, int) and prev >= 1
        assert gr.set_max_threads(77) == 123
    finally:
        assert gr.set_max_threads(prev) == 77


@pytest.mark.parametrize("bad", [0, -1])
def test_set_max_threads_rejects_non_positive(bad):
    prev = gr.set_max_threads(50)
    try:
        with pytest.raises(ValueError):
            gr.set_max_threads(bad)
        assert gr.set_max_threads(50) == 50, "a rejected value must not change the cap"
    finally:
        gr.set_max_threads(prev)


@pytest.mark.parametrize("bad", ["4", 2.5, None, True])
def test_set_max_threads_rejects_non_int(bad):
    prev = gr.set_max_threads(50)
    try:
        with pytest.raises((TypeError, ValueError)):
            gr.set_max_threads(bad)
        assert gr.set_max_threads(50) == 50
    finally:
        gr.set_max_threads(prev)


async def _n_sleepers(n, seconds):
    done = gr.Chan()

    async def w(i):
        await gr.syscall(time.sleep, seconds)  # blocking
        await done.send(i)

    for i in range(n):
        gr.go(w, i)
    return sorted([await done.recv() for _ in range(n)])


@pytest.mark.timeout(30)
def test_exceeding_the_thread_cap_raises_runtime_error():
    before = runtime_threads()
    prev = gr.set_max_threads(4)
    try:
        with pytest.raises(RuntimeError) as ei:
            gr.run(_n_sleepers, 8, 0.5, gomaxprocs=1)
    finally:
        assert gr.set_max_threads(prev) == 4
    e = ei.value
    assert not isinstance(e, gr.Deadlock)
    msg = str(e)
    assert "4" in msg and "thread" in msg.lower() and "limit" in msg.lower(), msg
    assert "exceed" in msg.lower(), msg
    assert "set_max_threads" in msg, "the message says how to raise the limit"

    # Threads stuck in the calls end when the calls return.
    for t in runtime_threads() - before:
        t.join(10)
    assert_no_new_runtime_threads(before)

    # With the cap restored the same program runs.
    assert gr.run(_n_sleepers, 8, 0.05, gomaxprocs=1) == list(range(8))
    assert_no_new_runtime_threads(before)


@pytest.mark.timeout(30)
def test_program_within_the_thread_cap_runs():
    prev = gr.set_max_threads(16)
    try:
        assert gr.run(_n_sleepers, 4, 0.1, gomaxprocs=1) == list(range(4))
    finally:
        gr.set_max_threads(prev)


@pytest.mark.timeout(30)
def test_sequential_syscalls_do_not_accumulate_threads_against_the_cap():
    # One call at a time never needs more than a couple of threads, however
    # many calls are made in total.
    prev = gr.set_max_threads(4)

    async def main():
        for _ in range(200):
            await gr.syscall(time.sleep, 0)  # blocking
        return "ok"

    try:
        for procs in (1, 2):
            assert gr.run(main, gomaxprocs=procs) == "ok"
    finally:
        gr.set_max_threads(prev)


@pytest.mark.timeout(30)
def test_run_stopped_by_the_thread_cap_leaves_no_never_awaited_warnings():
    # The run ends with goroutines that never started; abandoning them is
    # normal (as when main returns) and must not surface as Python's
    # "coroutine ... was never awaited" RuntimeWarning.
    prev = gr.set_max_threads(4)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(RuntimeError):
                gr.run(_n_sleepers, 8, 0.3, gomaxprocs=1)
            gc.collect()
    finally:
        gr.set_max_threads(prev)
    never = [str(w.message) for w in caught if "never awaited" in str(w.message)]
    assert not never, never


# ---------------------------------------------------------------------- abandoning a blocked goroutine


@pytest.mark.timeout(30)
@pytest.mark.parametrize("annotated", [True, False], ids=["syscall", "unannotated"])
def test_run_returns_promptly_while_a_goroutine_is_still_blocked(annotated):
    # When main returns, a goroutine still inside a blocking call is
    # abandoned (as in Go); run must not wait for the call. Its thread is a
    # daemon that ends when the call returns (released here afterwards).
    before = runtime_threads()
    entered = threading.Event()
    release = threading.Event()

    def blocking():
        entered.set()
        release.wait(30)

    async def stuck():
        if annotated:
            await gr.syscall(blocking)
        else:
            blocking()  # blocking

    async def main():
        gr.go(stuck)
        assert await gr.syscall(entered.wait, 10)
        return time.monotonic()

    try:
        t_main = gr.run(main, gomaxprocs=1)
        elapsed = time.monotonic() - t_main
        left = runtime_threads() - before
    finally:
        release.set()
    for t in runtime_threads() - before:
        t.join(10)
    assert_no_new_runtime_threads(before)
    assert len(left) <= 1, sorted(t.name for t in left)
    assert elapsed < 0.5, f"run returned {elapsed:.3f}s after main returned"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("annotated", [True, False], ids=["syscall", "unannotated"])
def test_panic_elsewhere_ends_the_run_promptly_while_a_goroutine_is_blocked(annotated):
    before = runtime_threads()
    entered = threading.Event()
    release = threading.Event()
    marks = {}

    def blocking():
        entered.set()
        release.wait(30)

    async def stuck():
        if annotated:
            await gr.syscall(blocking)
        else:
            blocking()  # blocking

    async def panics():
        marks["panic"] = time.monotonic()
        raise Boom("elsewhere")

    async def main():
        gr.go(stuck)
        assert await gr.syscall(entered.wait, 10)
        gr.go(panics)
        await gr.Chan().recv()

    try:
        with pytest.raises(Boom):
            gr.run(main, gomaxprocs=1)
        elapsed = time.monotonic() - marks["panic"]
    finally:
        release.set()
    for t in runtime_threads() - before:
        t.join(10)
    assert_no_new_runtime_threads(before)
    assert elapsed < 0.5, f"run raised {elapsed:.3f}s after the panic"


# ---------------------------------------------------------------------- more shapes


@pytest.mark.timeout(60)
@pytest.mark.parametrize("procs", PROCS)
def test_exceptions_from_syscalls_returning_together_reach_their_goroutines(procs):
    n = 24
    barrier = threading.Barrier(n, timeout=20)

    def fails(i):
        barrier.wait()
        raise Boom(i)

    async def worker(i, out):
        try:
            await gr.syscall(fails, i)
        except Boom as e:
            await out.send((i, e.args[0]))

    async def main():
        out = gr.Chan(n)
        for i in range(n):
            gr.go(worker, i, out)
        return sorted([await out.recv() for _ in range(n)])

    assert gr.run(main, gomaxprocs=procs) == [(i, i) for i in range(n)]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", [1, 2])
def test_go_and_close_from_inside_a_syscall_function(procs):
    # The blocking function runs on a runtime thread while the runtime runs:
    # it may start goroutines and close channels (close works from any thread).
    async def child(out):
        await out.send("child ran")

    async def main():
        out = gr.Chan(1)
        stop = gr.Chan()

        def fn():
            gr.go(child, out)
            stop.close()
            return "fn done"

        r = await gr.syscall(fn)
        v, ok = await stop.recv_ok()
        return r, await out.recv(), ok

    assert gr.run(main, gomaxprocs=procs) == ("fn done", "child ran", False)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", PROCS)
def test_nested_work_after_syscall_keeps_channel_semantics(procs):
    # A goroutine that leaves a call with no P free is queued and resumes
    # later; a rendezvous in flight with it must complete exactly once.
    n = 30

    async def relay(i, inp, outp):
        v = await inp.recv()
        v = await gr.syscall(_identity_after, 0.001 * (i % 3), v + 1)
        await outp.send(v)

    async def main():
        first = gr.Chan()
        ch = first
        for i in range(n):
            nxt = gr.Chan()
            gr.go(relay, i, ch, nxt)
            ch = nxt
        results = []
        for k in range(5):
            await first.send(k * 100)
            results.append(await ch.recv())
            # relays are single-shot: restart the chain for the next round
            first = gr.Chan()
            ch = first
            for i in range(n):
                nxt = gr.Chan()
                gr.go(relay, i, ch, nxt)
                ch = nxt
        return results

    assert gr.run(main, gomaxprocs=procs) == [k * 100 + n for k in range(5)]
