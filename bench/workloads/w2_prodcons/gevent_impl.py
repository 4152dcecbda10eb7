"""W2 prodcons, gevent: producer -> gevent.queue.Queue(maxsize=128) -> consumer.

gevent queues have no close: the producer puts StopIteration, which ends
iteration over the queue (gevent's idiom). gevent is not monkey-patched.
"""

import sys
from pathlib import Path

import gevent
from gevent.queue import Queue

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W2", "gevent"
CAP = 128


def producer(q: Queue, n: int) -> None:
    for i in range(n):
        q.put(i)
    q.put(StopIteration)  # "close"


def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        q = Queue(maxsize=CAP)
        t0 = bl.now_ns()
        g = gevent.spawn(producer, q, n)
        total = count = 0
        for v in q:
            total += v
            count += 1
        dt = bl.now_ns() - t0
        g.join()
        bl.check(count == n and total == n * (n - 1) // 2, W, SYSTEM, f"got {count} items summing to {total}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = main(a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
