"""Latency of the other goroutines while one hogs its thread.

A heartbeat goroutine wakes every 10 ms (``await gr.sleep(0.01)``) and
records the gap between its wake-ups, while another goroutine hogs its
thread without ever awaiting, in one of two ways:

``--hog spin`` (issue 3)
    computes for ``--spin`` seconds (a loop that never awaits). Without the
    monitor the heartbeat would wait the whole time; with it, the hog's P is
    retaken and the heartbeat runs on another thread.

``--hog block`` (issue 15, item 6)
    makes ``--calls`` plain blocking calls ``time.sleep(--block)`` (50 ms by
    default) back to back, with a channel operation between them (which
    gives the P back and costs the monitor a fresh retake each time). Each
    call holds the P until the monitor notices it and hands the P off.

``--hog none``
    no hog: the heartbeat alone for as long as the block hog would take,
    to see what the machine itself adds (a loaded machine wakes threads
    late).

The same workload runs on asyncio for contrast (there the hog holds the
loop).

    python3 bench/hog_latency.py [--hog spin|block] [--gomaxprocs 1] [--runs 1]

Prints, per system, the number of gaps and their p50/p90/p99/max in ms
(ideal: 10 ms each, about 490 gaps for the block hog's 5 s; a gap above
10 ms is how long the heartbeat was held up plus its period). With ``--runs R`` it makes R runs and prints each run's line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

import goroutines as gr  # noqa: E402

PERIOD = 0.010


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def percentile(sorted_ms: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of an ascending list, nearest rank."""
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * q))]


def summary(name: str, gaps: list[float]) -> str:
    ms = sorted(x * 1e3 for x in gaps)
    return (
        f"hog-latency {name} gaps={len(ms)} p50={statistics.median(ms):.2f} ms "
        f"p90={percentile(ms, 0.90):.2f} ms p99={percentile(ms, 0.99):.2f} ms max={ms[-1]:.2f} ms"
    )


def run_goroutines(hog_kind: str, spin: float, calls: int, block: float, procs: int) -> list[float]:
    """The heartbeat's gaps (seconds) while the hog runs, on goroutines."""

    async def main() -> list[float]:
        gaps: list[float] = []
        done = gr.Chan[None](1)
        step = gr.Chan[None](1)

        async def hog() -> None:
            if hog_kind == "spin":
                _spin(spin)
            elif hog_kind == "none":
                await gr.sleep(calls * block)
            else:
                for _ in range(calls):
                    time.sleep(block)  # blocking, unannotated: what is measured
                    await step.send(None)
                    await step.recv()
            await done.send(None)

        gr.go(hog)
        last = time.monotonic()
        while True:
            await gr.sleep(PERIOD)
            now = time.monotonic()
            gaps.append(now - last)
            last = now
            _, _, ok = await gr.select(done.recv_ok(), default=True)
            if ok:
                return gaps

    return gr.run(main, gomaxprocs=procs)


def run_asyncio(hog_kind: str, spin: float, calls: int, block: float) -> list[float]:
    async def main() -> list[float]:
        gaps: list[float] = []

        async def hog() -> None:
            if hog_kind == "spin":
                _spin(spin)
            elif hog_kind == "none":
                await asyncio.sleep(calls * block)
            else:
                for _ in range(calls):
                    time.sleep(block)  # blocking: holds the event loop
                    await asyncio.sleep(0)

        task = asyncio.ensure_future(hog())
        last = time.monotonic()
        while not task.done():
            await asyncio.sleep(PERIOD)
            now = time.monotonic()
            gaps.append(now - last)
            last = now
        return gaps

    return asyncio.run(main())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hog", choices=("spin", "block", "none"), default="spin", help="what the hog does")
    ap.add_argument("--spin", type=float, default=2.0, help="seconds the spin hog computes")
    ap.add_argument("--calls", type=int, default=100, help="blocking calls the block hog makes")
    ap.add_argument("--block", type=float, default=0.05, help="seconds each blocking call takes")
    ap.add_argument("--gomaxprocs", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1, help="runs of the goroutines measurement")
    ap.add_argument("--no-asyncio", action="store_true")
    a = ap.parse_args()
    for _ in range(a.runs):
        gaps = run_goroutines(a.hog, a.spin, a.calls, a.block, a.gomaxprocs)
        print(summary(f"goroutines(P={a.gomaxprocs},{a.hog})", gaps), flush=True)
    if not a.no_asyncio:
        print(summary(f"asyncio({a.hog})", run_asyncio(a.hog, a.spin, a.calls, a.block)))


if __name__ == "__main__":
    main()
