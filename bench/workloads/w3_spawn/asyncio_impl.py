"""W3 spawn, asyncio: create N tasks, each adds 1 to a shared counter; join.

Join: the task that brings the counter to N sets an asyncio.Event that main
waits on (a counter + one event, what a WaitGroup does; one thread, so the
counter needs no lock).
"""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W = "W3"


class State:
    __slots__ = ("count", "n", "done")

    def __init__(self, n: int) -> None:
        self.count = 0
        self.n = n
        self.done = asyncio.Event()


async def worker(st: State) -> None:
    st.count += 1
    if st.count == st.n:
        st.done.set()


async def amain(system: str, n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        st = State(n)
        t0 = bl.now_ns()
        for _ in range(n):
            asyncio.create_task(worker(st))
        await st.done.wait()
        dt = bl.now_ns() - t0
        bl.check(st.count == n, W, system, f"counter is {st.count}, want {n}")
        best = min(best, dt)
    return best


def main(system: str = "asyncio", loop_factory=None) -> None:
    a = bl.parse(W)
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        best = runner.run(amain(system, a.n, a.reps))
    bl.report(W, system, a.n, best / a.n)


if __name__ == "__main__":
    main()
