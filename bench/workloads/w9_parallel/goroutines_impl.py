"""W9 parallel, goroutines: 8 goroutines share N chunks of pure-Python work.

main puts the chunk numbers 0..N-1 in a buffered gr.Chan(N) and closes it;
8 workers range over it, compute each chunk (``benchlib.w9_chunk``: a sum of
40,000 ``i*i % 7``) and send the result on an unbuffered gr.Chan to main,
which sums exactly N results. Only the work runs in parallel: at
GOMAXPROCS=P on a free-threaded build the ideal is P times faster than at 1;
under the GIL it cannot be faster than 1.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

import goroutines as gr  # noqa: E402

W, SYSTEM = "W9", "goroutines"


async def worker(jobs: gr.Chan, out: gr.Chan) -> None:
    async for k in jobs:
        await out.send(bl.w9_chunk(k))


async def main(n: int, reps: int) -> float:
    want = bl.w9_expected(n)
    best = float("inf")
    for _ in range(reps):
        jobs, out = gr.Chan(n), gr.Chan()
        t0 = bl.now_ns()
        for k in range(n):
            await jobs.send(k)
        jobs.close()
        for _ in range(bl.W9_WORKERS):
            gr.go(worker, jobs, out)
        total = 0
        for _ in range(n):
            total += await out.recv()
        dt = bl.now_ns() - t0
        bl.check(total == want, W, SYSTEM, f"sum {total}, want {want}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W, gomaxprocs=True)
    best = gr.run(main, a.n, a.reps, gomaxprocs=a.gomaxprocs)
    bl.report(W, SYSTEM, a.n, best / 1e6)
