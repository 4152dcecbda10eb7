"""W5 select, asyncio: 4 producers on their own asyncio.Queue(maxsize=1); one consumer.

asyncio has no select and no close. Each producer puts N/4 ints then a None
("closed"). Two stand-ins for the 4-way select:

  --mode fanin (default): one forwarder task per queue moves its values into
      one merged Queue(maxsize=1), which the consumer reads, counting the
      four "closed" markers (the idiomatic fan-in; every value takes two hops).
  --mode wait: the consumer keeps one pending q.get() task per open queue and
      calls asyncio.wait(..., return_when=FIRST_COMPLETED), re-arming the
      queue that delivered and dropping one that delivered "closed" (a select
      emulation; a new task per message).
"""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import benchlib as bl  # noqa: E402

W = "W5"
K = 4


async def producer(q: asyncio.Queue, lo: int, hi: int) -> None:
    for i in range(lo, hi):
        await q.put(i)
    await q.put(None)  # "close"


async def forward(q: asyncio.Queue, merged: asyncio.Queue) -> None:
    while (v := await q.get()) is not None:
        await merged.put(v)
    await merged.put(None)


async def consume_fanin(queues: list[asyncio.Queue]) -> tuple[int, int]:
    merged: asyncio.Queue = asyncio.Queue(maxsize=1)
    for q in queues:
        asyncio.create_task(forward(q, merged))
    live = K
    total = count = 0
    while live:
        v = await merged.get()
        if v is None:
            live -= 1
            continue
        total += v
        count += 1
    return total, count


async def consume_wait(queues: list[asyncio.Queue]) -> tuple[int, int]:
    pending = {asyncio.create_task(q.get()): q for q in queues}
    total = count = 0
    while pending:
        done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            q = pending.pop(t)
            v = t.result()
            if v is None:
                continue  # closed: drop its case
            total += v
            count += 1
            pending[asyncio.create_task(q.get())] = q
    return total, count


async def amain(system: str, mode: str, n: int, reps: int) -> float:
    q = n // K
    best = float("inf")
    for _ in range(reps):
        queues: list[asyncio.Queue] = [asyncio.Queue(maxsize=1) for _ in range(K)]
        t0 = bl.now_ns()
        tasks = [asyncio.create_task(producer(qu, k * q, (k + 1) * q)) for k, qu in enumerate(queues)]
        if mode == "wait":
            total, count = await consume_wait(queues)
        else:
            total, count = await consume_fanin(queues)
        dt = bl.now_ns() - t0
        await asyncio.gather(*tasks)
        bl.check(count == n and total == n * (n - 1) // 2, W, system, f"got {count} messages summing to {total}")
        best = min(best, dt)
    return best


def main(system: str = "asyncio", loop_factory=None) -> None:
    a = bl.parse(W, modes=("fanin", "wait"))
    if a.mode == "wait":
        system += "-wait"
    if a.n % K:
        bl.fail(W, system, f"N={a.n} is not a multiple of {K}")
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        best = runner.run(amain(system, a.mode, a.n, a.reps))
    bl.report(W, system, a.n, best / a.n)


if __name__ == "__main__":
    main()
