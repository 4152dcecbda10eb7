"""W9 parallel, threads: 8 OS threads share N chunks of pure-Python work.

The same program with plain threads: chunk numbers in a queue.Queue, 8
threads take them until a ``None`` sentinel, put each chunk's sum on a
result queue.Queue that main sums. On a free-threaded build this is the
parallel limit the runtimes' M:N schedulers are measured against; under the
GIL, the threads take turns.
"""

import queue
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W9", "threads"


def worker(jobs: "queue.Queue[int | None]", out: "queue.Queue[int]") -> None:
    while True:
        k = jobs.get()
        if k is None:
            return
        out.put(bl.w9_chunk(k))


def main(n: int, reps: int) -> float:
    want = bl.w9_expected(n)
    best = float("inf")
    for _ in range(reps):
        jobs: queue.Queue[int | None] = queue.Queue()
        out: queue.Queue[int] = queue.Queue()
        t0 = bl.now_ns()
        for k in range(n):
            jobs.put(k)
        for _ in range(bl.W9_WORKERS):
            jobs.put(None)
        ts = [threading.Thread(target=worker, args=(jobs, out)) for _ in range(bl.W9_WORKERS)]
        for t in ts:
            t.start()
        total = sum(out.get() for _ in range(n))
        dt = bl.now_ns() - t0
        for t in ts:
            t.join()
        bl.check(total == want, W, SYSTEM, f"sum {total}, want {want}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    bl.report(W, SYSTEM, a.n, main(a.n, a.reps) / 1e6)
