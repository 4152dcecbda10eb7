"""W4 idle-mem, gevent: N greenlets each parked in get() on its own gevent.queue.Channel().

Channel has no close: release is a StopIteration put into each channel.
RSS (VmRSS) is read after gc.collect() before the channels are made and
again once every greenlet is parked; the difference / N is reported
(greenlet + channel + a list slot). Join: a counter + one event, as in W3.
One measurement per process. gevent is not monkey-patched.
"""

import gc
import sys
from pathlib import Path

import gevent
from gevent.event import Event
from gevent.queue import Channel

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W4", "gevent"


class State:
    __slots__ = ("started", "exited", "n", "done")

    def __init__(self, n: int) -> None:
        self.started = self.exited = 0
        self.n = n
        self.done = Event()


def parked(ch: Channel, st: State) -> None:
    st.started += 1
    v = ch.get()
    if v is not StopIteration:
        raise AssertionError(f"received {v!r} from a channel nobody sends on")
    st.exited += 1
    if st.exited == st.n:
        st.done.set()


def main(n: int) -> float:
    st = State(n)
    gc.collect()
    rss0 = bl.rss_bytes()
    chans = [Channel() for _ in range(n)]
    greenlets = [gevent.spawn(parked, ch, st) for ch in chans]
    while st.started < n:
        gevent.sleep(0.001)
    gevent.sleep(0.02)
    rss1 = bl.rss_bytes()
    alive = sum(1 for g in greenlets if not g.dead)
    bl.check(alive == n, W, SYSTEM, f"{alive} greenlets alive while parked, want {n}")
    for ch in chans:
        ch.put(StopIteration)
    st.done.wait()
    bl.check(st.exited == n, W, SYSTEM, f"{st.exited} greenlets finished, want {n}")
    return (rss1 - rss0) / n


if __name__ == "__main__":
    a = bl.parse(W, reps=False)
    per = main(a.n)
    bl.report(W, SYSTEM, a.n, per)
