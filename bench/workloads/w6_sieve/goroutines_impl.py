"""W6 sieve, goroutines: Go's concurrent prime sieve on unbuffered gr.Chan()s, first N primes.

generate -> filter(2) -> filter(3) -> ...; main receives each prime and
appends a filter for it. As in Go's program, the chain is abandoned when
main has its N primes: those goroutines stay parked (later repetitions run
beside them; parked goroutines cost no CPU).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

import goroutines as gr  # noqa: E402

W, SYSTEM = "W6", "goroutines"


async def generate(ch: gr.Chan) -> None:
    i = 2
    while True:
        await ch.send(i)
        i += 1


async def filter_(inp: gr.Chan, out: gr.Chan, prime: int) -> None:
    while True:
        i = await inp.recv()
        if i % prime:
            await out.send(i)


async def main(n: int, reps: int) -> tuple[float, int]:
    best = float("inf")
    prime = 0
    for _ in range(reps):
        t0 = bl.now_ns()
        ch = gr.Chan()
        gr.go(generate, ch)
        for _ in range(n):
            prime = await ch.recv()
            ch1 = gr.Chan()
            gr.go(filter_, ch, ch1, prime)
            ch = ch1
        dt = bl.now_ns() - t0
        want = bl.nth_prime(n)
        bl.check(prime == want, W, SYSTEM, f"prime #{n} is {prime}, want {want}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W, gomaxprocs=True)
    best = gr.run(main, a.n, a.reps, gomaxprocs=a.gomaxprocs)
    bl.report(W, SYSTEM, a.n, best / 1e6)
