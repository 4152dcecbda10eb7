"""W3 spawn, threads: start N OS threads, each adds 1 to a shared counter; join.

Join: each thread adds 1 under a threading.Lock and the one that brings the
counter to N sets a threading.Event that main waits on (a counter + one
event, what a WaitGroup does).
"""

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W3", "threads"


class State:
    __slots__ = ("count", "n", "lock", "done")

    def __init__(self, n: int) -> None:
        self.count = 0
        self.n = n
        self.lock = threading.Lock()
        self.done = threading.Event()


def worker(st: State) -> None:
    with st.lock:
        st.count += 1
        last = st.count == st.n
    if last:
        st.done.set()


def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        st = State(n)
        t0 = bl.now_ns()
        for _ in range(n):
            threading.Thread(target=worker, args=(st,), daemon=True).start()
        st.done.wait()
        dt = bl.now_ns() - t0
        bl.check(st.count == n, W, SYSTEM, f"counter is {st.count}, want {n}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = main(a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
