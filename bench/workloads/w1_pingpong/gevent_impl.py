"""W1 pingpong, gevent: two greenlets, two gevent.queue.Channel() (a rendezvous).

gevent is not monkey-patched.
"""

import sys
from pathlib import Path

import gevent
from gevent.queue import Channel

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W1", "gevent"


def ponger(ping: Channel, pong: Channel, n: int) -> None:
    for _ in range(n):
        v = ping.get()
        pong.put(v + 1)


def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        ping, pong = Channel(), Channel()
        t0 = bl.now_ns()
        g = gevent.spawn(ponger, ping, pong, n)
        v = 0
        for _ in range(n):
            ping.put(v)
            v = pong.get()
        dt = bl.now_ns() - t0
        g.join()
        bl.check(v == n, W, SYSTEM, f"final value {v}, want {n}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = main(a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
