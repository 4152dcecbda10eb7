"""Go's own channel test programs ($GOROOT/test/chan, Go 1.19), ported to goroutines.

Each test ports one Go program, keeping its values, its checks and their order;
the Go program's panics become failed asserts (or the exception escaping
``gr.run``). Translations used throughout:

- ``go f(x)`` is ``gr.go(f, x)``; ``make(chan T, n)`` is ``gr.Chan(n)``.
- ``select {...}`` is ``gr.select(...)``; a case on a nil channel is ``None``;
  ``default:`` is ``default=True`` and index ``-1``.
- A plain send or receive on a nil channel blocks forever in Go; Python has no
  nil channel, so it becomes ``gr.select(None)`` (a select whose only case is
  a nil channel), which is how Go defines it.
- ``v, ok := <-c`` is ``recv_ok()``; ``for v := range c`` is ``async for``.
- ``runtime.Gosched()`` is ``gr.gosched()``. Where the Go program sleeps to let
  other goroutines settle, the port waits for an observable condition instead
  (the conftest ``wait`` fixture); no test relies on a length of time (the
  nonblock.go port paces its retries as Go's ticker does, see there).

Not ported:

- select5.go generates a Go program and compares its output; it is a code generator, not a channel program.
- powser1.go is ~740 lines of rational power-series arithmetic on demand
  channels; it is not quick to port, and its channel patterns (unbuffered
  request/reply, select over two receives, chains of goroutines) are covered by
  the programs below.
"""

from __future__ import annotations

import gc
import heapq
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import goroutines as gr

pytestmark = [
    pytest.mark.usefixtures("no_leaked_runtime_threads"),
    # a runtime thread dying with an exception is a runtime bug, whatever the test
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]

procs = pytest.mark.parametrize("procs", [1, 4])


def send_case(ch: gr.Chan[Any] | None, v: Any) -> gr.SendOp[Any] | None:
    """Go's ``case ch <- v:``; a nil ``ch`` is a disabled case (``v`` is still evaluated)."""
    return None if ch is None else ch.send(v)


def recv_case(ch: gr.Chan[Any] | None) -> gr.RecvOp[Any] | None:
    """Go's ``case <-ch:``; a nil ``ch`` is a disabled case."""
    return None if ch is None else ch.recv()


# --------------------------------------------------------------------------- fifo.go


@pytest.mark.timeout(20)
@procs
def test_fifo(procs: int) -> None:
    """fifo.go: buffered channels are FIFOs; unbuffered ones too, threaded through a daisy chain."""
    N = 10

    async def asynch_fifo() -> None:
        ch: gr.Chan[int] = gr.Chan(N)
        for i in range(N):
            await ch.send(i)
        for i in range(N):
            assert await ch.recv() == i, "bad receive"

    async def chain(ch: gr.Chan[int], val: int, inp: gr.Chan[int], out: gr.Chan[int]) -> None:
        await inp.recv()
        v = await ch.recv()
        assert v == val, f"chain {val} received {v}"
        await out.send(1)

    async def synch_fifo() -> None:
        # thread together a daisy chain to read the elements in sequence
        ch: gr.Chan[int] = gr.Chan()
        inp: gr.Chan[int] = gr.Chan()
        start = inp
        for i in range(N):
            out: gr.Chan[int] = gr.Chan()
            gr.go(chain, ch, i, inp, out)
            inp = out
        await start.send(0)
        for i in range(N):
            await ch.send(i)
        await inp.recv()

    async def main() -> None:
        await asynch_fifo()
        await synch_fifo()

    gr.run(main, gomaxprocs=procs)


