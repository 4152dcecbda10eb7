"""W8 fanout, gevent: producer -> Channel() -> 8 worker greenlets (square) -> Channel() -> collector.

gevent channels have no close: the producer ends with one StopIteration per
worker, which ends each worker's iteration (gevent's idiom). The collector
(main greenlet) receives exactly N results and sums them. Not monkey-patched.
"""

import sys
from pathlib import Path

import gevent
from gevent.queue import Channel

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W8", "gevent"
WORKERS = 8


def producer(inp: Channel, n: int) -> None:
    for i in range(n):
        inp.put(i)
    for _ in range(WORKERS):
        inp.put(StopIteration)  # "close"


def worker(inp: Channel, out: Channel) -> None:
    for v in inp:
        out.put(v * v)


def main(n: int, reps: int) -> float:
    want = (n - 1) * n * (2 * n - 1) // 6
    best = float("inf")
    for _ in range(reps):
        inp, out = Channel(), Channel()
        t0 = bl.now_ns()
        gs = [gevent.spawn(producer, inp, n)]
        gs += [gevent.spawn(worker, inp, out) for _ in range(WORKERS)]
        total = 0
        for _ in range(n):
            total += out.get()
        dt = bl.now_ns() - t0
        gevent.joinall(gs, raise_error=True)
        bl.check(total == want, W, SYSTEM, f"sum of squares {total}, want {want}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = main(a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
