"""W1 pingpong, asyncio: two tasks, two asyncio.Queue(maxsize=1).

asyncio has no rendezvous channel: Queue(maxsize=1) is the closest (a put
completes when the item is buffered, not when it is taken).
"""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W = "W1"


async def ponger(ping: asyncio.Queue, pong: asyncio.Queue, n: int) -> None:
    for _ in range(n):
        v = await ping.get()
        await pong.put(v + 1)


async def amain(system: str, n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        ping: asyncio.Queue = asyncio.Queue(maxsize=1)
        pong: asyncio.Queue = asyncio.Queue(maxsize=1)
        t0 = bl.now_ns()
        task = asyncio.create_task(ponger(ping, pong, n))
        v = 0
        for _ in range(n):
            await ping.put(v)
            v = await pong.get()
        dt = bl.now_ns() - t0
        await task
        bl.check(v == n, W, system, f"final value {v}, want {n}")
        best = min(best, dt)
    return best


def main(system: str = "asyncio", loop_factory=None) -> None:
    a = bl.parse(W)
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        best = runner.run(amain(system, a.n, a.reps))
    bl.report(W, system, a.n, best / a.n)


if __name__ == "__main__":
    main()
