"""W3 spawn, gevent: spawn N greenlets, each adds 1 to a shared counter; join.

Join: the greenlet that brings the counter to N sets a gevent.event.Event
that the main greenlet waits on (a counter + one event, what a WaitGroup
does). gevent is not monkey-patched.
"""

import sys
from pathlib import Path

import gevent
from gevent.event import Event

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W3", "gevent"


class State:
    __slots__ = ("count", "n", "done")

    def __init__(self, n: int) -> None:
        self.count = 0
        self.n = n
        self.done = Event()


def worker(st: State) -> None:
    st.count += 1
    if st.count == st.n:
        st.done.set()


def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        st = State(n)
        t0 = bl.now_ns()
        for _ in range(n):
            gevent.spawn(worker, st)
        st.done.wait()
        dt = bl.now_ns() - t0
        bl.check(st.count == n, W, SYSTEM, f"counter is {st.count}, want {n}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = main(a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
