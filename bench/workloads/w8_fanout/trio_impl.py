"""W8 fanout, trio: producer -> open_memory_channel(0) -> 8 worker tasks (square) -> open_memory_channel(0) -> collector.

The producer closes its send side after N ints; the workers share the
receive side and iterate it until it ends; the collector (main) receives
exactly N results and sums them.
"""

import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W8", "trio"
WORKERS = 8


async def producer(tx, n: int) -> None:
    async with tx:
        for i in range(n):
            await tx.send(i)


async def worker(rx, tx) -> None:
    async for v in rx:
        await tx.send(v * v)


async def main(n: int, reps: int) -> float:
    want = (n - 1) * n * (2 * n - 1) // 6
    best = float("inf")
    for _ in range(reps):
        in_tx, in_rx = trio.open_memory_channel(0)
        out_tx, out_rx = trio.open_memory_channel(0)
        async with trio.open_nursery() as nursery:
            t0 = bl.now_ns()
            nursery.start_soon(producer, in_tx, n)
            for _ in range(WORKERS):
                nursery.start_soon(worker, in_rx, out_tx)
            total = 0
            for _ in range(n):
                total += await out_rx.receive()
            dt = bl.now_ns() - t0
        bl.check(total == want, W, SYSTEM, f"sum of squares {total}, want {want}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = trio.run(main, a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
