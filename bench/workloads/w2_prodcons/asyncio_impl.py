"""W2 prodcons, asyncio: producer -> asyncio.Queue(maxsize=128) -> consumer.

asyncio.Queue has no close (before 3.13): the producer puts a None sentinel.
"""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W = "W2"
CAP = 128


async def producer(q: asyncio.Queue, n: int) -> None:
    for i in range(n):
        await q.put(i)
    await q.put(None)  # "close"


async def amain(system: str, n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        q: asyncio.Queue = asyncio.Queue(maxsize=CAP)
        t0 = bl.now_ns()
        task = asyncio.create_task(producer(q, n))
        total = count = 0
        while (v := await q.get()) is not None:
            total += v
            count += 1
        dt = bl.now_ns() - t0
        await task
        bl.check(count == n and total == n * (n - 1) // 2, W, system, f"got {count} items summing to {total}")
        best = min(best, dt)
    return best


def main(system: str = "asyncio", loop_factory=None) -> None:
    a = bl.parse(W)
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        best = runner.run(amain(system, a.n, a.reps))
    bl.report(W, system, a.n, best / a.n)


if __name__ == "__main__":
    main()
