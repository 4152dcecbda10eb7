"""W4 idle-mem, trio: N tasks each parked in receive() on its own open_memory_channel(0).

RSS (VmRSS) is read after gc.collect() before the channels are made and
again once every task is parked; the difference / N is reported (task +
channel pair + a list slot). Release: close each send side; join: the
nursery. One measurement per process.
"""

import gc
import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W4", "trio"


class State:
    __slots__ = ("started", "exited")

    def __init__(self) -> None:
        self.started = self.exited = 0


async def parked(rx, st: State) -> None:
    st.started += 1
    try:
        v = await rx.receive()
    except trio.EndOfChannel:
        st.exited += 1
    else:
        raise AssertionError(f"received {v!r} from a channel nobody sends on")


async def main(n: int) -> float:
    st = State()
    gc.collect()
    rss0 = bl.rss_bytes()
    chans = [trio.open_memory_channel(0) for _ in range(n)]
    async with trio.open_nursery() as nursery:
        for _tx, rx in chans:
            nursery.start_soon(parked, rx, st)
        while st.started < n:
            await trio.sleep(0.001)
        await trio.sleep(0.02)
        rss1 = bl.rss_bytes()
        alive = len(nursery.child_tasks)
        bl.check(alive == n, W, SYSTEM, f"{alive} tasks alive while parked, want {n}")
        for tx, _rx in chans:
            tx.close()
    bl.check(st.exited == n, W, SYSTEM, f"{st.exited} tasks finished, want {n}")
    return (rss1 - rss0) / n


if __name__ == "__main__":
    a = bl.parse(W, reps=False)
    per = trio.run(main, a.n)
    bl.report(W, SYSTEM, a.n, per)
