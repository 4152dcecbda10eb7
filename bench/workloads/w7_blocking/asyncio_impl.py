"""W7 blocking, asyncio: N=32 tasks each make one 50 ms blocking call; wall time for all.

  --mode plain (default): time.sleep(0.05) inside the task; it blocks the
      event loop, so the calls run one after another (~N x 50 ms).
  --mode to_thread: await asyncio.to_thread(time.sleep, 0.05), asyncio's way
      to run a blocking call (the default executor: min(32, CPUs + 4) threads).

Join: asyncio.gather.
"""

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W = "W7"
DELAY = 0.05


async def worker_plain() -> int:
    time.sleep(DELAY)
    return 1


async def worker_to_thread() -> int:
    await asyncio.to_thread(time.sleep, DELAY)
    return 1


async def amain(system: str, mode: str, n: int, reps: int) -> float:
    fn = worker_to_thread if mode == "to_thread" else worker_plain
    best = float("inf")
    for _ in range(reps):
        t0 = bl.now_ns()
        results = await asyncio.gather(*(fn() for _ in range(n)))
        dt = bl.now_ns() - t0
        bl.check(sum(results) == n, W, system, f"{sum(results)} calls finished, want {n}")
        bl.check(dt >= DELAY * 1e9, W, system, f"all done after {dt / 1e6:.1f} ms, less than one call")
        best = min(best, dt)
    return best


def main(system: str = "asyncio", loop_factory=None) -> None:
    a = bl.parse(W, modes=("plain", "to_thread"))
    if a.mode != "plain":
        system += f"-{a.mode}"
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        best = runner.run(amain(system, a.mode, a.n, a.reps))
    bl.report(W, system, a.n, best / 1e6)


if __name__ == "__main__":
    main()
