"""W8 fanout, goroutines: producer -> gr.Chan() -> 8 workers (square) -> gr.Chan() -> collector.

The producer closes the input channel after N ints; the workers range over
it and exit; the collector (main) receives exactly N results and sums them.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

import goroutines as gr  # noqa: E402

W, SYSTEM = "W8", "goroutines"
WORKERS = 8


async def producer(inp: gr.Chan, n: int) -> None:
    for i in range(n):
        await inp.send(i)
    inp.close()


async def worker(inp: gr.Chan, out: gr.Chan) -> None:
    async for v in inp:
        await out.send(v * v)


async def main(n: int, reps: int) -> float:
    want = (n - 1) * n * (2 * n - 1) // 6
    best = float("inf")
    for _ in range(reps):
        inp, out = gr.Chan(), gr.Chan()
        t0 = bl.now_ns()
        gr.go(producer, inp, n)
        for _ in range(WORKERS):
            gr.go(worker, inp, out)
        total = 0
        for _ in range(n):
            total += await out.recv()
        dt = bl.now_ns() - t0
        bl.check(total == want, W, SYSTEM, f"sum of squares {total}, want {want}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W, gomaxprocs=True)
    best = gr.run(main, a.n, a.reps, gomaxprocs=a.gomaxprocs)
    bl.report(W, SYSTEM, a.n, best / a.n)
