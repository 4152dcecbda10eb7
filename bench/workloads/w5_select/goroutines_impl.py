"""W5 select, goroutines: 4 producers on their own gr.Chan(); one consumer's 4-way gr.select.

Each producer sends N/4 ints and closes its channel; the consumer selects on
the four receives until all four are closed, replacing a closed channel's
case with None (Go's "set it to nil" idiom). The case list is built once and
reused (operation objects are reusable).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

import goroutines as gr  # noqa: E402

W, SYSTEM = "W5", "goroutines"
K = 4


async def producer(ch: gr.Chan, lo: int, hi: int) -> None:
    for i in range(lo, hi):
        await ch.send(i)
    ch.close()


async def main(n: int, reps: int) -> float:
    q = n // K
    best = float("inf")
    for _ in range(reps):
        chans = [gr.Chan() for _ in range(K)]
        t0 = bl.now_ns()
        for k, ch in enumerate(chans):
            gr.go(producer, ch, k * q, (k + 1) * q)
        cases = [ch.recv_ok() for ch in chans]
        live = K
        total = count = 0
        while live:
            i, v, ok = await gr.select(*cases)
            if not ok:
                cases[i] = None
                live -= 1
                continue
            total += v
            count += 1
        dt = bl.now_ns() - t0
        bl.check(count == n and total == n * (n - 1) // 2, W, SYSTEM, f"got {count} messages summing to {total}")
        best = min(best, dt)
    return best


if __name__ == "__main__":
    a = bl.parse(W, gomaxprocs=True)
    if a.n % K:
        bl.fail(W, SYSTEM, f"N={a.n} is not a multiple of {K}")
    best = gr.run(main, a.n, a.reps, gomaxprocs=a.gomaxprocs)
    bl.report(W, SYSTEM, a.n, best / a.n)
