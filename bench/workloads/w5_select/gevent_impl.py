"""W5 select, gevent: 4 producers on their own gevent.queue.Channel(); one consumer.

gevent has no select over channels and no close. Each producer puts N/4
ints then StopIteration ("closed"); one forwarder greenlet per channel moves
its values into one merged Channel() and then passes the "closed" marker on;
the consumer reads the merged channel until it has seen four markers (the
fan-in stand-in; every value takes two hops). gevent is not monkey-patched.
"""

import sys
from pathlib import Path

import gevent
from gevent.queue import Channel

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W5", "gevent"
K = 4


def producer(ch: Channel, lo: int, hi: int) -> None:
    for i in range(lo, hi):
        ch.put(i)
    ch.put(StopIteration)  # "close"


def forward(ch: Channel, merged: Channel) -> None:
    for v in ch:
        merged.put(v)
    merged.put(StopIteration)


def main(n: int, reps: int) -> float:
    q = n // K
    best = float("inf")
    for _ in range(reps):
        chans = [Channel() for _ in range(K)]
        merged = Channel()
        t0 = bl.now_ns()
        gs = [gevent.spawn(producer, ch, k * q, (k + 1) * q) for k, ch in enumerate(chans)]
        gs += [gevent.spawn(forward, ch, merged) for ch in chans]
        live = K
        total = count = 0
        while live:
            v = merged.get()
            if v is StopIteration:
                live -= 1
                continue
            total += v
            count += 1
        dt = bl.now_ns() - t0
        gevent.joinall(gs)
        bl.check(count == n and total == n * (n - 1) // 2, W, SYSTEM, f"got {count} messages summing to {total}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    if a.n % K:
        bl.fail(W, SYSTEM, f"N={a.n} is not a multiple of {K}")
    best = main(a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
