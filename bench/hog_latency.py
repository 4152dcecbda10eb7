"""Latency under a CPU hog (issue 3).

One goroutine wakes every 10 ms (``await gr.sleep(0.01)``) and records how
late each wake-up is, while another goroutine spins for 2 s without ever
awaiting. Without the monitor the sleeper would wait the whole 2 s; with it,
the hog's P is retaken and the sleeper runs on another thread. The same
workload runs on asyncio for contrast (there the hog holds the loop).

    python3 bench/hog_latency.py [--spin 2.0] [--gomaxprocs 1]

Prints p50/p99/max lateness in ms for each system.
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


def _summary(name: str, late: list[float]) -> str:
    late_ms = sorted(x * 1e3 for x in late)
    p99 = late_ms[min(len(late_ms) - 1, int(len(late_ms) * 0.99))]
    return (
        f"hog-latency {name} wakeups={len(late_ms)} p50={statistics.median(late_ms):.2f} ms "
        f"p99={p99:.2f} ms max={late_ms[-1]:.2f} ms"
    )


def run_goroutines(spin: float, procs: int) -> list[float]:
    async def main() -> list[float]:
        late: list[float] = []
        done = gr.Chan[None](1)

        async def hog() -> None:
            _spin(spin)
            await done.send(None)

        gr.go(hog)
        while True:
            t0 = time.monotonic()
            await gr.sleep(PERIOD)
            late.append(time.monotonic() - t0 - PERIOD)
            _, _, ok = await gr.select(done.recv_ok(), default=True)
            if ok:
                return late

    return gr.run(main, gomaxprocs=procs)


def run_asyncio(spin: float) -> list[float]:
    async def main() -> list[float]:
        late: list[float] = []

        async def hog() -> None:
            _spin(spin)

        task = asyncio.ensure_future(hog())
        while not task.done():
            t0 = time.monotonic()
            await asyncio.sleep(PERIOD)
            late.append(time.monotonic() - t0 - PERIOD)
        return late

    return asyncio.run(main())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--spin", type=float, default=2.0, help="seconds the hog spins")
    ap.add_argument("--gomaxprocs", type=int, default=1)
    ap.add_argument("--no-asyncio", action="store_true")
    a = ap.parse_args()
    print(_summary(f"goroutines(P={a.gomaxprocs})", run_goroutines(a.spin, a.gomaxprocs)))
    if not a.no_asyncio:
        print(_summary("asyncio", run_asyncio(a.spin)))


if __name__ == "__main__":
    main()
