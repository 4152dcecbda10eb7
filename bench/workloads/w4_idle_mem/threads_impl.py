"""W4 idle-mem, threads: N OS threads each parked in get() on its own queue.Queue(maxsize=1).

Default N is 10,000, not 100,000: a process cannot have 100k threads here
(kernel.pid_max is 32768 and vm.max_map_count 65530 allows ~32k thread
stacks), and the machine is shared. The figure is per thread, so it is
comparable. Threads use the default stack size (only touched pages count
in RSS). Release: a None put into each queue; join: Thread.join().
One measurement per process.
"""

import gc
import queue
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W4", "threads"
DEFAULT_N, QUICK_N = 10_000, 1_000


class State:
    __slots__ = ("started", "exited", "lock")

    def __init__(self) -> None:
        self.started = self.exited = 0
        self.lock = threading.Lock()


def parked(q: queue.Queue, st: State) -> None:
    with st.lock:
        st.started += 1
    v = q.get()
    if v is not None:
        raise AssertionError(f"received {v!r} from a queue nobody puts into")
    with st.lock:
        st.exited += 1


def main(n: int) -> float:
    st = State()
    gc.collect()
    rss0 = bl.rss_bytes()
    queues = [queue.Queue(maxsize=1) for _ in range(n)]
    threads = [threading.Thread(target=parked, args=(q, st), daemon=True) for q in queues]
    for t in threads:
        t.start()
    while st.started < n:
        threading.Event().wait(0.001)
    threading.Event().wait(0.02)
    rss1 = bl.rss_bytes()
    alive = threading.active_count() - 1
    bl.check(alive == n, W, SYSTEM, f"{alive} threads alive while parked, want {n}")
    for q in queues:
        q.put_nowait(None)
    for t in threads:
        t.join()
    bl.check(st.exited == n, W, SYSTEM, f"{st.exited} threads finished, want {n}")
    return (rss1 - rss0) / n


if __name__ == "__main__":
    a = bl.parse(W, reps=False, default_n=DEFAULT_N, quick_n=QUICK_N)
    per = main(a.n)
    bl.report(W, SYSTEM, a.n, per)
