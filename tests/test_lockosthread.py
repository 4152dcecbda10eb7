"""lock_os_thread / unlock_os_thread: Go's runtime.LockOSThread (issue 15, item 2).

A goroutine wired to its thread runs only on that thread, across parks,
timers, select, I/O waits, system calls and the monitor's retakes of its P
during a plain blocking call; no other goroutine runs on that thread
meanwhile; the others keep running on other threads. Nesting is counted;
a goroutine that ends wired takes its thread with it.

``time.sleep`` inside goroutines is the unannotated blocking call under test
(it makes sysmon retake the P), never synchronisation.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time

import pytest

import goroutines as gr

pytestmark = [pytest.mark.usefixtures("no_leaked_runtime_threads"), pytest.mark.timeout(60)]

ROUNDS = 20


async def ping_pong(n: int) -> set[int]:
    """``n`` round trips between two goroutines; the threads they ran on."""
    ping, pong, done = gr.Chan[int](), gr.Chan[int](), gr.Chan[None]()
    seen: set[int] = set()

    async def pinger() -> None:
        for i in range(n):
            seen.add(threading.get_ident())
            await ping.send(i)
            assert await pong.recv() == i
        await done.send(None)

    async def ponger() -> None:
        for _ in range(n):
            seen.add(threading.get_ident())
            await pong.send(await ping.recv())

    gr.go(ponger)
    gr.go(pinger)
    await done.recv()
    return seen


@pytest.mark.parametrize("procs", [1, 2])
def test_sqlite_connection_stays_usable_across_parks_and_retakes(procs: int) -> None:
    # Before lock_os_thread, the first park after a retake moved the
    # goroutine and sqlite3 raised "SQLite objects created in a thread can
    # only be used in that same thread".
    async def db_worker(out: gr.Chan[tuple[set[int], int]], tick: gr.Chan[int]) -> None:
        gr.lock_os_thread()
        idents = {threading.get_ident()}
        await tick.send(-1)  # wired: from now on nobody else runs here
        db = sqlite3.connect(":memory:")
        db.execute("create table t (x)")
        for i in range(ROUNDS):
            db.execute("insert into t values (?)", (i,))
            await gr.sleep(0.0005)  # a timer wakes it
            idents.add(threading.get_ident())
            await tick.send(i)  # a channel wakes it (the main goroutine receives)
            idents.add(threading.get_ident())
            time.sleep(0.003)  # blocking: sysmon retakes the P, the G stays on its M
            idents.add(threading.get_ident())
        (n,) = db.execute("select count(*) from t").fetchone()
        db.close()
        await out.send((idents, n))

    async def main() -> tuple[set[int], int, set[int], set[int]]:
        out, tick = gr.Chan[tuple[set[int], int]](1), gr.Chan[int]()
        pair_threads = gr.Chan[set[int]](1)

        async def pair() -> None:
            await pair_threads.send(await ping_pong(300))

        gr.go(db_worker, out, tick)
        assert await tick.recv() == -1
        gr.go(pair)
        mine = set()
        for _ in range(ROUNDS):
            await tick.recv()
            mine.add(threading.get_ident())
        idents, n = await out.recv()
        return idents, n, await pair_threads.recv(), mine

    idents, n, pair, mine = gr.run(main, gomaxprocs=procs)
    assert n == ROUNDS
    assert len(idents) == 1, f"the wired goroutine ran on {len(idents)} threads"
    assert not idents & pair, "another goroutine ran on the wired thread"
    assert not idents & mine, "the main goroutine ran on the wired thread"


@pytest.mark.parametrize("procs", [1, 2])
def test_other_goroutines_run_while_the_wired_one_blocks(procs: int) -> None:
    async def blocker(started: gr.Chan[None], ended: gr.Chan[float]) -> None:
        gr.lock_os_thread()
        await started.send(None)
        time.sleep(0.5)  # blocking
        await ended.send(time.monotonic())

    async def main() -> tuple[float, float]:
        started, ended = gr.Chan[None](1), gr.Chan[float](1)
        gr.go(blocker, started, ended)
        await started.recv()
        await ping_pong(200)
        t_pair = time.monotonic()
        return t_pair, await ended.recv()

    t_pair, t_end = gr.run(main, gomaxprocs=procs)
    assert t_pair < t_end, "the pair was stalled until the wired goroutine's call returned"


@pytest.mark.parametrize("procs", [1, 2])
def test_wired_goroutine_keeps_its_thread_through_select_syscall_gosched_and_io(procs: int) -> None:
    async def wired(out: gr.Chan[set[int]], a: gr.Chan[int], b: gr.Chan[int]) -> None:
        gr.lock_os_thread()
        seen = {threading.get_ident()}
        r, w = socket.socketpair()
        r.setblocking(False)
        try:
            for _ in range(10):
                await gr.select(a.recv(), b.recv())
                seen.add(threading.get_ident())
                await gr.syscall(time.sleep, 0.001)
                seen.add(threading.get_ident())
                await gr.gosched()
                seen.add(threading.get_ident())
                gr.go(w.send, b"x")  # readiness arrives through the netpoller
                await gr.wait_readable(r)
                assert r.recv(1) == b"x"
                seen.add(threading.get_ident())
        finally:
            r.close()
            w.close()
        await out.send(seen)

    async def feeder(a: gr.Chan[int], b: gr.Chan[int]) -> None:
        for i in range(10):
            await (a if i % 2 else b).send(i)

    async def main() -> set[int]:
        out, a, b = gr.Chan[set[int]](1), gr.Chan[int](), gr.Chan[int]()
        gr.go(wired, out, a, b)
        gr.go(feeder, a, b)
        return await out.recv()

    assert len(gr.run(main, gomaxprocs=procs)) == 1


def test_main_goroutine_can_wire_itself() -> None:
    async def main() -> tuple[set[int], set[int]]:
        gr.lock_os_thread()
        me = threading.get_ident()
        seen = {me}
        others: set[int] = set()
        for _ in range(5):
            others |= await ping_pong(50)
            await gr.sleep(0.001)
            seen.add(threading.get_ident())
        gr.unlock_os_thread()
        return seen, others

    seen, others = gr.run(main, gomaxprocs=1)
    assert len(seen) == 1 and not seen & others


def test_nesting_is_counted_and_extra_unlocks_do_nothing() -> None:
    async def worker(out: gr.Chan[tuple[set[int], set[int]]]) -> None:
        gr.unlock_os_thread()  # nothing to undo: a no-op, as in Go
        gr.lock_os_thread()
        gr.lock_os_thread()
        gr.unlock_os_thread()  # still wired: one level left
        me = {threading.get_ident()}
        others: set[int] = set()
        for _ in range(5):
            others |= await ping_pong(50)
            me.add(threading.get_ident())
        gr.unlock_os_thread()
        gr.unlock_os_thread()  # below zero: ignored
        await out.send((me, others))

    async def main() -> tuple[set[int], set[int]]:
        out = gr.Chan[tuple[set[int], set[int]]](1)
        gr.go(worker, out)
        return await out.recv()

    me, others = gr.run(main, gomaxprocs=1)
    assert len(me) == 1 and not me & others


@pytest.mark.parametrize("balanced", [True, False])
def test_a_goroutine_that_exits_wired_takes_its_thread_with_it(balanced: bool) -> None:
    async def worker(out: gr.Chan[threading.Thread]) -> None:
        gr.lock_os_thread()
        gr.lock_os_thread()
        gr.unlock_os_thread()
        if balanced:
            gr.unlock_os_thread()
        await out.send(threading.current_thread())

    async def main() -> bool:
        out = gr.Chan[threading.Thread](1)
        gr.go(worker, out)
        t = await out.recv()
        # An exiting wired M ends its thread (join returns); an unwired one
        # stays in the pool for as long as the run lasts (and may be ours).
        if not balanced:
            await gr.syscall(t.join, 5)
        alive = t.is_alive()
        await ping_pong(100)  # the runtime goes on
        return alive

    assert gr.run(main, gomaxprocs=1) is balanced


def test_deadlock_with_a_wired_goroutine_is_reported_not_hung() -> None:
    async def stuck(ch: gr.Chan[int]) -> None:
        gr.lock_os_thread()
        await ch.recv()

    async def main() -> None:
        gr.go(stuck, gr.Chan[int]())
        gr.lock_os_thread()
        await gr.Chan[int]().recv()

    with pytest.raises(gr.Deadlock, match="all goroutines are asleep"):
        gr.run(main, gomaxprocs=1)


def test_deadlock_after_a_wired_goroutine_exits_is_reported() -> None:
    # The wired M exits with its goroutine; it may be the last M running, so
    # it checks for deadlock on the way out.
    async def leaver(started: gr.Chan[None]) -> None:
        gr.lock_os_thread()
        await started.send(None)

    async def main() -> None:
        started = gr.Chan[None]()
        gr.go(leaver, started)
        await started.recv()
        await gr.Chan[int]().recv()

    with pytest.raises(gr.Deadlock):
        gr.run(main, gomaxprocs=1)


def test_outside_a_goroutine_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match=r"lock_os_thread\(\) must be called inside a goroutine"):
        gr.lock_os_thread()
    with pytest.raises(RuntimeError, match=r"unlock_os_thread\(\) must be called inside a goroutine"):
        gr.unlock_os_thread()


def test_plain_function_goroutine_can_wire_itself() -> None:
    def plain(out: gr.Chan[int]) -> int:
        gr.lock_os_thread()
        out.close()
        return threading.get_ident()

    async def main() -> None:
        out = gr.Chan[int]()
        gr.go(plain, out)
        await out.recv()

    gr.run(main, gomaxprocs=1)
