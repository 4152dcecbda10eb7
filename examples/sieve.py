"""The concurrent prime sieve: a daisy chain of goroutines over unbuffered channels.

    goroutines run examples/sieve.py [N]        # the first N primes (default 100)

The classic Go program (from the Go tour and the Go spec's examples).
``generate`` sends 2, 3, 4, ... down a channel. Each time ``main`` receives
a prime p from the end of the chain, it starts a ``filter_multiples``
goroutine (Go's ``filter``) that
passes on only the numbers not divisible by p, and listens to that filter's
output next. Every number travels down the chain until a filter drops it;
the numbers that reach ``main`` are prime. For N primes the program runs N+1
goroutines and every hop is an unbuffered rendezvous: a send completes only
when the next stage takes the value, so the whole chain runs in lock step
without any buffering or locks.

The Go original::

    func generate(ch chan<- int) {
        for i := 2; ; i++ {
            ch <- i
        }
    }

    func filter(in <-chan int, out chan<- int, prime int) {
        for {
            i := <-in
            if i%prime != 0 {
                out <- i
            }
        }
    }

    func main() {
        ch := make(chan int)
        go generate(ch)
        for i := 0; i < 10; i++ {
            prime := <-ch
            fmt.Println(prime)
            ch1 := make(chan int)
            go filter(ch, ch1, prime)
            ch = ch1
        }
    }

When ``main`` returns, the generator and the filters are still blocked in
their sends; as in Go, the program just ends (nobody needs to stop them).
"""

from __future__ import annotations

import math
import sys
import time

import goroutines as gr

PER_ROW = 10


async def generate(ch: gr.Chan[int]) -> None:
    """Send 2, 3, 4, ... on ch, forever."""
    i = 2
    while True:
        await ch.send(i)
        i += 1


async def filter_multiples(src: gr.Chan[int], dst: gr.Chan[int], prime: int) -> None:
    """Copy the values from src to dst, dropping those divisible by prime."""
    async for i in src:
        if i % prime != 0:
            await dst.send(i)


def nth_prime_bound(n: int) -> int:
    """An upper bound on the n-th prime (Rosser's theorem), to size the columns."""
    if n < 6:
        return 11
    return math.ceil(n * (math.log(n) + math.log(math.log(n))))


def parse_count(argv: list[str]) -> int:
    if len(argv) < 2:
        return 100
    try:
        n = int(argv[1])
    except ValueError:
        sys.exit(f"usage: sieve.py [N]: N must be a whole number, not {argv[1]!r}")
    if n < 1:
        sys.exit(f"usage: sieve.py [N]: N must be at least 1, not {n}")
    return n


async def main() -> None:
    n = parse_count(sys.argv)
    start = time.perf_counter()
    width = len(str(nth_prime_bound(n)))
    row: list[int] = []

    ch: gr.Chan[int] = gr.Chan()  # unbuffered: every hop is a rendezvous
    gr.go(generate, ch)
    prime = 0
    for i in range(n):
        prime = await ch.recv()
        row.append(prime)
        if len(row) == PER_ROW:
            print(" ".join(f"{p:>{width}}" for p in row))
            row.clear()
        if i < n - 1:  # the last prime needs no filter of its own
            ch1: gr.Chan[int] = gr.Chan()
            gr.go(filter_multiples, ch, ch1, prime)
            ch = ch1
    if row:
        print(" ".join(f"{p:>{width}}" for p in row))

    elapsed = time.perf_counter() - start
    goroutines = gr.num_goroutine()  # main + generate + n-1 filters
    took = f"{elapsed:.2f} s" if elapsed >= 1 else f"{elapsed * 1000:.0f} ms"
    print()
    print(
        f"{n} prime{'s' if n != 1 else ''}, the last is {prime}: {goroutines} goroutines "
        f"(main, 1 generator, {goroutines - 2} filters) in {took}"
    )