# --------------------------------------------------------------------------- doubleselect.go


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", [1, 2, 4])  # 2: the Go program sets runtime.GOMAXPROCS(2)
def test_doubleselect(procs: int) -> None:
    """doubleselect.go: two cases of one select must never both run (no value forwarded twice)."""
    iterations = 100000

    async def sender(n: int, c1: gr.Chan[int], c2: gr.Chan[int], c3: gr.Chan[int], c4: gr.Chan[int]) -> None:
        try:
            for i in range(n):
                await gr.select(c1.send(i), c2.send(i), c3.send(i), c4.send(i))
        finally:  # Go's deferred closes run last-deferred first
            c4.close()
            c3.close()
            c2.close()
            c1.close()

    async def mux(out: gr.Chan[int], inp: gr.Chan[int], done: gr.Chan[bool]) -> None:
        async for v in inp:
            await out.send(v)
        await done.send(True)

    async def recver(inp: gr.Chan[int]) -> int:
        seen: set[int] = set()
        async for v in inp:
            assert v not in seen, f"got duplicate value: {v}"
            seen.add(v)
        return len(seen)

    async def main() -> int:
        c1: gr.Chan[int] = gr.Chan()
        c2: gr.Chan[int] = gr.Chan()
        c3: gr.Chan[int] = gr.Chan()
        c4: gr.Chan[int] = gr.Chan()
        done: gr.Chan[bool] = gr.Chan()
        cmux: gr.Chan[int] = gr.Chan()
        gr.go(sender, iterations, c1, c2, c3, c4)
        gr.go(mux, cmux, c1, done)
        gr.go(mux, cmux, c2, done)
        gr.go(mux, cmux, c3, done)
        gr.go(mux, cmux, c4, done)

        async def closer() -> None:
            await done.recv()
            await done.recv()
            await done.recv()
            await done.recv()
            cmux.close()

        gr.go(closer)
        return await recver(cmux)

    # Beyond Go's check (no duplicates): no value was lost either.
    assert gr.run(main, gomaxprocs=procs) == iterations


# --------------------------------------------------------------------------- nonblock.go


@pytest.mark.timeout(30)
@procs
def test_nonblock(procs: int) -> None:
    """nonblock.go: select with default never blocks, and succeeds once the peer is there.

    Go's four blocks per buffer size (int32, int64, bool, string) differ only in
    the element type and values, so they are one helper called with Go's values
    in Go's order. Go's retry pause, ``sleep()`` (two 10 µs ticks and three
    Gosched), is three gosched here, plus a 0.5 ms park after the first 200
    tries for the reason given in helpers' ``Waiter.until`` (a spinning
    poller delays a goroutine on another thread that needs the GIL). The
    select is the synchronisation; the pause only paces the retries, and
    Go's maxTries still bounds them.
    """
    max_tries = 10000

    async def pause(tries: int) -> None:
        await gr.gosched()
        await gr.gosched()
        await gr.gosched()
        if tries > 200:
            await gr.sleep(0.0005)

    async def receiver(c: gr.Chan[Any], want: Any, what: str, strobe: gr.Chan[bool]) -> None:
        assert await c.recv() == want, f"{what} value"
        await strobe.send(True)

    async def sender(c: gr.Chan[Any], v: Any, strobe: gr.Chan[bool]) -> None:
        await c.send(v)
        await strobe.send(True)

    async def check(
        c: gr.Chan[Any], buffer: int, what: str, to_recv: Any, to_send: Any, sync: gr.Chan[bool]
    ) -> None:
        gr.go(receiver, c, to_recv, what, sync)
        tries = 0
        send = c.send(to_recv)
        while True:
            i, _, _ = await gr.select(send, default=True)
            if i == 0:
                break
            tries += 1
            assert tries <= max_tries, f"{what}receiver buffer={buffer}"
            await pause(tries)
        await sync.recv()

        gr.go(sender, c, to_send, sync)
        if buffer > 0:
            await sync.recv()
        tries = 0
        recv = c.recv()
        while True:
            i, got, _ = await gr.select(recv, default=True)
            if i == 0:
                break
            tries += 1
            assert tries <= max_tries, f"{what}sender buffer={buffer}"
            await pause(tries)
        assert got == to_send, f"{what}sender value"
        if buffer == 0:
            await sync.recv()

    async def main() -> None:
        sync: gr.Chan[bool] = gr.Chan()
        for buffer in range(2):
            c32: gr.Chan[int] = gr.Chan(buffer)
            c64: gr.Chan[int] = gr.Chan(buffer)
            cb: gr.Chan[bool] = gr.Chan(buffer)
            cs: gr.Chan[str] = gr.Chan(buffer)

            assert (await gr.select(c32.recv(), default=True))[0] == -1, "blocked i32sender"
            assert (await gr.select(c64.recv(), default=True))[0] == -1, "blocked i64sender"
            assert (await gr.select(cb.recv(), default=True))[0] == -1, "blocked bsender"
            assert (await gr.select(cs.recv(), default=True))[0] == -1, "blocked ssender"

            await check(c32, buffer, "i32", 123, 234, sync)
            await check(c64, buffer, "i64", 123456, 234567, sync)
            await check(cb, buffer, "b", True, True, sync)
            await check(cs, buffer, "s", "hello", "hello again", sync)

    gr.run(main, gomaxprocs=procs)


