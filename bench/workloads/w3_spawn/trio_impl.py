"""W3 spawn, trio: start N tasks in a nursery, each adds 1 to a shared counter; join.

Join: the nursery's exit (trio's only way to run a task, and its join).
"""

import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W3", "trio"


class State:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


async def worker(st: State) -> None:
    st.count += 1


async def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        st = State()
        t0 = bl.now_ns()
        async with trio.open_nursery() as nursery:
            for _ in range(n):
                nursery.start_soon(worker, st)
        dt = bl.now_ns() - t0
        bl.check(st.count == n, W, SYSTEM, f"counter is {st.count}, want {n}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = trio.run(main, a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
