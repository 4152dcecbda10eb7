"""What the execution tracer costs: W1's ping-pong with recording off and on.

    python bench/trace_cost.py [--n 100000] [--reps 5] [--gomaxprocs N] [--write]

Runs the W1 ping-pong (two goroutines, two unbuffered channels, N round
trips) alternately without and with a Tracer recording, best of ``--reps``
each, and prints ns per round trip for both and the events recorded. With
``--write`` it also times formatting and writing one traced run as JSON and
as the HTML page (goroutines.trace). docs/debugging.md quotes its figures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import goroutines as gr
from goroutines._core import Tracer, current_sched


async def ponger(ping: gr.Chan[int], pong: gr.Chan[int], n: int) -> None:
    for _ in range(n):
        v = await ping.recv()
        await pong.send(v + 1)


async def pingpong(n: int) -> int:
    ping: gr.Chan[int] = gr.Chan()
    pong: gr.Chan[int] = gr.Chan()
    t0 = time.perf_counter_ns()
    gr.go(ponger, ping, pong, n)
    v = 0
    for _ in range(n):
        await ping.send(v)
        v = await pong.recv()
    if v != n:
        raise SystemExit(f"trace_cost: final value {v}, want {n}")
    return time.perf_counter_ns() - t0


async def compare(n: int, reps: int) -> tuple[float, float, int, int]:
    off: list[int] = []
    on: list[int] = []
    events = 0
    for _ in range(reps):
        off.append(await pingpong(n))
        sched = current_sched()
        assert sched is not None
        tr = Tracer()
        tr.start(sched)
        try:
            on.append(await pingpong(n))
        finally:
            events = len(tr.stop())
    return min(off) / n, min(on) / n, events, gr.gomaxprocs()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--gomaxprocs", type=int, default=None)
    p.add_argument("--write", action="store_true", help="also time writing a traced run as JSON and HTML")
    a = p.parse_args()
    off, on, events, procs = gr.run(compare, a.n, a.reps, gomaxprocs=a.gomaxprocs)
    print(
        f"gomaxprocs={procs} n={a.n}: off {off:.0f} ns/round trip, on {on:.0f} ns/round trip "
        f"(+{(on / off - 1) * 100:.0f}%, +{(on - off) / (events / a.n):.0f} ns/event), "
        f"{events} events ({events / a.n:.1f} per round trip)"
    )
    if a.write:
        d = tempfile.mkdtemp()
        for ext in ("json", "html"):
            path = os.path.join(d, f"w1.{ext}")

            async def traced(path: str = path) -> float:
                with gr.trace(path):
                    await pingpong(a.n)
                    t_block = time.perf_counter()
                return time.perf_counter() - t_block  # leaving the block formats and writes

            secs = gr.run(traced, gomaxprocs=a.gomaxprocs)
            print(f"  write .{ext}: {secs:.2f} s to format and write ({os.path.getsize(path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
