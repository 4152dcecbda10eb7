"""W9 parallel, runloom: 8 fibers share N chunks of pure-Python work; results to main over a channel.

The same program as goroutines_impl.py: chunk numbers in a runloom.Chan(N),
closed; 8 worker fibers receive until ``ok=False``, send each chunk's sum on
an unbuffered runloom.Chan to main. See w1_pingpong/runloom_impl.py for hubs.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W9", "runloom"
runloom = bl.import_runloom(W, SYSTEM)


def worker(jobs, out) -> None:
    while True:
        k, ok = jobs.recv()
        if not ok:
            return
        out.send(bl.w9_chunk(k))


def bench(n: int, reps: int, out: list[float]) -> None:
    want = bl.w9_expected(n)
    for _ in range(reps):
        jobs, res = runloom.Chan(n), runloom.Chan()
        t0 = bl.now_ns()
        for k in range(n):
            jobs.send(k)
        jobs.close()
        for _ in range(bl.W9_WORKERS):
            runloom.fiber(worker, jobs, res)
        total = 0
        for _ in range(n):
            v, _ok = res.recv()
            total += v
        dt = bl.now_ns() - t0
        bl.check(total == want, W, SYSTEM, f"sum {total}, want {want}")
        out.append(dt)


if __name__ == "__main__":
    a = bl.parse(W, gomaxprocs=True)
    times: list[float] = []
    runloom.run(bl.hubs(a, W), lambda: bench(a.n, a.reps, times))
    bl.check(len(times) == a.reps, W, SYSTEM, f"{len(times)} repetitions ran, want {a.reps}")
    bl.report(W, SYSTEM, a.n, min(times) / 1e6)
