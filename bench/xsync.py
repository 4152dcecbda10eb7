"""Benchmark: the "More sync and context" primitives beside their building blocks.

    python bench/xsync.py [--gomaxprocs N] [--reps R]

Each line is the median of R in-process repetitions (ns per operation):

  semaphore   acquire()+release() uncontended, beside Mutex lock()+unlock()
  cond        a Cond ping-pong round trip (two goroutines taking turns
              under one Mutex), beside an unbuffered channel ping-pong
  errgroup    g.go + g.wait per goroutine, beside gr.go + WaitGroup; and
              with set_limit(8) (await g.go)

The machine is shared: compare lines of the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import goroutines as gr  # noqa: E402

now = time.perf_counter


async def sem_ops(n: int) -> float:
    s = gr.Semaphore(1)
    t = now()
    for _ in range(n):
        await s.acquire()
        s.release()
    return now() - t


async def mutex_ops(n: int) -> float:
    mu = gr.Mutex()
    t = now()
    for _ in range(n):
        await mu.lock()
        mu.unlock()
    return now() - t


async def cond_pingpong(n: int) -> float:
    mu = gr.Mutex()
    c = gr.Cond(mu)
    turn = [0]
    done = gr.Chan[None]()

    async def player(me: int) -> None:
        for _ in range(n):
            async with mu:
                while turn[0] != me:
                    await c.wait()
                turn[0] = 1 - me
                c.signal()
        await done.send(None)

    t = now()
    gr.go(player, 0)
    gr.go(player, 1)
    await done.recv()
    await done.recv()
    return now() - t


async def chan_pingpong(n: int) -> float:
    a = gr.Chan[int]()
    b = gr.Chan[int]()

    async def echo() -> None:
        for _ in range(n):
            await b.send(await a.recv())

    t = now()
    gr.go(echo)
    for i in range(n):
        await a.send(i)
        await b.recv()
    return now() - t


async def nothing() -> None:
    pass


async def errgroup_spawn(n: int) -> float:
    t = now()
    g = gr.ErrGroup()
    for _ in range(n):
        g.go(nothing)
    await g.wait()
    return now() - t


async def errgroup_limited(n: int) -> float:
    t = now()
    g = gr.ErrGroup()
    g.set_limit(8)
    for _ in range(n):
        await g.go(nothing)
    await g.wait()
    return now() - t


async def go_waitgroup(n: int) -> float:
    wg = gr.WaitGroup()

    async def member() -> None:
        wg.done()

    t = now()
    for _ in range(n):
        wg.add(1)
        gr.go(member)
    await wg.wait()
    return now() - t


def measure(fn: Callable[[int], Awaitable[float]], n: int, reps: int, procs: int) -> float:
    async def main() -> float:
        return await fn(n)

    return statistics.median(gr.run(main, gomaxprocs=procs) for _ in range(reps)) / n * 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gomaxprocs", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    rows = [
        ("Semaphore acquire+release", sem_ops, 200_000),
        ("Mutex lock+unlock", mutex_ops, 200_000),
        ("Cond ping-pong round trip", cond_pingpong, 20_000),
        ("unbuffered channel ping-pong round trip", chan_pingpong, 20_000),
        ("ErrGroup go+wait per goroutine", errgroup_spawn, 20_000),
        ("ErrGroup set_limit(8) await go per goroutine", errgroup_limited, 20_000),
        ("gr.go + WaitGroup per goroutine", go_waitgroup, 20_000),
    ]
    print(f"gomaxprocs={a.gomaxprocs} reps={a.reps} (median ns/op)")
    for name, fn, n in rows:
        print(f"  {name:<46} {measure(fn, n, a.reps, a.gomaxprocs):10,.0f}")


if __name__ == "__main__":
    main()
