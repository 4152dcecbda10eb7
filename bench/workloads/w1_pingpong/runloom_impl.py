"""W1 pingpong, runloom: two fibers, two unbuffered runloom.Chan (ping, pong).

runloom (PyPI ``runloom``) is stackful coroutines with a C M:N scheduler for
free-threaded CPython; ``--gomaxprocs N`` (or $GOMAXPROCS) is its hub count,
``runloom.run(N, main)``. A fiber blocks in a plain call (``ch.recv()``
returns ``(value, ok)``), no ``await``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W1", "runloom"
runloom = bl.import_runloom(W, SYSTEM)


def ponger(ping, pong, n: int) -> None:
    for _ in range(n):
        v, _ok = ping.recv()
        pong.send(v + 1)


def bench(n: int, reps: int, out: list[float]) -> None:
    for _ in range(reps):
        ping, pong = runloom.Chan(), runloom.Chan()
        t0 = bl.now_ns()
        runloom.fiber(ponger, ping, pong, n)
        v = 0
        for _ in range(n):
            ping.send(v)
            v, _ok = pong.recv()
        dt = bl.now_ns() - t0
        bl.check(v == n, W, SYSTEM, f"final value {v}, want {n}")
        out.append(dt)


if __name__ == "__main__":
    a = bl.parse(W, gomaxprocs=True)
    times: list[float] = []
    runloom.run(bl.hubs(a, W), lambda: bench(a.n, a.reps, times))
    bl.check(len(times) == a.reps, W, SYSTEM, f"{len(times)} repetitions ran, want {a.reps}")
    bl.report(W, SYSTEM, a.n, min(times) / a.n)
