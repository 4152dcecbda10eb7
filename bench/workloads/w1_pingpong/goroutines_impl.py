"""W1 pingpong, goroutines: two goroutines, two unbuffered gr.Chan (ping, pong)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

import goroutines as gr  # noqa: E402

W, SYSTEM = "W1", "goroutines"


async def ponger(ping: gr.Chan, pong: gr.Chan, n: int) -> None:
    for _ in range(n):
        v = await ping.recv()
        await pong.send(v + 1)


async def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        ping, pong = gr.Chan(), gr.Chan()
        t0 = bl.now_ns()
        gr.go(ponger, ping, pong, n)
        v = 0
        for _ in range(n):
            await ping.send(v)
            v = await pong.recv()
        dt = bl.now_ns() - t0
        bl.check(v == n, W, SYSTEM, f"final value {v}, want {n}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W, gomaxprocs=True)
    best = gr.run(main, a.n, a.reps, gomaxprocs=a.gomaxprocs)
    bl.report(W, SYSTEM, a.n, best / a.n)
