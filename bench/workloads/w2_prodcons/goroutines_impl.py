"""W2 prodcons, goroutines: producer -> gr.Chan(128) -> consumer; the producer closes."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

import goroutines as gr  # noqa: E402

W, SYSTEM = "W2", "goroutines"
CAP = 128


async def producer(ch: gr.Chan, n: int) -> None:
    for i in range(n):
        await ch.send(i)
    ch.close()


async def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        ch = gr.Chan(CAP)
        t0 = bl.now_ns()
        gr.go(producer, ch, n)
        total = count = 0
        async for v in ch:
            total += v
            count += 1
        dt = bl.now_ns() - t0
        bl.check(count == n and total == n * (n - 1) // 2, W, SYSTEM, f"got {count} items summing to {total}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W, gomaxprocs=True)
    best = gr.run(main, a.n, a.reps, gomaxprocs=a.gomaxprocs)
    bl.report(W, SYSTEM, a.n, best / a.n)
