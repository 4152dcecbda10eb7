"""Interop benchmarks: the thread boundary, gr.aio, fanning out to processes.

    python3 bench/interop.py roundtrip [--n N] [--reps K]   # thread <-> goroutine vs queue.Queue, janus
    python3 bench/interop.py aio [--n 100] [--reps K]       # n concurrent gr.aio(asyncio.sleep(0.05))
    python3 bench/interop.py fanout [--tasks 64] [--work 0.05] [--workers 4]   # dask, process pool, serial

roundtrip: a plain thread sends an int, the other side adds 1 and sends it
back; ns per round trip, best of K. goroutines: ``send_blocking`` /
``recv_blocking`` on two unbuffered channels to one goroutine (GOMAXPROCS
1). queue.Queue: two threads, two ``Queue(maxsize=1)``. janus: the thread
on ``sync_q``, an asyncio task on ``async_q`` (pip install janus; the
``bench`` extra).

fanout: examples/fanout.py's fan-out (one goroutine per task, results over
a channel), wall time of the fan-out only (the pool or cluster started
first); serial is the same work in a loop.
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "examples"))

import goroutines as gr  # noqa: E402


def rt_goroutines(n: int) -> float:
    async def main() -> float:
        a: gr.Chan[int] = gr.Chan()
        b: gr.Chan[int] = gr.Chan()

        async def echo() -> None:
            for _ in range(n):
                await b.send(await a.recv() + 1)

        gr.go(echo)
        res: list[float] = []

        def thread() -> None:
            v = 0
            t0 = time.perf_counter_ns()
            for _ in range(n):
                a.send_blocking(v)
                v, _ = b.recv_blocking()
            res.append(time.perf_counter_ns() - t0)
            assert v == n

        t = threading.Thread(target=thread)
        t.start()
        await gr.syscall(t.join)
        return res[0] / n

    return float(gr.run(main, gomaxprocs=1))


def rt_queue(n: int) -> float:
    a: queue.Queue[int] = queue.Queue(1)
    b: queue.Queue[int] = queue.Queue(1)

    def echo() -> None:
        for _ in range(n):
            b.put(a.get() + 1)

    t = threading.Thread(target=echo)
    t.start()
    v = 0
    t0 = time.perf_counter_ns()
    for _ in range(n):
        a.put(v)
        v = b.get()
    dt = time.perf_counter_ns() - t0
    t.join()
    assert v == n
    return dt / n


def rt_janus(n: int) -> float:
    import janus

    async def main() -> float:
        a: janus.Queue[int] = janus.Queue(1)
        b: janus.Queue[int] = janus.Queue(1)

        def thread() -> float:
            v = 0
            t0 = time.perf_counter_ns()
            for _ in range(n):
                a.sync_q.put(v)
                v = b.sync_q.get()
            assert v == n
            return (time.perf_counter_ns() - t0) / n

        async def echo() -> None:
            for _ in range(n):
                await b.async_q.put(await a.async_q.get() + 1)

        task = asyncio.create_task(echo())
        r = await asyncio.to_thread(thread)
        await task
        return r

    return asyncio.run(main())


def aio(n: int) -> float:
    async def one(wg: gr.WaitGroup) -> None:
        await gr.aio(asyncio.sleep(0.05))
        wg.done()

    async def main() -> float:
        await gr.aio(asyncio.sleep(0))  # start the loop thread first
        wg = gr.WaitGroup()
        t0 = time.perf_counter()
        for _ in range(n):
            wg.add(1)
            gr.go(one, wg)
        await wg.wait()
        return (time.perf_counter() - t0) * 1000

    return float(gr.run(main, gomaxprocs=1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["roundtrip", "aio", "fanout"])
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--tasks", type=int, default=64)
    ap.add_argument("--work", type=float, default=0.05)
    ap.add_argument("--workers", type=int, default=4)
    a = ap.parse_args()
    if a.what == "roundtrip":
        n = a.n or 20_000
        for name, fn in (("goroutines", rt_goroutines), ("queue.Queue", rt_queue), ("janus", rt_janus)):
            try:
                runs = [fn(n) for _ in range(a.reps)]
            except ImportError as e:
                print(f"roundtrip {name}: skipped ({e})")
                continue
            print(f"roundtrip {name} n={n}: best {min(runs):,.0f} median {statistics.median(runs):,.0f} ns/round trip")
    elif a.what == "aio":
        n = a.n or 100
        runs = [aio(n) for _ in range(a.reps)]
        print(f"aio {n} x asyncio.sleep(0.05): best {min(runs):.1f} median {statistics.median(runs):.1f} ms")
    else:
        import fanout

        for ex in ("serial", "process", "dask"):
            total, wall = gr.run(fanout.run_tasks, a.tasks, a.work, ex, a.workers)
            assert total == fanout.expected(a.tasks)
            print(f"fanout {ex}: {a.tasks} x {a.work * 1000:g} ms, {a.workers} workers: {wall * 1000:.0f} ms")


if __name__ == "__main__":
    main()
