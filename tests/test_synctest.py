"""goroutines.testing.synctest and wait(): a bubble with a fake clock.

Timings asserted here are on the fake clock (grt.now()), exact; real time
is asserted only as an upper bound (an hour of fake time takes well under
a second of real time).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

import goroutines as gr
from goroutines import testing as grt
from goroutines._core._timers import FAKE_EPOCH

PROCS = [1, 2, 4]


@pytest.mark.parametrize("procs", PROCS)
def test_an_hour_timeout_takes_milliseconds(procs: int) -> None:
    async def main() -> tuple[float, Any]:
        t0 = grt.now()
        ctx, cancel = gr.with_timeout(gr.background(), 3600)
        await ctx.done().recv()
        return grt.now() - t0, ctx.err()

    t = time.perf_counter()
    took, err = grt.synctest(main, gomaxprocs=procs)
    assert time.perf_counter() - t < 10  # an hour of fake time; generous for a loaded machine
    assert took == 3600
    assert isinstance(err, gr.DeadlineExceeded)


def test_the_clock_starts_at_the_epoch_and_stands_still_while_running() -> None:
    async def main() -> tuple[float, float]:
        a = grt.now()
        for _ in range(1000):
            await gr.gosched()
        return a, grt.now()

    a, b = grt.synctest(main)
    assert a == b == FAKE_EPOCH


def test_sleep_after_timer_ticker_on_the_fake_clock() -> None:
    async def main() -> list[Any]:
        t0 = grt.now()
        out: list[Any] = []
        await gr.sleep(10)
        out.append(grt.now() - t0)
        v = await gr.after(5).recv()
        out.append(v - t0)  # after's value is the bubble's time at firing
        t = gr.Timer(100)
        assert t.reset(2)
        await t.c.recv()
        out.append(grt.now() - t0)
        tk = gr.Ticker(0.5)
        ticks = [await tk.c.recv() - t0 for _ in range(4)]
        tk.stop()
        out.append(ticks)
        stopped = gr.Timer(1)
        assert stopped.stop()
        return out

    assert grt.synctest(main) == [10, 15, 17, [17.5, 18.0, 18.5, 19.0]]  # halves: exact


def test_sleepers_wake_in_deadline_order() -> None:
    async def main() -> list[int]:
        order: list[int] = []
        wg = gr.WaitGroup()

        async def sleeper(k: int) -> None:
            await gr.sleep(k * 60)
            order.append(k)
            wg.done()

        for k in [5, 3, 9, 1, 7]:
            wg.add(1)
            gr.go(sleeper, k)
        await wg.wait()
        return order

    assert grt.synctest(main) == [1, 3, 5, 7, 9]


def test_context_deadline_and_with_deadline_use_the_fake_clock() -> None:
    async def main() -> tuple[Any, Any, float]:
        parent, _ = gr.with_deadline(gr.background(), grt.now() + 30)
        child, cancel = gr.with_timeout(parent, 60)  # the parent's comes first
        await child.done().recv()
        # A deadline computed from time.monotonic() is long past in a bubble.
        past, _ = gr.with_deadline(gr.background(), time.monotonic() + 30)
        cancel()
        return child.err(), past.err(), grt.now() - FAKE_EPOCH

    err, past_err, at = grt.synctest(main)
    assert isinstance(err, gr.DeadlineExceeded)
    assert isinstance(past_err, gr.DeadlineExceeded)
    assert at == 30


def test_returns_mains_result_and_reraises_a_panic() -> None:
    async def ok(x: int) -> int:
        await gr.sleep(1)
        return x * 2

    assert grt.synctest(ok, 21) == 42

    async def boom() -> None:
        await gr.sleep(1)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        grt.synctest(boom)


@pytest.mark.parametrize("procs", PROCS)
def test_deadlock_without_timers(procs: int) -> None:
    async def main() -> None:
        await gr.sleep(5)
        await gr.Chan().recv()

    with pytest.raises(gr.Deadlock, match="all goroutines are asleep - deadlock!"):
        grt.synctest(main, gomaxprocs=procs)


def test_a_ticker_nobody_reads_does_not_keep_a_deadlocked_bubble_alive() -> None:
    async def main() -> None:
        tk = gr.Ticker(0.001)
        await gr.Chan().recv()  # never: only the ticker ticks, dropping ticks
        tk.stop()

    t = time.perf_counter()
    with pytest.raises(gr.Deadlock):
        grt.synctest(main)
    assert time.perf_counter() - t < 10  # generous for a loaded machine


def test_a_fast_ticker_beside_a_long_sleep_is_jumped_over() -> None:
    async def main() -> tuple[float, float]:
        t0 = grt.now()
        tk = gr.Ticker(0.001)  # a million ticks before the sleep ends: dropped
        await gr.sleep(3600)
        first = await tk.c.recv() - t0  # the one tick the buffer kept
        nxt = await tk.c.recv() - t0
        tk.stop()
        return first, nxt

    t = time.perf_counter()
    first, nxt = grt.synctest(main)
    assert time.perf_counter() - t < 10  # generous for a loaded machine
    # The fake clock's resolution at its epoch is about 0.1 microseconds.
    assert first == pytest.approx(0.001, abs=1e-6)
    # Ticks fall on multiples of 1 ms: the one at 3600 s itself (kept or,
    # if it fell due with the sleep, dropped as the buffer was full).
    assert 3600 - 1e-6 <= nxt <= 3600.001 + 1e-6


@pytest.mark.parametrize("procs", PROCS)
def test_wait_returns_once_every_other_goroutine_is_durably_blocked(procs: int) -> None:
    async def main() -> list[tuple[int, str]]:
        ch: gr.Chan[int] = gr.Chan()
        mu = gr.Mutex()
        await mu.lock()
        res: list[int] = []

        async def receiver() -> None:
            res.append(await ch.recv())

        async def locker() -> None:
            async with mu:
                res.append(2)

        async def busy() -> None:
            for _ in range(200):
                await gr.gosched()
            await gr.sleep(1)

        for f in (receiver, locker, busy):
            gr.go(f)
        t0 = grt.now()
        await grt.wait()
        assert grt.now() == t0  # wait() never moves the clock
        seen = sorted((g.id, g.wait_reason) for g in gr.goroutines() if g.id != 1)
        mu.unlock()
        await ch.send(1)
        await grt.wait()
        assert sorted(res) == [1, 2]
        return seen

    assert grt.synctest(main, gomaxprocs=procs) == [
        (2, "chan receive"),
        (3, "sync.Mutex"),
        (4, "sleep"),
    ]


def test_wait_outside_a_bubble_is_an_error() -> None:
    async def main() -> None:
        await grt.wait()

    with pytest.raises(RuntimeError, match="only inside a bubble"):
        gr.run(main)


def test_two_waiters_at_once_is_an_error() -> None:
    async def main() -> None:
        async def other() -> None:
            await grt.wait()

        gr.go(other)
        await gr.gosched()  # other is now in wait()
        await grt.wait()

    with pytest.raises(RuntimeError, match="already waiting"):
        grt.synctest(main, gomaxprocs=1)


def test_synctest_inside_a_run_is_an_error() -> None:
    async def main() -> None:
        grt.synctest(lambda: None)

    with pytest.raises(RuntimeError, match="already running"):
        gr.run(main)


def test_now_outside_a_bubble_is_monotonic() -> None:
    a = time.monotonic()
    assert a <= grt.now() <= time.monotonic()

    async def main() -> bool:
        b = time.monotonic()
        return b <= grt.now() <= time.monotonic()

    assert gr.run(main)


# -- what is not durably blocking: the clock waits for it in real time


@pytest.mark.parametrize("procs", [1, 2])
def test_the_clock_stands_still_during_a_syscall(procs: int) -> None:
    async def main() -> tuple[float, float]:
        t0 = grt.now()
        seen: list[float] = []

        async def caller() -> None:
            await gr.syscall(time.sleep, 0.05)  # blocking: a real system call
            seen.append(grt.now() - t0)

        gr.go(caller)
        await gr.sleep(1000)  # cannot end while the syscall is pending
        return seen[0], grt.now() - t0

    during, after = grt.synctest(main, gomaxprocs=procs)
    assert during == 0
    assert after == 1000


def test_the_clock_stands_still_during_unannotated_blocking() -> None:
    async def main() -> tuple[float, float]:
        t0 = grt.now()
        seen: list[float] = []

        async def blocker() -> None:
            time.sleep(0.05)  # blocking on purpose: unannotated, sysmon hands off
            seen.append(grt.now() - t0)

        gr.go(blocker)
        await gr.sleep(1000)
        return seen[0], grt.now() - t0

    assert grt.synctest(main) == (0, 1000)


def test_the_clock_stands_still_while_io_is_awaited() -> None:
    a, b = socket.socketpair()

    def writer() -> None:
        time.sleep(0.05)  # blocking: a plain thread, outside the bubble
        b.send(b"x")

    async def main() -> tuple[float, float]:
        t0 = grt.now()
        seen: list[float] = []

        async def reader() -> None:
            await gr.wait_readable(a)
            seen.append(grt.now() - t0)

        gr.go(reader)
        threading.Thread(target=writer).start()
        await gr.sleep(1000)
        return seen[0], grt.now() - t0

    try:
        assert grt.synctest(main) == (0, 1000)
    finally:
        a.close()
        b.close()


def _io_then(end: Any, run: Any, procs: int) -> Any:
    """One round of the race below: a reader waits on a socket (an M blocks
    in the netpoller for it), main makes a short system call (so another M
    runs the reader and polls), then a plain thread writes and main ends
    with ``end(t0)``, in ``run`` (synctest or gr.run); returns when the
    reader woke and what ``end`` returned."""
    a, b = socket.socketpair()

    def writer() -> None:
        time.sleep(0.005)  # blocking: a plain thread's write, outside the run
        b.send(b"x")

    async def main() -> tuple[float, Any]:
        t0 = grt.now()
        woke: list[float] = []

        async def reader() -> None:
            await gr.wait_readable(a)
            woke.append(grt.now() - t0)

        gr.go(reader)
        await gr.syscall(time.sleep, 0.002)  # syscall: the reader's M gets to poll meanwhile
        threading.Thread(target=writer).start()
        return woke, await end(t0)

    try:
        return run(main, gomaxprocs=procs)
    finally:
        a.close()
        b.close()


async def _sleep_1000(t0: float) -> float:
    await gr.sleep(1000)  # the timer taking the netpoller's M off its post
    return grt.now() - t0


async def _deadlock(t0: float) -> None:
    await gr.sleep(0.001)  # a timer, taking the netpoller's M off its post
    await gr.Chan[int]().recv()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", [1, 2])
def test_the_clock_moves_once_the_awaited_io_is_done(procs: int) -> None:
    # Lost wake-ups on the way out of I/O (each hung the run for an hour of
    # real time, once in a few tries): main's timer takes the M blocked in
    # the netpoller off its post, and the M that goes idle next became the
    # poller too and read the wake-up byte meant for the first, which then
    # slept on, counted as running; or the last M to go idle left the
    # check to sysmon's quick poll, which never made it.
    for _ in range(60):
        woke, after = _io_then(_sleep_1000, grt.synctest, procs)
        assert (woke, after) == ([0], 1000)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", [1, 2])
def test_a_deadlock_after_io_is_reported(procs: int) -> None:
    # The same race on the real clock: no deadlock report, a hang instead.
    for _ in range(30):
        with pytest.raises(gr.Deadlock):
            _io_then(_deadlock, gr.run, procs)


def test_after_func_and_a_semaphore_wait_on_the_fake_clock() -> None:
    async def main() -> tuple[float, bool]:
        t0 = grt.now()
        fired: gr.Chan[float] = gr.Chan(1)

        async def fn() -> None:
            await fired.send(grt.now() - t0)

        gr.after_func(90, fn)
        sem = gr.Semaphore(1)
        await sem.acquire()

        async def holder() -> None:
            await gr.sleep(30)
            sem.release()

        gr.go(holder)
        await sem.acquire()  # durably blocked on the semaphore until 30 s
        got_it_at = grt.now() - t0
        return await fired.recv(), got_it_at == 30

    assert grt.synctest(main) == (90, True)


def test_the_clock_stands_still_while_a_plain_thread_may_act() -> None:
    ch: gr.Chan[int] = gr.Chan()

    def sender() -> None:
        time.sleep(0.05)  # blocking: a plain thread, outside the bubble
        ch.send_blocking(1)

    async def main() -> tuple[int, float]:
        t0 = grt.now()
        threading.Thread(target=sender).start()
        i, _, _ = await gr.select(ch.recv(), gr.after(1000).recv())
        return i, grt.now() - t0

    assert grt.synctest(main) == (0, 0)


# ---------------------------------------------------------------------- I/O deadlines stay on real time
# An I/O wait's timeout and a net conn's deadline are met by the outside
# world in real time, so in a bubble they are armed on the real clock
# (Sched.realtimers): they fire after the real timeout, while the fake
# clock stands still (the I/O waiter keeps it so).


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", [1, 2])
def test_an_io_wait_times_out_after_real_time(procs: int) -> None:
    a, b = socket.socketpair()

    async def main() -> tuple[bool, float, float]:
        t0, r0 = grt.now(), time.monotonic()
        ready = await gr.wait_readable(a, timeout=0.2)
        return ready, time.monotonic() - r0, grt.now() - t0

    try:
        ready, real, fake = grt.synctest(main, gomaxprocs=procs)
    finally:
        a.close()
        b.close()
    assert ready is False
    assert 0.2 <= real < 10, real
    assert fake == 0


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", [1, 2])
def test_data_before_the_io_timeout_wins(procs: int) -> None:
    a, b = socket.socketpair()
    go_on = threading.Event()

    def writer() -> None:
        go_on.wait(10)
        b.send(b"x")

    async def main() -> tuple[bool, float, float]:
        t0, r0 = grt.now(), time.monotonic()
        threading.Thread(target=writer).start()
        go_on.set()
        ready = await gr.wait_readable(a, timeout=20)
        return ready, time.monotonic() - r0, grt.now() - t0

    try:
        ready, real, fake = grt.synctest(main, gomaxprocs=procs)
    finally:
        a.close()
        b.close()
    assert ready is True
    assert real < 10, real
    assert fake == 0


@pytest.mark.timeout(30)
def test_an_io_timeout_beside_a_fake_sleep() -> None:
    # The waiter keeps the fake clock still until its real timeout fires;
    # then every goroutine is durably blocked and the clock jumps.
    a, b = socket.socketpair()

    async def main() -> tuple[bool, float, float, float]:
        t0, r0 = grt.now(), time.monotonic()
        out: gr.Chan[tuple[bool, float]] = gr.Chan(1)

        async def reader() -> None:
            ready = await gr.wait_readable(a, timeout=0.1)
            await out.send((ready, grt.now() - t0))

        gr.go(reader)
        await gr.sleep(1000)
        ready, fake_at_timeout = await out.recv()
        return ready, fake_at_timeout, time.monotonic() - r0, grt.now() - t0

    try:
        ready, fake_at_timeout, real, fake = grt.synctest(main)
    finally:
        a.close()
        b.close()
    assert ready is False
    assert fake_at_timeout == 0
    assert 0.1 <= real < 10, real
    assert fake == 1000


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", [1, 2])
def test_a_net_read_deadline_fires_after_real_time(procs: int) -> None:
    from goroutines import net

    async def main() -> tuple[float, float]:
        ln = net.listen("tcp", "127.0.0.1:0")
        got: gr.Chan[net.Conn] = gr.Chan(1)

        async def acceptor() -> None:
            await got.send(await ln.accept())

        gr.go(acceptor)
        a = await net.dial("tcp", ln.addr)
        b = await got.recv()
        ln.close()
        async with a, b:
            t0, r0, c0 = grt.now(), time.monotonic(), time.process_time()
            b.set_read_deadline(time.monotonic() + 0.3)
            with pytest.raises(net.NetTimeoutError):
                await b.read()
            return time.monotonic() - r0, time.process_time() - c0, grt.now() - t0

    real, cpu, fake = grt.synctest(main, gomaxprocs=procs)
    assert 0.3 <= real < 10, real
    # It slept in the netpoller, not in a loop of waits timing out at once
    # (a deadline armed on the fake clock) until the real one passed.
    assert cpu < 0.15, cpu
    assert fake == 0
