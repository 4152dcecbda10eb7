"""W2 prodcons, trio: producer -> trio.open_memory_channel(128) -> consumer; the producer closes."""

import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W2", "trio"
CAP = 128


async def producer(tx, n: int) -> None:
    async with tx:
        for i in range(n):
            await tx.send(i)


async def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        tx, rx = trio.open_memory_channel(CAP)
        async with trio.open_nursery() as nursery:
            t0 = bl.now_ns()
            nursery.start_soon(producer, tx, n)
            total = count = 0
            async for v in rx:
                total += v
                count += 1
            dt = bl.now_ns() - t0
        bl.check(count == n and total == n * (n - 1) // 2, W, SYSTEM, f"got {count} items summing to {total}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = trio.run(main, a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