# --------------------------------------------------------------------------- select.go


@pytest.mark.timeout(10)
def test_select() -> None:
    """select.go: a select with default sends on each ready channel once; case values are always evaluated."""
    state = {"counter": 0, "shift": 0}

    def get_value() -> int:
        state["counter"] += 1
        return 1 << state["shift"]

    async def send(a: gr.Chan[int] | None, b: gr.Chan[int] | None) -> int:
        i = 0
        while True:
            # Go evaluates every case's value, nil channel or not, before choosing.
            k, _, _ = await gr.select(send_case(a, get_value()), send_case(b, get_value()), default=True)
            if k == 0:
                i += 1
                a = None
            elif k == 1:
                i += 1
                b = None
            else:
                break
            state["shift"] += 1
        return i

    async def main() -> None:
        a: gr.Chan[int] = gr.Chan(1)
        b: gr.Chan[int] = gr.Chan(1)
        v = await send(a, b)
        assert v == 2, f"Send returned {v} != 2"
        av, bv = await a.recv(), await b.recv()
        assert av | bv == 3, f"bad values {av} {bv}"
        v = await send(a, None)
        assert v == 1, f"Send returned {v} != 1"
        assert state["counter"] == 10, f"counter is {state['counter']} != 10"

    gr.run(main)


# --------------------------------------------------------------------------- select2.go


@pytest.mark.timeout(30)
@procs
def test_select2_no_memory_growth(procs: int) -> None:
    """select2.go: 100,000 selects do not grow the memory footprint.

    Go compares runtime.MemStats.Alloc after a warm-up round and after a
    second round, allowing 1.1e5 bytes (about one byte per select). The Python
    counterpart is sys.getallocatedblocks() after gc.collect(): a per-select
    leak of even one object would show as ~100,000 blocks; the bound allows
    one block per 100 selects for allocator noise.
    """
    n = 100000

    async def sender(c: gr.Chan[int], n: int) -> None:
        for _ in range(n):
            await c.send(1)

    async def receiver(c: gr.Chan[int], dummy: gr.Chan[int], n: int) -> None:
        for _ in range(n):
            i, _, _ = await gr.select(c.recv(), dummy.recv())
            assert i != 1, "dummy"

    async def main() -> int:
        c: gr.Chan[int] = gr.Chan()
        dummy: gr.Chan[int] = gr.Chan()
        # warm up
        gr.go(sender, c, n)
        await receiver(c, dummy, n)
        gc.collect()
        alloc = sys.getallocatedblocks()
        # second time shouldn't increase footprint by much
        gr.go(sender, c, n)
        await receiver(c, dummy, n)
        gc.collect()
        return sys.getallocatedblocks() - alloc

    growth = gr.run(main, gomaxprocs=procs)
    assert growth < n // 100, f"too much memory for {n} selects: {growth} more allocated blocks"


# --------------------------------------------------------------------------- select3.go

ALWAYS = "function did not"
NEVER = "function did"


