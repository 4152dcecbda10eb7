"""W2 prodcons, threads: producer thread -> queue.Queue(maxsize=128) -> consumer thread.

queue.Queue has no close (before 3.13): the producer puts a None sentinel.
"""

import queue
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W2", "threads"
CAP = 128


def producer(q: queue.Queue, n: int) -> None:
    for i in range(n):
        q.put(i)
    q.put(None)  # "close"


def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        q: queue.Queue = queue.Queue(maxsize=CAP)
        t0 = bl.now_ns()
        t = threading.Thread(target=producer, args=(q, n), daemon=True)
        t.start()
        total = count = 0
        while (v := q.get()) is not None:
            total += v
            count += 1
        dt = bl.now_ns() - t0
        t.join()
        bl.check(count == n and total == n * (n - 1) // 2, W, SYSTEM, f"got {count} items summing to {total}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = main(a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
