"""W8 fanout, threads: producer -> Queue(maxsize=1) -> 8 worker threads (square) -> Queue(maxsize=1) -> collector.

The standard library has no rendezvous queue or close: queue.Queue(maxsize=1)
is the closest, and the producer ends with one None per worker. The
collector (main thread) receives exactly N results and sums them.
"""

import queue
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W8", "threads"
WORKERS = 8


def producer(inp: queue.Queue, n: int) -> None:
    for i in range(n):
        inp.put(i)
    for _ in range(WORKERS):
        inp.put(None)  # "close"


def worker(inp: queue.Queue, out: queue.Queue) -> None:
    while (v := inp.get()) is not None:
        out.put(v * v)


def main(n: int, reps: int) -> float:
    want = (n - 1) * n * (2 * n - 1) // 6
    best = float("inf")
    for _ in range(reps):
        inp: queue.Queue = queue.Queue(maxsize=1)
        out: queue.Queue = queue.Queue(maxsize=1)
        t0 = bl.now_ns()
        ts = [threading.Thread(target=producer, args=(inp, n), daemon=True)]
        ts += [threading.Thread(target=worker, args=(inp, out), daemon=True) for _ in range(WORKERS)]
        for t in ts:
            t.start()
        total = 0
        for _ in range(n):
            total += out.get()
        dt = bl.now_ns() - t0
        for t in ts:
            t.join()
        bl.check(total == want, W, SYSTEM, f"sum of squares {total}, want {want}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = main(a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
