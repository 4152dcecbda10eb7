"""W5 select, trio: 4 producers on their own open_memory_channel(0); one consumer.

trio has no select. The idiomatic stand-in is a fan-in: one forwarder task
per channel sends its values into one merged open_memory_channel(0) through
a clone of the merged send side; the consumer iterates the merged channel,
which ends when all four clones are closed (every value takes two hops).
"""

import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W5", "trio"
K = 4


async def producer(tx, lo: int, hi: int) -> None:
    async with tx:
        for i in range(lo, hi):
            await tx.send(i)


async def forward(rx, merged_tx) -> None:
    async with merged_tx:
        async for v in rx:
            await merged_tx.send(v)


async def main(n: int, reps: int) -> float:
    q = n // K
    best = float("inf")
    for _ in range(reps):
        async with trio.open_nursery() as nursery:
            merged_tx, merged_rx = trio.open_memory_channel(0)
            t0 = bl.now_ns()
            async with merged_tx:
                for k in range(K):
                    tx, rx = trio.open_memory_channel(0)
                    nursery.start_soon(producer, tx, k * q, (k + 1) * q)
                    nursery.start_soon(forward, rx, merged_tx.clone())
            total = count = 0
            async for v in merged_rx:
                total += v
                count += 1
            dt = bl.now_ns() - t0
        bl.check(count == n and total == n * (n - 1) // 2, W, SYSTEM, f"got {count} messages summing to {total}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    if a.n % K:
        bl.fail(W, SYSTEM, f"N={a.n} is not a multiple of {K}")
    best = trio.run(main, a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
