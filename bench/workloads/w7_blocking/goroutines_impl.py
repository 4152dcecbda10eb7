"""W7 blocking, goroutines: N=32 goroutines each make one 50 ms blocking call; wall time for all.

  --mode sleep (default): a plain, unannotated time.sleep(0.05) inside the
      goroutine; the runtime has to notice the blocked thread by itself.
  --mode syscall: await gr.syscall(time.sleep, 0.05), the annotated form.
  --mode socket: a plain blocking sock.recv(1) on the goroutine's own
      socket pair; a plain thread (not a goroutine) writes one byte to every
      pair 50 ms after the clock starts.

Join: counter + one channel, as in W3.
"""

import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

import goroutines as gr  # noqa: E402

W = "W7"
DELAY = 0.05


class State:
    __slots__ = ("count", "n", "lock", "done")

    def __init__(self, n: int) -> None:
        self.count = 0
        self.n = n
        self.lock = threading.Lock()
        self.done = gr.Chan()

    def finish(self) -> None:
        with self.lock:
            self.count += 1
            last = self.count == self.n
        if last:
            self.done.close()


async def worker_sleep(st: State) -> None:
    time.sleep(DELAY)
    st.finish()


async def worker_syscall(st: State) -> None:
    await gr.syscall(time.sleep, DELAY)
    st.finish()


async def worker_socket(st: State, sock: socket.socket) -> None:
    data = sock.recv(1)
    if data != b"x":
        raise AssertionError(f"recv returned {data!r}")
    st.finish()


def writer(socks: list[socket.socket]) -> None:
    time.sleep(DELAY)
    for s in socks:
        s.sendall(b"x")


async def main(n: int, reps: int, mode: str, system: str) -> float:
    best = float("inf")
    for _ in range(reps):
        st = State(n)
        pairs = [socket.socketpair() for _ in range(n)] if mode == "socket" else []
        t0 = bl.now_ns()
        if mode == "socket":
            threading.Thread(target=writer, args=([b for _a, b in pairs],), daemon=True).start()
            for a, _b in pairs:
                gr.go(worker_socket, st, a)
        else:
            fn = worker_syscall if mode == "syscall" else worker_sleep
            for _ in range(n):
                gr.go(fn, st)
        await st.done.recv()
        dt = bl.now_ns() - t0
        for a, b in pairs:
            a.close()
            b.close()
        bl.check(st.count == n, W, system, f"{st.count} calls finished, want {n}")
        bl.check(dt >= DELAY * 1e9, W, system, f"all done after {dt / 1e6:.1f} ms, less than one call")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W, gomaxprocs=True, modes=("sleep", "syscall", "socket"))
    system = "goroutines" if a.mode == "sleep" else f"goroutines-{a.mode}"
    best = gr.run(main, a.n, a.reps, a.mode, system, gomaxprocs=a.gomaxprocs)
    bl.report(W, system, a.n, best / 1e6)
