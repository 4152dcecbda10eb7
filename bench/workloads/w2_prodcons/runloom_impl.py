"""W2 prodcons, runloom: a producer fiber sends N ints on runloom.Chan(128) and closes it; main sums.

See w1_pingpong/runloom_impl.py for what runloom is and how hubs are set.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W2", "runloom"
CAP = 128
runloom = bl.import_runloom(W, SYSTEM)


def producer(ch, n: int) -> None:
    for i in range(n):
        ch.send(i)
    ch.close()


def bench(n: int, reps: int, out: list[float]) -> None:
    for _ in range(reps):
        ch = runloom.Chan(CAP)
        t0 = bl.now_ns()
        runloom.fiber(producer, ch, n)
        total = count = 0
        while True:
            v, ok = ch.recv()
            if not ok:
                break
            total += v
            count += 1
        dt = bl.now_ns() - t0
        bl.check(count == n and total == n * (n - 1) // 2, W, SYSTEM, f"got {count} items summing to {total}")
        out.append(dt)


if __name__ == "__main__":
    a = bl.parse(W, gomaxprocs=True)
    times: list[float] = []
    runloom.run(bl.hubs(a, W), lambda: bench(a.n, a.reps, times))
    bl.check(len(times) == a.reps, W, SYSTEM, f"{len(times)} repetitions ran, want {a.reps}")
    bl.report(W, SYSTEM, a.n, min(times) / a.n)
