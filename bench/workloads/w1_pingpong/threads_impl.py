"""W1 pingpong, threads: two OS threads, two queue.Queue(maxsize=1).

The standard library has no rendezvous queue: Queue(maxsize=1) is the
closest (a put completes when the item is buffered, not when it is taken).
"""

import queue
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W1", "threads"


def ponger(ping: queue.Queue, pong: queue.Queue, n: int) -> None:
    for _ in range(n):
        v = ping.get()
        pong.put(v + 1)


def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        ping: queue.Queue = queue.Queue(maxsize=1)
        pong: queue.Queue = queue.Queue(maxsize=1)
        t0 = bl.now_ns()
        t = threading.Thread(target=ponger, args=(ping, pong, n), daemon=True)
        t.start()
        v = 0
        for _ in range(n):
            ping.put(v)
            v = pong.get()
        dt = bl.now_ns() - t0
        t.join()
        bl.check(v == n, W, SYSTEM, f"final value {v}, want {n}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = main(a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
