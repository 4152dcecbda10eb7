"""W1 pingpong, trio: two tasks, two trio.open_memory_channel(0) (a rendezvous)."""

import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W, SYSTEM = "W1", "trio"


async def ponger(ping_rx, pong_tx, n: int) -> None:
    for _ in range(n):
        v = await ping_rx.receive()
        await pong_tx.send(v + 1)


async def main(n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        ping_tx, ping_rx = trio.open_memory_channel(0)
        pong_tx, pong_rx = trio.open_memory_channel(0)
        async with trio.open_nursery() as nursery:
            t0 = bl.now_ns()
            nursery.start_soon(ponger, ping_rx, pong_tx, n)
            v = 0
            for _ in range(n):
                await ping_tx.send(v)
                v = await pong_rx.receive()
            dt = bl.now_ns() - t0
        bl.check(v == n, W, SYSTEM, f"final value {v}, want {n}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W)
    best = trio.run(main, a.n, a.reps)
    bl.report(W, SYSTEM, a.n, best / a.n)
