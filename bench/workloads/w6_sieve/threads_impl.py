"""W6 sieve, threads: Go's concurrent prime sieve, one OS thread per stage, on queue.Queue(maxsize=1)s.

The standard library has no rendezvous queue: Queue(maxsize=1) is the
closest. Unlike Go's program the chain is torn down after each repetition
(outside the timed part), so the process never holds more than N+1 threads:
the generator checks a stop flag after each put and then sends None, which
every filter passes on before it exits, while main drains the last queue.
"""

import queue
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W6", "threads"


def generate(q: queue.Queue, stop: threading.Event) -> None:
    i = 2
    while not stop.is_set():
        q.put(i)
        i += 1
    q.put(None)


def filter_(inp: queue.Queue, out: queue.Queue, prime: int) -> None:
    while (i := inp.get()) is not None:
        if i % prime:
            out.put(i)
    out.put(None)


def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        stop = threading.Event()
        threads = []
        t0 = bl.now_ns()
        q: queue.Queue = queue.Queue(maxsize=1)
        t = threading.Thread(target=generate, args=(q, stop), daemon=True)
        t.start()
        threads.append(t)
        prime = 0
        for _ in range(n):
            prime = q.get()
            q1: queue.Queue = queue.Queue(maxsize=1)
            t = threading.Thread(target=filter_, args=(q, q1, prime), daemon=True)
            t.start()
            threads.append(t)
            q = q1
        dt = bl.now_ns() - t0
        stop.set()
        while q.get() is not None:
            pass
        for t in threads:
            t.join()
        want = bl.nth_prime(n)
        bl.check(prime == want, W, SYSTEM, f"prime #{n} is {prime}, want {want}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = main(a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / 1e6)
