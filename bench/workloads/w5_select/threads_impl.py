"""W5 select, threads: 4 producer threads on their own queue.Queue(maxsize=1); one consumer.

There is no select over queue.Queue and no close. Each producer puts N/4
ints then None ("closed"); one forwarder thread per queue moves its values
into one merged Queue(maxsize=1) and passes the "closed" marker on; the
consumer (main thread) reads the merged queue until it has seen four markers
(the fan-in stand-in; every value takes two hops).
"""

import queue
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W5", "threads"
K = 4


def producer(q: queue.Queue, lo: int, hi: int) -> None:
    for i in range(lo, hi):
        q.put(i)
    q.put(None)  # "close"


def forward(q: queue.Queue, merged: queue.Queue) -> None:
    while (v := q.get()) is not None:
        merged.put(v)
    merged.put(None)


def main(n: int, reps: int) -> float:
    q = n // K
    best = float("inf")
    for _ in range(reps):
        queues: list[queue.Queue] = [queue.Queue(maxsize=1) for _ in range(K)]
        merged: queue.Queue = queue.Queue(maxsize=1)
        t0 = bl.now_ns()
        ts = [threading.Thread(target=producer, args=(qu, k * q, (k + 1) * q), daemon=True) for k, qu in enumerate(queues)]
        ts += [threading.Thread(target=forward, args=(qu, merged), daemon=True) for qu in queues]
        for t in ts:
            t.start()
        live = K
        total = count = 0
        while live:
            v = merged.get()
            if v is None:
                live -= 1
                continue
            total += v
            count += 1
        dt = bl.now_ns() - t0
        for t in ts:
            t.join()
        bl.check(count == n and total == n * (n - 1) // 2, W, SYSTEM, f"got {count} messages summing to {total}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    if a.n % K:
        bl.fail(W, SYSTEM, f"N={a.n} is not a multiple of {K}")
    best = main(a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
