"""W6 sieve, asyncio: Go's concurrent prime sieve on asyncio.Queue(maxsize=1)s, first N primes.

asyncio has no rendezvous channel: Queue(maxsize=1) is the closest. As in
Go's program the chain of tasks is abandoned (left parked) once main has its
N primes; the runner cancels them when the program ends.
"""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W = "W6"


async def generate(q: asyncio.Queue) -> None:
    i = 2
    while True:
        await q.put(i)
        i += 1


async def filter_(inp: asyncio.Queue, out: asyncio.Queue, prime: int) -> None:
    while True:
        i = await inp.get()
        if i % prime:
            await out.put(i)


async def amain(system: str, n: int, reps: int) -> float:
    best = float("inf")
    tasks = []  # strong references to the parked tasks
    for _ in range(reps):
        t0 = bl.now_ns()
        q: asyncio.Queue = asyncio.Queue(maxsize=1)
        tasks.append(asyncio.create_task(generate(q)))
        prime = 0
        for _ in range(n):
            prime = await q.get()
            q1: asyncio.Queue = asyncio.Queue(maxsize=1)
            tasks.append(asyncio.create_task(filter_(q, q1, prime)))
            q = q1
        dt = bl.now_ns() - t0
        want = bl.nth_prime(n)
        bl.check(prime == want, W, system, f"prime #{n} is {prime}, want {want}")
        best = min(best, dt)
    return best


def main(system: str = "asyncio", loop_factory=None) -> None:
    a = bl.parse(W)
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        best = runner.run(amain(system, a.n, a.reps))
    bl.report(W, system, a.n, best / 1e6)


if __name__ == "__main__":
    main()
