"""W6 sieve, trio: Go's concurrent prime sieve on open_memory_channel(0)s, first N primes.

Tasks live in a nursery; once main has its N primes the clock stops and the
nursery is cancelled (trio cannot abandon tasks the way Go does).
"""

import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W6", "trio"


async def generate(tx) -> None:
    i = 2
    while True:
        await tx.send(i)
        i += 1


async def filter_(rx, tx, prime: int) -> None:
    while True:
        i = await rx.receive()
        if i % prime:
            await tx.send(i)


async def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        async with trio.open_nursery() as nursery:
            t0 = bl.now_ns()
            tx, rx = trio.open_memory_channel(0)
            nursery.start_soon(generate, tx)
            prime = 0
            for _ in range(n):
                prime = await rx.receive()
                tx1, rx1 = trio.open_memory_channel(0)
                nursery.start_soon(filter_, rx, tx1, prime)
                rx = rx1
            dt = bl.now_ns() - t0
            nursery.cancel_scope.cancel()
        want = bl.nth_prime(n)
        bl.check(prime == want, W, SYSTEM, f"prime #{n} is {prime}, want {want}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = trio.run(main, a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / 1e6)