@pytest.mark.timeout(30)
@procs
def test_select3(procs: int, wait: Any) -> None:
    """select3.go: which channel operations and selects block, and which panic.

    Go's testPanic calls f and checks it panics (here: raises
    gr.ClosedChannelError, "send on closed channel") or not. Go's testBlock
    races f against a sleeping goroutine; here "blocks" is observed: the
    goroutine running f is parked with f's wait reason (after f it only does a
    non-blocking send on a buffered channel, so a parked goroutine is still
    inside f), gosched lets everything else run, and f still has not reported
    completion. "Never blocks" is: f reports completion (bounded by the Waiter
    timeout, like Go's 10 s window).
    """

    def unreachable() -> None:
        raise AssertionError("control flow shouldn't reach here")

    async def test_panic(signal: str, f: Callable[[], Awaitable[None]]) -> None:
        s = NEVER
        try:
            await f()
        except gr.ClosedChannelError as e:  # the only panic these operations can raise
            assert "send on closed channel" in str(e)
            s = ALWAYS  # f panicked
        assert s == signal, signal + " panic"

    async def test_block(signal: str, f: Callable[[], Awaitable[None]], reason: str = "") -> None:
        c: gr.Chan[str] = gr.Chan(1)

        async def run_f() -> None:
            await f()
            await c.send(NEVER)  # f didn't block

        h = gr.go(run_f)
        if signal == NEVER:
            await wait.until(lambda: len(c) == 1, f"f completes ({signal} block)")
            assert await c.recv() == NEVER
        else:
            await wait.parked(h.id, reason)
            for _ in range(20):
                await gr.gosched()
            assert (await gr.select(c.recv(), default=True))[0] == -1, signal + " block"
            assert wait.info(h.id) is not None, "the blocked goroutine finished"

    async def main() -> None:
        async_ = 1  # asynchronous channels
        nilch: gr.Chan[int] | None = None
        closedch: gr.Chan[int] = gr.Chan()
        closedch.close()

        # sending/receiving from a nil channel blocks
        async def f_nil_send() -> None:
            await gr.select(send_case(nilch, 7))

        await test_block(ALWAYS, f_nil_send, "select")

        async def f_nil_recv() -> None:
            await gr.select(recv_case(nilch))

        await test_block(ALWAYS, f_nil_recv, "select")

        # sending/receiving from a nil channel inside a select is never selected
        async def f_nil_send_default() -> None:
            i, _, _ = await gr.select(send_case(nilch, 7), default=True)
            if i == 0:
                unreachable()

        await test_panic(NEVER, f_nil_send_default)

        async def f_nil_recv_default() -> None:
            i, _, _ = await gr.select(recv_case(nilch), default=True)
            if i == 0:
                unreachable()

        await test_panic(NEVER, f_nil_recv_default)

        # sending to an async channel with free buffer space never blocks
        async def f_buffered_send() -> None:
            ch: gr.Chan[int] = gr.Chan(async_)
            await ch.send(7)

        await test_block(NEVER, f_buffered_send)

        # receiving from a closed channel never blocks
        async def f_recv_closed() -> None:
            for _ in range(10):
                assert await closedch.recv() is None, "expected zero value when reading from closed channel"
                x, ok = await closedch.recv_ok()
                assert x is None and not ok, f"closedch: {x} {ok}: expected zero, false from closed channel"

        await test_block(NEVER, f_recv_closed)

        # sending to a closed channel panics.
        async def f_send_closed() -> None:
            await closedch.send(7)

        await test_panic(ALWAYS, f_send_closed)

        # receiving from a non-ready channel always blocks
        async def f_recv_not_ready() -> None:
            ch: gr.Chan[int] = gr.Chan()
            await ch.recv()

        await test_block(ALWAYS, f_recv_not_ready, "chan receive")

        # empty selects always block
        async def f_empty_select() -> None:
            await gr.select()

        await test_block(ALWAYS, f_empty_select, "select (no cases)")

        # selects with only nil channels always block
        async def f_select_nil_recv() -> None:
            await gr.select(recv_case(nilch))
            unreachable()

        await test_block(ALWAYS, f_select_nil_recv, "select")

        async def f_select_nil_send() -> None:
            await gr.select(send_case(nilch, 7))
            unreachable()

        await test_block(ALWAYS, f_select_nil_send, "select")

        async def f_select_nil_both() -> None:
            await gr.select(recv_case(nilch), send_case(nilch, 7))
            unreachable()

        await test_block(ALWAYS, f_select_nil_both, "select")

        # selects with non-ready non-nil channels always block
        async def f_select_not_ready() -> None:
            ch: gr.Chan[int] = gr.Chan()
            await gr.select(ch.recv())
            unreachable()

        await test_block(ALWAYS, f_select_not_ready, "select")

        # selects with default cases don't block
        async def f_select_default_only() -> None:
            await gr.select(default=True)

        await test_block(NEVER, f_select_default_only)

        async def f_select_nil_recv_default() -> None:
            i, _, _ = await gr.select(recv_case(nilch), default=True)
            if i == 0:
                unreachable()

        await test_block(NEVER, f_select_nil_recv_default)

        async def f_select_nil_send_default() -> None:
            i, _, _ = await gr.select(send_case(nilch, 7), default=True)
            if i == 0:
                unreachable()

        await test_block(NEVER, f_select_nil_send_default)

        # selects with ready channels don't block
        async def f_select_ready_send() -> None:
            ch: gr.Chan[int] = gr.Chan(async_)
            i, _, _ = await gr.select(ch.send(7), default=True)
            if i == -1:
                unreachable()

        await test_block(NEVER, f_select_ready_send)

        async def f_select_ready_recv() -> None:
            ch: gr.Chan[int] = gr.Chan(async_)
            await ch.send(7)
            i, _, _ = await gr.select(ch.recv(), default=True)
            if i == -1:
                unreachable()

        await test_block(NEVER, f_select_ready_recv)

        # selects with closed channels behave like ordinary operations
        async def f_select_closed_recv() -> None:
            await gr.select(closedch.recv())

        await test_block(NEVER, f_select_closed_recv)

        async def f_select_closed_recv_value() -> None:
            _, x, _ = await gr.select(closedch.recv())
            _ = x

        await test_block(NEVER, f_select_closed_recv_value)

        async def f_select_closed_recv_ok() -> None:
            _, x, ok = await gr.select(closedch.recv_ok())
            _, _ = x, ok

        await test_block(NEVER, f_select_closed_recv_ok)

        async def f_select_closed_send() -> None:
            await gr.select(closedch.send(7))

        await test_panic(ALWAYS, f_select_closed_send)

        # select should not get confused if it sees itself
        async def f_select_itself() -> None:
            c: gr.Chan[int] = gr.Chan()
            await gr.select(c.send(1), c.recv())

        await test_block(ALWAYS, f_select_itself, "select")

    # The goroutines left blocked forever are abandoned when main returns, as in Go.
    gr.run(main, gomaxprocs=procs)


