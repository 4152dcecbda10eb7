"""W4 idle-mem, asyncio: N tasks each parked in get() on its own asyncio.Queue(maxsize=1).

asyncio has no rendezvous channel or close: Queue(maxsize=1) is the closest,
and release is a None put into each queue. RSS (VmRSS) is read after
gc.collect() before the queues are made and again once every task is
parked; the difference / N is reported (task + queue + a list slot). The
tasks are joined with a counter + one event, as in W3. One measurement per
process.
"""

import asyncio
import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W = "W4"


class State:
    __slots__ = ("started", "exited", "n", "done")

    def __init__(self, n: int) -> None:
        self.started = self.exited = 0
        self.n = n
        self.done = asyncio.Event()


async def parked(q: asyncio.Queue, st: State) -> None:
    st.started += 1
    await q.get()
    st.exited += 1
    if st.exited == st.n:
        st.done.set()


async def amain(system: str, n: int) -> float:
    st = State(n)
    gc.collect()
    rss0 = bl.rss_bytes()
    queues = [asyncio.Queue(maxsize=1) for _ in range(n)]
    for q in queues:
        asyncio.create_task(parked(q, st))
    while st.started < n:
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.02)
    rss1 = bl.rss_bytes()
    alive = len(asyncio.all_tasks())
    bl.check(alive == n + 1, W, system, f"{alive} tasks alive while parked, want {n + 1}")
    for q in queues:
        q.put_nowait(None)
    await st.done.wait()
    bl.check(st.exited == n, W, system, f"{st.exited} tasks finished, want {n}")
    return (rss1 - rss0) / n


def main(system: str = "asyncio", loop_factory=None) -> None:
    a = bl.parse(W, reps=False)
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        per = runner.run(amain(system, a.n))
    bl.report(W, system, a.n, per)


if __name__ == "__main__":
    main()
