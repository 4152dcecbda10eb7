"""W6 sieve, gevent: Go's concurrent prime sieve on gevent.queue.Channel()s, first N primes.

As in Go's program the chain of greenlets is abandoned (left parked) once
main has its N primes. gevent is not monkey-patched.
"""

import sys
from pathlib import Path

import gevent
from gevent.queue import Channel

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W6", "gevent"


def generate(ch: Channel) -> None:
    i = 2
    while True:
        ch.put(i)
        i += 1


def filter_(inp: Channel, out: Channel, prime: int) -> None:
    while True:
        i = inp.get()
        if i % prime:
            out.put(i)


def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = bl.now_ns()
        ch = Channel()
        gevent.spawn(generate, ch)
        prime = 0
        for _ in range(n):
            prime = ch.get()
            ch1 = Channel()
            gevent.spawn(filter_, ch, ch1, prime)
            ch = ch1
        dt = bl.now_ns() - t0
        want = bl.nth_prime(n)
        bl.check(prime == want, W, SYSTEM, f"prime #{n} is {prime}, want {want}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = main(a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / 1e6)