# --------------------------------------------------------------------------- select6.go


@pytest.mark.timeout(10)
@procs
def test_select6(procs: int) -> None:
    """select6.go (issue 2075): a select's failed cases must not corrupt the queues of their channels."""

    async def main() -> None:
        c1: gr.Chan[bool] = gr.Chan()
        c2: gr.Chan[bool] = gr.Chan()
        c3: gr.Chan[bool] = gr.Chan()

        async def g1() -> None:
            await c1.recv()

        async def g2() -> None:
            i, _, _ = await gr.select(c1.recv(), c2.recv())
            assert i != 0, "dummy"
            await c3.send(True)
            await c1.recv()

        async def g3() -> None:
            await c2.send(True)

        gr.go(g1)
        gr.go(g2)
        gr.go(g3)
        await c3.recv()
        await c1.send(True)
        await c1.send(True)  # a corrupted queue leaves no receiver: gr.Deadlock

    gr.run(main, gomaxprocs=procs)


# --------------------------------------------------------------------------- select7.go


@pytest.mark.timeout(10)
@procs
def test_select7(procs: int) -> None:
    """select7.go: select discarding a received value, every mix of plain and select send/receive."""

    async def recv1(c: gr.Chan[int]) -> None:
        await c.recv()

    async def recv2(c: gr.Chan[int]) -> None:
        await gr.select(c.recv())

    async def recv3(c: gr.Chan[int]) -> None:
        c2: gr.Chan[int] = gr.Chan()
        await gr.select(c.recv(), c2.recv())

    Recv = Callable[[gr.Chan[int]], Awaitable[None]]

    async def send1(recv: Recv) -> None:
        c: gr.Chan[int] = gr.Chan()
        gr.go(recv, c)
        await gr.gosched()
        await c.send(1)

    async def send2(recv: Recv) -> None:
        c: gr.Chan[int] = gr.Chan()
        gr.go(recv, c)
        await gr.gosched()
        await gr.select(c.send(1))

    async def send3(recv: Recv) -> None:
        c: gr.Chan[int] = gr.Chan()
        gr.go(recv, c)
        await gr.gosched()
        c2: gr.Chan[int] = gr.Chan()
        i, _, _ = await gr.select(c.send(1), c2.send(1))
        assert i == 0

    async def main() -> None:
        await send1(recv1)
        await send2(recv1)
        await send3(recv1)
        await send1(recv2)
        await send2(recv2)
        await send3(recv2)
        await send1(recv3)
        await send2(recv3)
        await send3(recv3)

    gr.run(main, gomaxprocs=procs)


