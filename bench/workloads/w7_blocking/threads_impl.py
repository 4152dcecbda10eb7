"""W7 blocking, threads: N=32 OS threads each call time.sleep(0.05); wall time for all (join)."""

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W7", "threads"
DELAY = 0.05


class State:
    __slots__ = ("count", "lock")

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()


def worker(st: State) -> None:
    time.sleep(DELAY)
    with st.lock:
        st.count += 1


def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        st = State()
        t0 = bl.now_ns()
        ts = [threading.Thread(target=worker, args=(st,), daemon=True) for _ in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        dt = bl.now_ns() - t0
        bl.check(st.count == n, W, SYSTEM, f"{st.count} calls finished, want {n}")
        bl.check(dt >= DELAY * 1e9, W, SYSTEM, f"all done after {dt / 1e6:.1f} ms, less than one call")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = main(a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / 1e6)
