"""W4 idle-mem, goroutines: N goroutines each parked receiving on its own gr.Chan().

RSS (VmRSS) is read after gc.collect() before the channels are made and
again once every goroutine is parked; the difference / N is reported, so
the figure covers the goroutine, its channel and a list slot. Then the
channels are closed and the goroutines joined (counter + one channel, as
in W3). One measurement per process (a second one in the same process would
reuse the memory the first freed). ``--n 1000000`` is the 1M variant.
"""

import gc
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

import goroutines as gr  # noqa: E402

W, SYSTEM = "W4", "goroutines"


class State:
    __slots__ = ("started", "exited", "n", "lock", "done")

    def __init__(self, n: int) -> None:
        self.started = self.exited = 0
        self.n = n
        self.lock = threading.Lock()
        self.done = gr.Chan()


async def parked(ch: gr.Chan, st: State) -> None:
    with st.lock:
        st.started += 1
    v, ok = await ch.recv_ok()
    if ok:
        raise AssertionError(f"received {v!r} from a channel nobody sends on")
    with st.lock:
        st.exited += 1
        last = st.exited == st.n
    if last:
        st.done.close()


async def main(n: int) -> float:
    st = State(n)
    gc.collect()
    rss0 = bl.rss_bytes()
    chans = [gr.Chan() for _ in range(n)]
    for ch in chans:
        gr.go(parked, ch, st)
    while st.started < n:
        await gr.sleep(0.001)
    await gr.sleep(0.02)  # let the last ones reach their receive
    rss1 = bl.rss_bytes()
    alive = gr.num_goroutine()
    bl.check(alive == n + 1, W, SYSTEM, f"{alive} goroutines alive while parked, want {n + 1}")
    for ch in chans:
        ch.close()
    await st.done.recv()
    bl.check(st.exited == n, W, SYSTEM, f"{st.exited} goroutines finished, want {n}")
    return (rss1 - rss0) / n


if __name__ == "__main__":
    a = bl.parse(W, gomaxprocs=True, reps=False)
    per = gr.run(main, a.n, gomaxprocs=a.gomaxprocs)
    bl.report(W, SYSTEM, a.n, per)
