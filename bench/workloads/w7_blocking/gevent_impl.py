"""W7 blocking, gevent: N=32 greenlets each make one 50 ms blocking call; wall time for all.

gevent is not monkey-patched, so time.sleep is the real, blocking one.
  --mode plain (default): time.sleep(0.05) inside the greenlet; it blocks
      the hub's only thread, so the calls run one after another (~N x 50 ms).
  --mode threadpool: gevent.get_hub().threadpool.apply(time.sleep, (0.05,)),
      gevent's way to run a blocking call (default pool size: 10 threads).

Join: gevent.joinall.
"""

import sys
import time
from pathlib import Path

import gevent

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W = "W7"
DELAY = 0.05


def worker_plain() -> int:
    time.sleep(DELAY)
    return 1


def worker_threadpool() -> int:
    gevent.get_hub().threadpool.apply(time.sleep, (DELAY,))
    return 1


def main(system: str, mode: str, n: int, reps: int) -> float:
    fn = worker_threadpool if mode == "threadpool" else worker_plain
    best = float("inf")
    for _ in range(reps):
        t0 = bl.now_ns()
        gs = [gevent.spawn(fn) for _ in range(n)]
        gevent.joinall(gs, raise_error=True)
        dt = bl.now_ns() - t0
        done = sum(g.value for g in gs)
        bl.check(done == n, W, system, f"{done} calls finished, want {n}")
        bl.check(dt >= DELAY * 1e9, W, system, f"all done after {dt / 1e6:.1f} ms, less than one call")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W, modes=("plain", "threadpool"))
    system = "gevent" if a.mode == "plain" else f"gevent-{a.mode}"
    best = main(system, a.mode, a.n, a.reps)
    bl.report(W, system, a.n, best / 1e6)
