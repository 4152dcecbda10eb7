"""W7 blocking, trio: N=32 tasks each make one 50 ms blocking call; wall time for all.

  --mode plain (default): time.sleep(0.05) inside the task; it blocks trio's
      only thread, so the calls run one after another (~N x 50 ms).
  --mode to_thread: await trio.to_thread.run_sync(time.sleep, 0.05), trio's
      way to run a blocking call (default limiter: 40 threads).

Join: the nursery.
"""

import sys
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W = "W7"
DELAY = 0.05


class State:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


async def worker_plain(st: State) -> None:
    time.sleep(DELAY)
    st.count += 1


async def worker_to_thread(st: State) -> None:
    await trio.to_thread.run_sync(time.sleep, DELAY)
    st.count += 1


async def main(system: str, mode: str, n: int, reps: int) -> float:
    fn = worker_to_thread if mode == "to_thread" else worker_plain
    best = float("inf")
    for _ in range(reps):
        st = State()
        t0 = bl.now_ns()
        async with trio.open_nursery() as nursery:
            for _ in range(n):
                nursery.start_soon(fn, st)
        dt = bl.now_ns() - t0
        bl.check(st.count == n, W, system, f"{st.count} calls finished, want {n}")
        bl.check(dt >= DELAY * 1e9, W, system, f"all done after {dt / 1e6:.1f} ms, less than one call")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W, modes=("plain", "to_thread"))
    system = "trio" if a.mode == "plain" else f"trio-{a.mode}"
    best = trio.run(main, system, a.mode, a.n, a.reps)
    bl.report(W, system, a.n, best / 1e6)
