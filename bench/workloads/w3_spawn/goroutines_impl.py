"""W3 spawn, goroutines: start N goroutines, each adds 1 to a shared counter; join.

Join (default, ``--join counter``): gr has no WaitGroup yet, so each goroutine
adds 1 to the counter under a threading.Lock (goroutines run on several
threads when gomaxprocs > 1) and the one that brings it to N closes a
``done`` channel, which main receives on: a counter + one channel, what a
WaitGroup does. ``--join waitgroup`` uses gr.WaitGroup once it exists (the
program exits with the skip status until then).
"""

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

import goroutines as gr  # noqa: E402

W = "W3"


class State:
    __slots__ = ("count", "n", "lock", "done")

    def __init__(self, n: int) -> None:
        self.count = 0
        self.n = n
        self.lock = threading.Lock()
        self.done = gr.Chan()


async def worker(st: State) -> None:
    with st.lock:
        st.count += 1
        last = st.count == st.n
    if last:
        st.done.close()


async def worker_wg(st: State, wg) -> None:
    with st.lock:
        st.count += 1
    wg.done()


async def main(n: int, reps: int, join: str, system: str) -> float:
    best = float("inf")
    for _ in range(reps):
        st = State(n)
        t0 = bl.now_ns()
        if join == "waitgroup":
            wg = gr.WaitGroup()
            wg.add(n)
            for _ in range(n):
                gr.go(worker_wg, st, wg)
            await wg.wait()
        else:
            for _ in range(n):
                gr.go(worker, st)
            await st.done.recv()
        dt = bl.now_ns() - t0
        bl.check(st.count == n, W, system, f"counter is {st.count}, want {n}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W, gomaxprocs=True, modes=("counter", "waitgroup"))
    system = "goroutines" if a.mode == "counter" else "goroutines-wg"
    if a.mode == "waitgroup" and not hasattr(gr, "WaitGroup"):
        bl.skip(W, system, "goroutines has no WaitGroup yet")
    best = gr.run(main, a.n, a.reps, a.mode, system, gomaxprocs=a.gomaxprocs)
    bl.report(W, system, a.n, best / a.n)