# --------------------------------------------------------------------------- sendstmt.go


@pytest.mark.timeout(10)
def test_sendstmt() -> None:
    """sendstmt.go: ``case <-cc <- 2`` (send to a channel received from a channel) and ``c <- false || true``."""

    async def chanchan() -> None:
        cc: gr.Chan[gr.Chan[int]] = gr.Chan(1)
        c: gr.Chan[int] = gr.Chan(1)
        await cc.send(c)
        # The channel operand <-cc is evaluated on entering the select.
        i, _, _ = await gr.select((await cc.recv()).send(2), default=True)
        assert i == 0, "nonblock"
        assert await c.recv() == 2, "bad receive"

    async def sendprec() -> None:
        c: gr.Chan[bool] = gr.Chan(1)
        await c.send(False or True)
        assert await c.recv(), "sent false"

    async def main() -> None:
        await chanchan()
        await sendprec()

    gr.run(main)


# --------------------------------------------------------------------------- sieve1.go

PRIMES_TO_100 = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97]  # fmt: skip


@pytest.mark.timeout(10)
@procs
def test_sieve1(procs: int) -> None:
    """sieve1.go: the classical concurrent prime sieve, a growing chain of filter goroutines."""

    async def generate(ch: gr.Chan[int]) -> None:
        i = 2
        while True:
            await ch.send(i)
            i += 1

    async def filter_(inp: gr.Chan[int], out: gr.Chan[int], prime: int) -> None:
        async for i in inp:
            if i % prime != 0:
                await out.send(i)

    async def sieve(primes: gr.Chan[int]) -> None:
        ch: gr.Chan[int] = gr.Chan()
        gr.go(generate, ch)
        while True:
            prime = await ch.recv()
            await primes.send(prime)
            ch1: gr.Chan[int] = gr.Chan()
            gr.go(filter_, ch, ch1, prime)
            ch = ch1

    async def main() -> None:
        primes: gr.Chan[int] = gr.Chan()
        gr.go(sieve, primes)
        for want in PRIMES_TO_100:
            x = await primes.recv()
            assert x == want, f"{x} != {want}"

    gr.run(main, gomaxprocs=procs)


# --------------------------------------------------------------------------- sieve2.go


class PeekCh:
    """sieve2.go's PeekCh; ordered by head, as PeekChHeap.Less is."""

    __slots__ = ("head", "ch")

    def __init__(self, head: int, ch: gr.Chan[int]) -> None:
        self.head = head
        self.ch = ch

    def __lt__(self, other: PeekCh) -> bool:
        return self.head < other.head


