"""Stress: plain threads hammer the runtime's thread-safe entry points while
goroutines churn (both builds; on a free-threaded one the threads really run
in parallel, so this is where races between them show first).

Three foreign threads, for the whole run:
  * dump() and goroutines(), checking every snapshot is well formed, and
    the scheduler's invariants (check_invariants, under Sched.lock);
  * gomaxprocs(n), cycling through 1, 2, 4, 8 (and dump() between);
  * close() of channels goroutines are receiving from (plain and in select).
Meanwhile goroutines ping-pong, spawn short-lived goroutines (G records are
reused), count under a Mutex and sleep on timers. Every result is checked
exactly: nothing lost, nothing doubled, no exception on any thread.
"""

from __future__ import annotations

import queue
import re
import threading
from typing import Any

import pytest

import goroutines as gr
from goroutines._core import current_sched
from goroutines._core._invariants import check_invariants

pytestmark = [
    pytest.mark.usefixtures("no_leaked_runtime_threads"),
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]

HEADER = re.compile(r"^goroutine \d+ \[[^\]]+\]:$")
STATES = ("runnable", "running", "waiting", "syscall")


def check_dump(text: str) -> None:
    if not text:
        return
    assert text.endswith("\n"), repr(text[-40:])
    for block in text.rstrip("\n").split("\n\n"):
        lines = block.split("\n")
        assert HEADER.match(lines[0]), block
        body = lines[1:]
        assert len(body) % 2 == 0, block
        for name, where in zip(body[::2], body[1::2], strict=True):
            assert name.endswith("(...)") or name.startswith("created by "), block
            assert where.startswith("\t"), block


@pytest.mark.timeout(120)
@pytest.mark.parametrize("procs", [1, 4])
def test_foreign_threads_hammer_dump_close_and_gomaxprocs_while_goroutines_churn(procs: int) -> None:
    pairs, rounds = 4, 1500
    spawns, victims, workers, incs = 400, 60, 4, 300
    errors: list[BaseException] = []
    counts = {"dumps": 0, "snapshots": 0, "resizes": 0, "closes": 0, "invariants": 0}
    stop = threading.Event()
    to_close: queue.Queue[gr.Chan[Any] | None] = queue.Queue()

    def guarded(fn: Any) -> Any:
        def run() -> None:
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - reported by the test
                errors.append(e)
                stop.set()

        return run

    @guarded
    def dumper() -> None:
        while not stop.is_set():
            check_dump(gr.dump())
            counts["dumps"] += 1
            sched = current_sched()
            if sched is not None and not sched.stopping:
                check_invariants(sched)
                counts["invariants"] += 1
            for g in gr.goroutines():
                assert g.state in STATES and isinstance(g.stack, str), g
            counts["snapshots"] += 1

    @guarded
    def resizer() -> None:
        i = 0
        while not stop.is_set():
            n = (1, 2, 4, 8)[i % 4]
            gr.gomaxprocs(n)
            assert gr.gomaxprocs() == n
            i += 1
            counts["resizes"] += 1
            check_dump(gr.dump())  # paces the resizes, and a second dumper

    closed_all = threading.Event()

    @guarded
    def closer() -> None:
        while (ch := to_close.get()) is not None:
            ch.close()
            counts["closes"] += 1
            if counts["closes"] == victims:
                closed_all.set()

    async def watch_closer() -> None:
        # The runtime cannot know the closer thread will close the victims'
        # channels: a goroutine blocked on its progress says so (a goroutine
        # in a blocking call may still make others runnable: no deadlock).
        await gr.syscall(closed_all.wait, 60)

    async def pinger(a: gr.Chan[int], b: gr.Chan[int], done: gr.Chan[int]) -> None:
        total = 0
        for i in range(rounds):
            await a.send(i)
            total += await b.recv()
        a.close()
        await done.send(total)

    async def ponger(a: gr.Chan[int], b: gr.Chan[int]) -> None:
        async for v in a:
            await b.send(v + 1)

    async def short(out: gr.Chan[int], i: int) -> None:
        await out.send(i)

    async def spawner(done: gr.Chan[int]) -> None:
        out: gr.Chan[int] = gr.Chan(8)
        total = 0
        for i in range(spawns):
            gr.go(short, out, i)
            if i % 8 == 7:
                for _ in range(8):
                    total += await out.recv()
        await done.send(total)

    async def plain_victim(ch: gr.Chan[int], res: gr.Chan[bool]) -> None:
        _, ok = await ch.recv_ok()
        await res.send(ok)

    async def select_victim(ch: gr.Chan[int], never: gr.Chan[int], res: gr.Chan[bool]) -> None:
        i, _, ok = await gr.select(never.recv(), ch.recv())
        await res.send(i == 1 and ok)

    async def counter(mu: gr.Mutex, box: list[int], done: gr.Chan[int]) -> None:
        for k in range(incs):
            async with mu:
                v = box[0]
                if k % 50 == 0:
                    await gr.sleep(0.0001)  # a timer while holding the lock
                box[0] = v + 1
        await done.send(0)

    async def main() -> None:
        threads = [threading.Thread(target=f) for f in (dumper, resizer, closer)]
        for t in threads:
            t.start()
        try:
            done: gr.Chan[int] = gr.Chan()
            for _ in range(pairs):
                a: gr.Chan[int] = gr.Chan()
                b: gr.Chan[int] = gr.Chan()
                gr.go(ponger, a, b)
                gr.go(pinger, a, b, done)
            gr.go(spawner, done)
            mu = gr.Mutex()
            box = [0]
            for _ in range(workers):
                gr.go(counter, mu, box, done)
            res: gr.Chan[bool] = gr.Chan()
            never: gr.Chan[int] = gr.Chan()
            gr.go(watch_closer)
            oks = []
            for _ in range(victims):  # one pair at a time: few goroutines idle
                ch: gr.Chan[int] = gr.Chan()
                gr.go(plain_victim, ch, res)
                gr.go(select_victim, ch, never, res)
                to_close.put(ch)
                oks += [await res.recv(), await res.recv()]
            totals = sorted([await done.recv() for _ in range(pairs + 1 + workers)])
        finally:
            to_close.put(None)
            stop.set()
            closed_all.set()
            for t in threads:
                await gr.syscall(t.join, 30)
        assert not errors, errors[0]
        assert oks == [False] * (2 * victims), "a receiver saw a value on a channel that was only closed"
        assert totals == sorted([0] * workers + [sum(range(spawns))] + [sum(range(1, rounds + 1))] * pairs)
        assert box[0] == workers * incs
        assert counts["dumps"] > 0 and counts["snapshots"] > 0 and counts["invariants"] > 0
        assert counts["closes"] == victims

    gr.run(main, gomaxprocs=procs)
