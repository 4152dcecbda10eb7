"""asyncio and futures: gr.aio, gr.wait_future, asyncio.to_thread(gr.run, ...)."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextvars
import threading
import time
from typing import Any

import pytest

import goroutines as gr

var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")


def aio_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "goroutines-asyncio"]


async def echo_later(x: Any, delay: float = 0.0) -> Any:
    await asyncio.sleep(delay)
    return x


async def fail_later() -> None:
    await asyncio.sleep(0)
    raise KeyError("from asyncio")


# ------------------------------------------------------------------ gr.aio


def test_aio_result_and_exception() -> None:
    async def main() -> tuple[Any, str]:
        r = await gr.aio(echo_later(7, 0.001))
        with pytest.raises(KeyError, match="from asyncio") as ei:
            await gr.aio(fail_later())
        return r, type(ei.value).__name__

    assert gr.run(main) == (7, "KeyError")
    assert aio_threads() == []


def test_aio_runs_in_a_copy_of_the_goroutines_context() -> None:
    async def peek_and_set() -> tuple[str, str]:
        seen = var.get()
        var.set("set by asyncio")
        task = asyncio.current_task()
        assert task is not None
        return seen, task.get_name()

    async def child(out: gr.Chan[Any]) -> None:
        var.set("child")
        seen, name = await gr.aio(peek_and_set())
        await out.send((seen, name, var.get()))

    async def main() -> Any:
        var.set("main")
        out: gr.Chan[Any] = gr.Chan()
        h = gr.go(child, out)
        got = await out.recv()
        return got, h.id

    (seen, name, after), gid = gr.run(main)
    assert seen == "child"
    assert name == f"goroutine-{gid}"  # what logging's taskName shows on 3.12+
    assert after == "child"  # a copy, as asyncio.create_task takes


def test_concurrent_aio_calls_overlap_at_gomaxprocs_1() -> None:
    async def one(wg: gr.WaitGroup, out: list[Any], i: int) -> None:
        out.append(await gr.aio(echo_later(i, 0.05)))
        wg.done()

    async def main() -> tuple[float, list[Any]]:
        out: list[Any] = []
        wg = gr.WaitGroup()
        t0 = time.monotonic()
        for i in range(100):
            wg.add(1)
            gr.go(one, wg, out, i)
        await wg.wait()
        return time.monotonic() - t0, sorted(out)

    elapsed, out = gr.run(main, gomaxprocs=1)
    assert out == list(range(100))
    assert elapsed < 2.5, f"100 concurrent 50 ms asyncio sleeps took {elapsed:.2f} s (sequential: 5 s)"


def test_the_goroutine_parks_and_its_thread_runs_others(wait: Any) -> None:
    started = threading.Event()
    release = threading.Event()

    async def gated() -> str:
        started.set()
        while not release.is_set():
            await asyncio.sleep(0.001)
        return "done"

    async def waiter(out: gr.Chan[str]) -> None:
        await out.send(await gr.aio(gated()))

    async def main() -> list[str]:
        out: gr.Chan[str] = gr.Chan()
        h = gr.go(waiter, out)
        info = await wait.parked(h.id, "asyncio wait")
        assert info.state == "waiting"
        # Only one P: this goroutine runs while the other waits in asyncio.
        n = 0
        for _ in range(100):
            await gr.gosched()
            n += 1
        release.set()
        return [await out.recv(), str(n)]

    assert gr.run(main, gomaxprocs=1) == ["done", "100"]


def test_waiting_on_asyncio_is_not_a_deadlock() -> None:
    async def main() -> str:
        # Nothing else runs, no timer of ours: only the loop thread can wake us.
        return await gr.aio(echo_later("late", 0.05))  # type: ignore[no-any-return]

    assert gr.run(main) == "late"


def test_aio_accepts_tasks_of_its_loop_and_other_awaitables() -> None:
    class Awaitable:
        def __await__(self) -> Any:
            return echo_later("custom").__await__()

    async def make_task() -> asyncio.Task[Any]:
        return asyncio.get_running_loop().create_task(echo_later("task", 0.001))

    async def main() -> list[Any]:
        t = await gr.aio(make_task())
        return [await gr.aio(t), await gr.aio(Awaitable())]

    assert gr.run(main) == ["task", "custom"]


def test_aio_misuse() -> None:
    with pytest.raises(TypeError, match="is not awaitable"):
        gr.aio(42)  # type: ignore[arg-type]

    coro = echo_later(1)
    with pytest.raises(RuntimeError, match="inside a goroutine"):
        asyncio.run(_await_outside(gr.aio(coro)))
    coro.close()

    other_loop = asyncio.new_event_loop()
    fut = other_loop.create_future()

    async def main() -> None:
        with pytest.raises(ValueError, match="another event loop"):
            await gr.aio(fut)

    try:
        gr.run(main)
    finally:
        other_loop.close()


async def _await_outside(aw: Any) -> Any:
    return await aw


def test_pending_tasks_are_cancelled_and_the_loop_thread_joined_when_run_ends() -> None:
    cleaned: list[str] = []
    running = threading.Event()

    async def forever() -> None:
        running.set()
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append("cancelled")

    async def stuck() -> None:
        await gr.aio(forever())

    async def main() -> None:
        gr.go(stuck)
        assert await gr.syscall(running.wait, 10)

    gr.run(main)
    assert cleaned == ["cancelled"]
    assert aio_threads() == []


def test_asyncio_directly_in_a_goroutine_points_at_aio() -> None:
    async def sleeper() -> None:
        await asyncio.sleep(1)

    with pytest.raises(RuntimeError, match="no running event loop") as ei:
        gr.run(sleeper)
    assert any("goroutines.aio" in n for n in ei.value.__notes__)

    fut: asyncio.Future[int] = asyncio.new_event_loop().create_future()

    async def awaits_future() -> None:
        await fut

    with pytest.raises(TypeError, match=r"goroutines\.aio"):
        gr.run(awaits_future)


def test_asyncio_program_runs_goroutines_with_to_thread() -> None:
    async def gmain(n: int) -> int:
        ch: gr.Chan[int] = gr.Chan()

        async def produce() -> None:
            for i in range(n):
                await ch.send(i)
            ch.close()

        gr.go(produce)
        total = 0
        async for v in ch:
            total += v
        # asyncio from inside, too: this run has its own loop thread.
        return total + await gr.aio(echo_later(1000))  # type: ignore[no-any-return]

    async def amain() -> list[int]:
        tick = asyncio.create_task(asyncio.sleep(0.01, 5))  # the outer loop keeps running
        r = await asyncio.to_thread(gr.run, gmain, 10)
        return [r, await tick]

    assert asyncio.run(amain()) == [1045, 5]
    assert aio_threads() == []


# ------------------------------------------------------------------ wait_future


def test_wait_future_result_exception_and_cancel() -> None:
    async def main() -> list[Any]:
        out: list[Any] = []
        with cf.ThreadPoolExecutor(2) as ex:
            out.append(await gr.wait_future(ex.submit(pow, 2, 10)))
            with pytest.raises(ZeroDivisionError):
                await gr.wait_future(ex.submit(lambda: 1 / 0))
            done = ex.submit(str, "already")
            done.result()
            out.append(await gr.wait_future(done))
        f: cf.Future[int] = cf.Future()
        f.cancel()
        with pytest.raises(cf.CancelledError):
            await gr.wait_future(f)
        return out

    assert gr.run(main) == [1024, "already"]


def test_wait_future_parks_only_the_goroutine(wait: Any) -> None:
    async def waiter(f: cf.Future[str], out: gr.Chan[str]) -> None:
        await out.send(await gr.wait_future(f))

    async def main() -> str:
        f: cf.Future[str] = cf.Future()
        out: gr.Chan[str] = gr.Chan()
        h = gr.go(waiter, f, out)
        await wait.parked(h.id, "future wait")
        # Completed from a plain thread; cancellation of a pending one too.
        t = threading.Thread(target=f.set_result, args=("from thread",))
        t.start()
        got = await out.recv()
        await gr.syscall(t.join)

        g: cf.Future[str] = cf.Future()
        h2 = gr.go(waiter, g, out)
        await wait.parked(h2.id, "future wait")
        g.cancel()
        await out.recv()  # never: the waiter panics with CancelledError
        return got

    with pytest.raises(cf.CancelledError):
        gr.run(main)


def test_waiting_on_a_future_is_not_a_deadlock() -> None:
    def later(f: cf.Future[int]) -> None:
        time.sleep(0.05)  # blocking: completes the future while main waits
        f.set_result(3)

    async def main() -> int:
        f: cf.Future[int] = cf.Future()
        threading.Thread(target=later, args=(f,), daemon=True).start()
        return await gr.wait_future(f)

    assert gr.run(main) == 3


def test_wait_future_misuse() -> None:
    with pytest.raises(TypeError, match="not a concurrent.futures.Future"):
        gr.wait_future(42)  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(TypeError, match=r"gr\.aio"):
            gr.wait_future(loop.create_future())  # type: ignore[arg-type]
    finally:
        loop.close()
