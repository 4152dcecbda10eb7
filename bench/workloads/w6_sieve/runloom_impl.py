"""W6 sieve, runloom: Go's concurrent prime sieve on unbuffered runloom.Chan()s, first N primes.

As trio's program, the chain cannot be left parked: ``runloom.run`` returns
only when every fiber has finished. So after the clock stops every channel
of the chain is closed; the filters see ``ok=False`` and return, and the
generator's send on its closed channel raises (caught), outside the timed
part. See w1_pingpong/runloom_impl.py for hubs.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W6", "runloom"
runloom = bl.import_runloom(W, SYSTEM)


def generate(ch) -> None:
    i = 2
    try:
        while True:
            ch.send(i)
            i += 1
    except ValueError:  # send on closed channel: the chain was torn down
        pass


def filter_(inp, out, prime: int) -> None:
    try:
        while True:
            i, ok = inp.recv()
            if not ok:
                return
            if i % prime:
                out.send(i)
    except ValueError:  # its output was closed by the teardown
        pass


def bench(n: int, reps: int, out: list[float]) -> None:
    want = bl.nth_prime(n)
    for _ in range(reps):
        t0 = bl.now_ns()
        ch = runloom.Chan()
        chans = [ch]
        runloom.fiber(generate, ch)
        prime = 0
        for _ in range(n):
            prime, _ok = ch.recv()
            ch1 = runloom.Chan()
            chans.append(ch1)
            runloom.fiber(filter_, ch, ch1, prime)
            ch = ch1
        dt = bl.now_ns() - t0
        bl.check(prime == want, W, SYSTEM, f"prime #{n} is {prime}, want {want}")
        out.append(dt)
        for c in chans:
            c.close()


if __name__ == "__main__":
    a = bl.parse(W, gomaxprocs=True)
    times: list[float] = []
    runloom.run(bl.hubs(a, W), lambda: bench(a.n, a.reps, times))
    bl.check(len(times) == a.reps, W, SYSTEM, f"{len(times)} repetitions ran, want {a.reps}")
    bl.report(W, SYSTEM, a.n, min(times) / 1e6)
