"""The thread boundary: send_blocking, recv_blocking, select_blocking.

Plain threads share the channels' wait queues with goroutines (FIFO
together), see close, time out without sending or taking anything, and
keep the runtime from declaring a false deadlock (the rule in
src/goroutines/_core/_plain.py).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import goroutines as gr
from goroutines._chan import _waiters


def queued(q: Any) -> int:
    return len(_waiters(q))


def start(fn: Any, *args: Any) -> threading.Thread:
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


# ------------------------------------------------------------------ basics


@pytest.mark.parametrize("cap", [0, 1, 8])
def test_thread_to_goroutine_and_back(cap: int) -> None:
    async def main() -> list[Any]:
        to_g: gr.Chan[int] = gr.Chan(cap)
        to_t: gr.Chan[int] = gr.Chan(cap)

        def thread() -> None:
            for i in range(100):
                to_g.send_blocking(i)
                v, ok = to_t.recv_blocking()
                assert ok and v == i * 2
            to_g.close()

        t = start(thread)
        got = []
        async for v in to_g:
            got.append(v)
            await to_t.send(v * 2)
        await gr.syscall(t.join)
        return got

    assert gr.run(main) == list(range(100))


def test_threads_alone_without_a_runtime() -> None:
    ch: gr.Chan[int] = gr.Chan()
    got: list[tuple[Any, bool]] = []
    t = start(lambda: got.extend(ch.recv_blocking() for _ in range(3)))
    for i in range(2):
        ch.send_blocking(i)
    ch.close()
    t.join(10)
    assert got == [(0, True), (1, True), (None, False)]


def test_fifo_with_goroutine_waiters(wait: Any) -> None:
    async def receiver(tag: str, ch: gr.Chan[int], out: gr.Chan[tuple[str, int]]) -> None:
        await out.send((tag, await ch.recv()))

    async def main() -> list[tuple[str, int]]:
        ch: gr.Chan[int] = gr.Chan()
        out: gr.Chan[tuple[str, int]] = gr.Chan(3)
        g1 = gr.go(receiver, "g1", ch, out)
        await wait.parked(g1.id, "chan receive")

        def thread() -> None:
            v, _ = ch.recv_blocking()
            out.send_blocking(("thread", v))

        t = start(thread)
        await wait.until(lambda: queued(ch._recvq) == 2, "the thread queued second")
        g2 = gr.go(receiver, "g2", ch, out)
        await wait.until(lambda: queued(ch._recvq) == 3, "g2 queued third")
        assert gr.goroutines() and wait.info(g2.id).wait_reason == "chan receive"  # type: ignore[union-attr]
        for i in range(3):
            await ch.send(i)
        await gr.syscall(t.join)
        return sorted([await out.recv() for _ in range(3)], key=lambda x: x[1])

    assert gr.run(main) == [("g1", 0), ("thread", 1), ("g2", 2)]


def test_senders_fifo_across_threads_and_goroutines(wait: Any) -> None:
    async def sender(ch: gr.Chan[str]) -> None:
        await ch.send("g")

    async def main() -> list[str]:
        ch: gr.Chan[str] = gr.Chan(1)
        await ch.send("buffered")
        t = start(ch.send_blocking, "t1")
        await wait.until(lambda: queued(ch._sendq) == 1, "t1 queued")
        gr.go(sender, ch)
        await wait.until(lambda: queued(ch._sendq) == 2, "the goroutine queued")
        t2 = start(ch.send_blocking, "t2")
        await wait.until(lambda: queued(ch._sendq) == 3, "t2 queued")
        got = [await ch.recv() for _ in range(4)]
        await gr.syscall(t.join)
        await gr.syscall(t2.join)
        return got

    assert gr.run(main) == ["buffered", "t1", "g", "t2"]


# ------------------------------------------------------------------ close


def test_close_wakes_blocked_thread_receivers_and_senders() -> None:
    rch: gr.Chan[int] = gr.Chan()
    sch: gr.Chan[int] = gr.Chan()
    results: list[Any] = []

    def sender() -> None:
        try:
            sch.send_blocking(1)
        except gr.ClosedChannelError as e:
            results.append(str(e))

    ts = [start(lambda: results.append(rch.recv_blocking())), start(sender)]
    deadline = time.monotonic() + 10
    while queued(rch._recvq) + queued(sch._sendq) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.001)  # sleep-ok polling a plain thread's queue state from a plain thread
    rch.close()
    sch.close()
    for t in ts:
        t.join(10)
    assert sorted(map(str, results)) == ["(None, False)", "send on closed channel"]


def test_closed_channel_at_once() -> None:
    ch: gr.Chan[int] = gr.Chan(2)
    ch.send_blocking(7)
    ch.close()
    assert ch.recv_blocking() == (7, True)
    assert ch.recv_blocking(timeout=0) == (None, False)
    with pytest.raises(gr.ClosedChannelError, match="send on closed channel"):
        ch.send_blocking(1)
    with pytest.raises(gr.ClosedChannelError):
        gr.select_blocking(ch.send(1), default=True)


# ------------------------------------------------------------------ timeouts


def test_send_timeout_sends_nothing() -> None:
    async def main() -> tuple[int, Any, bool]:
        ch: gr.Chan[int] = gr.Chan()

        def thread() -> str:
            try:
                ch.send_blocking(1, timeout=0.02)
            except TimeoutError as e:
                return str(e)
            return "sent"

        msg = await gr.syscall(thread)
        assert msg == "send_blocking: timed out after 0.02 s; the value was not sent"
        assert queued(ch._sendq) == 0
        return await gr.select(ch.recv_ok(), default=True)

    assert gr.run(main) == (-1, None, False)


def test_recv_timeout_takes_nothing() -> None:
    ch: gr.Chan[int] = gr.Chan(1)
    with pytest.raises(TimeoutError, match="nothing was received"):
        ch.recv_blocking(timeout=0.01)
    assert queued(ch._recvq) == 0
    ch.send_blocking(5, timeout=0)
    assert len(ch) == 1
    with pytest.raises(TimeoutError, match="the value was not sent"):
        ch.send_blocking(6, timeout=0)
    assert ch.recv_blocking(timeout=0) == (5, True)


@pytest.mark.timeout(60)
def test_timeouts_racing_with_senders_lose_and_duplicate_nothing() -> None:
    # The thread's receives time out constantly while a goroutine sends:
    # every value arrives exactly once, in order.
    n = 3000

    async def main() -> list[int]:
        ch: gr.Chan[int] = gr.Chan()
        got: list[int] = []

        def thread() -> None:
            while len(got) < n:
                try:
                    v, ok = ch.recv_blocking(timeout=0.00001)
                except TimeoutError:
                    continue
                got.append(v)

        t = start(thread)
        for i in range(n):
            await ch.send(i)
        await gr.syscall(t.join)
        return got

    assert gr.run(main, gomaxprocs=2) == list(range(n))


def test_bad_timeouts() -> None:
    ch: gr.Chan[int] = gr.Chan()
    with pytest.raises(ValueError, match="non-negative"):
        ch.recv_blocking(timeout=-1)
    with pytest.raises(ValueError, match="non-negative"):
        ch.send_blocking(1, timeout=float("nan"))
    with pytest.raises(TypeError, match="timeout must be a number"):
        gr.select_blocking(ch.recv(), timeout="1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="case 0"):
        gr.select_blocking(ch)  # type: ignore[arg-type]


# ------------------------------------------------------------------ select_blocking


def test_select_blocking_cases() -> None:
    a: gr.Chan[int] = gr.Chan(1)
    b: gr.Chan[int] = gr.Chan(1)
    assert gr.select_blocking(a.recv(), b.recv_ok(), default=True) == (-1, None, False)
    assert gr.select_blocking(None, a.send(3)) == (1, None, True)
    assert gr.select_blocking(b.recv(), a.recv_ok()) == (1, 3, True)
    with pytest.raises(TimeoutError, match="select_blocking: timed out after 0.01 s; no case proceeded"):
        gr.select_blocking(a.recv(), b.recv(), timeout=0.01)
    assert queued(a._recvq) == queued(b._recvq) == 0
    with pytest.raises(TimeoutError):
        gr.select_blocking(None, timeout=0.01)
    assert gr.select_blocking(default=True) == (-1, None, False)
    b.close()
    assert gr.select_blocking(a.recv(), b.recv()) == (1, None, False)


def test_select_blocking_picks_ready_cases_uniformly() -> None:
    a: gr.Chan[int] = gr.Chan(1000)
    b: gr.Chan[int] = gr.Chan(1000)
    for i in range(1000):
        a.send_blocking(i)
        b.send_blocking(i)
    counts = [0, 0]
    for _ in range(1000):
        i, _, _ = gr.select_blocking(a.recv(), b.recv())
        counts[i] += 1
    assert 350 < counts[0] < 650, counts


def test_select_blocking_wakes_on_goroutine_send(wait: Any) -> None:
    async def main() -> tuple[int, Any, bool]:
        a: gr.Chan[int] = gr.Chan()
        b: gr.Chan[int] = gr.Chan()
        res: list[tuple[int, Any, bool]] = []
        t = start(lambda: res.append(gr.select_blocking(a.recv(), b.recv_ok())))
        await wait.until(lambda: queued(a._recvq) == 1 and queued(b._recvq) == 1, "the thread queued")
        await b.send(42)
        await gr.syscall(t.join)
        # The losing waiter is stale: a send on a does not complete at once.
        assert await gr.select(a.send(1), default=True) == (-1, None, False)
        return res[0]

    assert gr.run(main) == (1, 42, True)


# ------------------------------------------------------------------ misuse


def test_inside_a_goroutine_names_the_awaitable_form() -> None:
    ch: gr.Chan[int] = gr.Chan(1)
    errors: list[str] = []

    async def main() -> None:
        for call in (lambda: ch.send_blocking(1), ch.recv_blocking, lambda: gr.select_blocking(ch.recv())):
            try:
                call()
            except RuntimeError as e:
                errors.append(str(e))

    gr.run(main)
    assert errors == [
        "send_blocking() would block this goroutine's thread; inside a goroutine use 'await ch.send(v)'",
        "recv_blocking() would block this goroutine's thread; inside a goroutine use "
        "'await ch.recv_ok()' (or 'await ch.recv()')",
        "select_blocking() would block this goroutine's thread; inside a goroutine use 'await gr.select(...)'",
    ]


def test_allowed_inside_syscall() -> None:
    async def main() -> tuple[Any, bool]:
        ch: gr.Chan[int] = gr.Chan()
        start(ch.send_blocking, 9)
        return await gr.syscall(ch.recv_blocking)

    assert gr.run(main) == (9, True)


# ------------------------------------------------------------------ deadlock rule


def main_parked() -> bool:
    return any(g.id == 1 and g.state == "waiting" for g in gr.goroutines())


def test_thread_started_in_run_that_sends_later_is_no_deadlock() -> None:
    async def main() -> int:
        ch: gr.Chan[int] = gr.Chan()

        def thread() -> None:
            # Not in a channel call when main parks (and the last M idles).
            deadline = time.monotonic() + 10
            while not main_parked():
                assert time.monotonic() < deadline
                time.sleep(0.001)  # sleep-ok polling the runtime from a plain thread
            time.sleep(0.03)  # blocking: well after the idle M's deadlock check
            ch.send_blocking(5)

        start(thread)
        return await ch.recv()

    assert gr.run(main) == 5


def test_thread_blocked_before_run_is_no_deadlock(wait: Any) -> None:
    ch: gr.Chan[int] = gr.Chan()
    back: gr.Chan[int] = gr.Chan()

    def consumer() -> None:
        v, _ = ch.recv_blocking()
        back.send_blocking(v + 1)

    t = start(consumer)
    deadline = time.monotonic() + 10
    while queued(ch._recvq) == 0:
        assert time.monotonic() < deadline
        time.sleep(0.001)  # sleep-ok polling a plain thread's queue state from a plain thread

    async def main() -> int:
        await ch.send(1)
        return await back.recv()  # the consumer is between calls here

    assert gr.run(main) == 2
    t.join(10)


def test_deadlock_once_the_last_plain_thread_exits() -> None:
    release = threading.Event()

    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()

        def thread() -> None:
            release.wait()  # blocking: lives on without acting, then exits

        start(thread)
        gr.go(_release_soon, release)
        await ch.recv()

    with pytest.raises(gr.Deadlock, match="all goroutines are asleep"):
        gr.run(main)


async def _release_soon(ev: threading.Event) -> None:
    await gr.sleep(0.02)
    ev.set()


def test_deadlock_after_a_plain_threads_call_times_out() -> None:
    async def main() -> None:
        other: gr.Chan[int] = gr.Chan()
        mine: gr.Chan[int] = gr.Chan()

        def thread() -> None:
            try:
                other.recv_blocking(timeout=0.05)
            except TimeoutError:
                pass

        start(thread)
        await mine.recv()

    with pytest.raises(gr.Deadlock):
        gr.run(main)


def test_threads_from_before_the_run_do_not_hide_a_deadlock() -> None:
    stop = threading.Event()
    t = start(stop.wait)
    try:

        async def main() -> None:
            await gr.Chan().recv()

        with pytest.raises(gr.Deadlock):
            gr.run(main)
    finally:
        stop.set()
        t.join(10)


def test_no_runtime_thread_left_after_run(no_leaked_runtime_threads: None) -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        t = start(ch.send_blocking, 1)
        await ch.recv()
        await gr.syscall(t.join)

    gr.run(main)
