"""W8 fanout, asyncio: producer -> Queue(maxsize=1) -> 8 worker tasks (square) -> Queue(maxsize=1) -> collector.

asyncio has no rendezvous channel or close: Queue(maxsize=1) is the closest,
and the producer ends with one None per worker. The collector (main)
receives exactly N results and sums them.
"""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W = "W8"
WORKERS = 8


async def producer(inp: asyncio.Queue, n: int) -> None:
    for i in range(n):
        await inp.put(i)
    for _ in range(WORKERS):
        await inp.put(None)  # "close"


async def worker(inp: asyncio.Queue, out: asyncio.Queue) -> None:
    while (v := await inp.get()) is not None:
        await out.put(v * v)


async def amain(system: str, n: int, reps: int) -> float:
    want = (n - 1) * n * (2 * n - 1) // 6
    best = float("inf")
    for _ in range(reps):
        inp: asyncio.Queue = asyncio.Queue(maxsize=1)
        out: asyncio.Queue = asyncio.Queue(maxsize=1)
        t0 = bl.now_ns()
        tasks = [asyncio.create_task(producer(inp, n))]
        tasks += [asyncio.create_task(worker(inp, out)) for _ in range(WORKERS)]
        total = 0
        for _ in range(n):
            total += await out.get()
        dt = bl.now_ns() - t0
        await asyncio.gather(*tasks)
        bl.check(total == want, W, system, f"sum of squares {total}, want {want}")
        best = min(best, dt)
    return best


def main(system: str = "asyncio", loop_factory=None) -> None:
    a = bl.parse(W)
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        best = runner.run(amain(system, a.n, a.reps))
    bl.report(W, system, a.n, best / a.n)


if __name__ == "__main__":
    main()