@pytest.mark.timeout(10)
@procs
def test_sieve2(procs: int) -> None:
    """sieve2.go: Eratosthenes sieve merging buffered channels of multiples, with a feedback loop.

    container/heap is heapq on PeekCh; sendproxy's expanding container/ring
    buffer is a deque (the same unbounded FIFO), with the same select that
    disables the output case (nil channel) while the buffer is empty.
    """

    def odds() -> gr.Chan[int]:
        # Return a chan of odd numbers, starting from 5.
        out: gr.Chan[int] = gr.Chan(50)

        async def gen() -> None:
            n = 5
            while True:
                await out.send(n)
                n += 2

        gr.go(gen)
        return out

    def multiples(p: int) -> gr.Chan[int]:
        # Return a chan of odd multiples of the prime number p, starting from p*p.
        out: gr.Chan[int] = gr.Chan(10)

        async def gen() -> None:
            n = p * p
            while True:
                await out.send(n)
                n += 2 * p

        gr.go(gen)
        return out

    def sendproxy(out: gr.Chan[int]) -> gr.Chan[int]:
        # A channel to serve as a sending proxy to 'out', so that sending to 'out' never blocks.
        proxy: gr.Chan[int] = gr.Chan(10)

        async def run_proxy() -> None:
            buf: deque[int] = deque()
            recv = proxy.recv()
            while True:
                c: gr.Chan[int] | None = out
                e = 0
                if not buf:
                    c = None  # buffer empty: disable output
                else:
                    e = buf[0]
                i, v, _ = await gr.select(recv, send_case(c, e))
                if i == 0:
                    buf.append(v)
                else:
                    buf.popleft()

        gr.go(run_proxy)
        return proxy

    async def sieve() -> gr.Chan[int]:
        # The output values.
        out: gr.Chan[int] = gr.Chan(10)
        # The channel of all composites to be eliminated in increasing order.
        composites: gr.Chan[int] = gr.Chan(50)
        # The feedback loop.
        primes: gr.Chan[int] = gr.Chan(10)

        async def merge() -> None:
            # Merge channels of multiples of 'primes' into 'composites'.
            h: list[PeekCh] = []
            min_ = 15
            while True:
                m = multiples(await primes.recv())
                head = await m.recv()
                while min_ < head:
                    await composites.send(min_)
                    minchan = heapq.heappop(h)
                    min_ = minchan.head
                    minchan.head = await minchan.ch.recv()
                    heapq.heappush(h, minchan)
                while min_ == head:
                    minchan = heapq.heappop(h)
                    min_ = minchan.head
                    minchan.head = await minchan.ch.recv()
                    heapq.heappush(h, minchan)
                await composites.send(head)
                heapq.heappush(h, PeekCh(await m.recv(), m))

        async def sift() -> None:
            # Sieve out 'composites' from 'candidates'; the proxy keeps the
            # feedback send from blocking (see the Go program's comment).
            proxied = sendproxy(primes)
            candidates = odds()
            p = await candidates.recv()
            while True:
                c = await composites.recv()
                while p < c:
                    await proxied.send(p)
                    await out.send(p)
                    p = await candidates.recv()
                if p == c:
                    p = await candidates.recv()

        await out.send(2)
        await out.send(3)
        await primes.send(3)
        gr.go(merge)
        gr.go(sift)
        return out

    async def main() -> None:
        primes = await sieve()
        for want in PRIMES_TO_100:
            x = await primes.recv()
            assert x == want, f"{x} != {want}"

    gr.run(main, gomaxprocs=procs)


# --------------------------------------------------------------------------- zerosize.go


@pytest.mark.timeout(10)
def test_zerosize() -> None:
    """zerosize.go: channels of zero-sized element types ([0]byte, struct{}) can be made, buffered or not.

    Python has no zero-sized types; the closest are the empty tuple and None.
    """
    a: gr.Chan[tuple[()]] = gr.Chan()
    b: gr.Chan[tuple[()]] = gr.Chan(1)
    c: gr.Chan[None] = gr.Chan()
    d: gr.Chan[None] = gr.Chan(1)
    assert [ch.cap for ch in (a, b, c, d)] == [0, 1, 0, 1]
    assert [len(ch) for ch in (a, b, c, d)] == [0, 0, 0, 0]


# --------------------------------------------------------------------------- goroutines.go


@pytest.mark.timeout(30)
@procs
def test_goroutines_chain(procs: int) -> None:
    """goroutines.go: a chain of 10,000 goroutines passing one value along, torn down cleanly."""
    n = 10000

    async def f(left: gr.Chan[int], right: gr.Chan[int]) -> None:
        await left.send(await right.recv())

    async def main() -> int:
        leftmost: gr.Chan[int] = gr.Chan()
        right = leftmost
        left = leftmost
        for _ in range(n):
            right = gr.Chan()
            gr.go(f, left, right)
            left = right

        async def first(c: gr.Chan[int]) -> None:
            await c.send(1)

        gr.go(first, right)
        return await leftmost.recv()

    assert gr.run(main, gomaxprocs=procs) == 1
