"""select: the contract's "select" section, to the letter of Go's select.go.

Item numbers in comments refer to section 1 of go-runtime-notes.md; the
fairness tests port chan_test.go's TestSelectFairness and TestPseudoRandomSend.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from typing import Any

import pytest

import goroutines as gr

pytestmark = [
    pytest.mark.usefixtures("no_leaked_runtime_threads"),
    pytest.mark.timeout(30),
    # a runtime thread dying with an exception is a runtime bug, whatever the test
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]

procs = pytest.mark.parametrize("procs", [1, 2, 4])


def allowed_error(n: int, k: int) -> float:
    """Go's TestSelectFairness bound, 4.89 sigma, for one of k equally likely cases.

    For k == 2 this is exactly Go's 4.89 / (2 * sqrt(n)).
    """
    p = 1.0 / k
    return 4.89 * math.sqrt(p * (1 - p) / n)


def assert_uniform(counts: Counter[int], cases: list[int], n: int) -> None:
    assert set(counts) <= set(cases), f"unexpected cases chosen: {counts}"
    k = len(cases)
    bound = allowed_error(n, k)
    for c in cases:
        r = counts[c] / n
        assert abs(r - 1 / k) <= bound, f"unfair select: in {n} trials, counts were {dict(counts)}"


# --------------------------------------------------------------------------- results


def test_recv_case_returns_index_value_ok() -> None:
    async def main() -> None:
        a: gr.Chan[int] = gr.Chan(1)
        b: gr.Chan[int] = gr.Chan(1)
        await b.send(7)
        assert await gr.select(a.recv(), b.recv()) == (1, 7, True)
        await a.send(8)
        assert await gr.select(a.recv_ok(), b.recv_ok()) == (0, 8, True)
        await a.send(None)  # a sent None is ok=True
        assert await gr.select(a.recv_ok(), b.recv()) == (0, None, True)

    gr.run(main)


def test_send_case_returns_index_none_true() -> None:
    async def main() -> None:
        a: gr.Chan[int] = gr.Chan()
        b: gr.Chan[str] = gr.Chan(1)
        assert await gr.select(a.send(1), b.send("x")) == (1, None, True)
        assert await b.recv() == "x"

    gr.run(main)


@pytest.mark.parametrize("with_ok", [False, True])
def test_recv_case_on_closed_drained_channel_gives_ok_false(with_ok: bool) -> None:
    # Item 30: always ready, (zero, false) -- for recv() cases as well as recv_ok().
    async def main() -> None:
        a: gr.Chan[int] = gr.Chan()
        b: gr.Chan[int] = gr.Chan(2)
        await b.send(3)
        b.close()
        op = b.recv_ok() if with_ok else b.recv()
        assert await gr.select(a.recv(), op) == (1, 3, True)
        assert await gr.select(a.recv(), op) == (1, None, False)
        assert await gr.select(a.recv(), op, default=True) == (1, None, False)

    gr.run(main)


def test_default_when_nothing_is_ready() -> None:
    async def main() -> None:
        a: gr.Chan[int] = gr.Chan()
        b: gr.Chan[int] = gr.Chan(1)
        await b.send(0)  # b full: a send on it is not ready
        assert await gr.select(a.recv(), a.send(1), b.send(2), default=True) == (-1, None, False)
        assert await gr.select(default=True) == (-1, None, False)
        assert await gr.select(None, None, default=True) == (-1, None, False)
        assert len(b) == 1 and len(a) == 0

    gr.run(main)


def test_default_not_taken_when_a_case_is_ready() -> None:
    async def main() -> None:
        a: gr.Chan[int] = gr.Chan(1)
        for _ in range(50):
            assert await gr.select(a.send(1), default=True) == (0, None, True)
            assert await gr.select(a.recv(), default=True) == (0, 1, True)

    gr.run(main)


def test_none_cases_are_never_ready_and_keep_indices() -> None:
    async def main() -> None:
        a: gr.Chan[int] = gr.Chan(1)
        await a.send(5)
        for _ in range(20):
            assert await gr.select(None, a.recv(), None, default=True) == (1, 5, True)
            await a.send(5)
        assert await gr.select(None, None, a.recv()) == (2, 5, True)

    gr.run(main)


def test_select_blocks_until_a_case_is_ready(wait: Any) -> None:
    async def main() -> None:
        a: gr.Chan[int] = gr.Chan()
        b: gr.Chan[int] = gr.Chan()
        out: gr.Chan[tuple[int, Any, bool]] = gr.Chan(1)

        async def selector() -> None:
            await out.send(await gr.select(a.recv(), b.recv()))

        h = gr.go(selector)
        info = await wait.parked(h.id, "select")
        assert info.state == "waiting"
        await b.send(9)
        assert await out.recv() == (1, 9, True)

    gr.run(main)


@procs
def test_parked_select_send_case_completes_on_receive(procs: int, wait: Any) -> None:
    async def main() -> None:
        a: gr.Chan[str] = gr.Chan()
        b: gr.Chan[str] = gr.Chan()
        out: gr.Chan[tuple[int, Any, bool]] = gr.Chan(1)

        async def selector() -> None:
            await out.send(await gr.select(a.send("to-a"), b.recv()))

        h = gr.go(selector)
        await wait.parked(h.id, "select")
        assert await a.recv() == "to-a"
        assert await out.recv() == (0, None, True)

    gr.run(main, gomaxprocs=procs)


@procs
def test_woken_select_leaves_no_waiter_on_its_other_channels(procs: int, wait: Any) -> None:
    # Item 27: on wake-up its waiters on the other channels are removed, so a
    # later operation on them does not complete against the finished select.
    async def main() -> None:
        a: gr.Chan[int] = gr.Chan()
        b: gr.Chan[int] = gr.Chan()
        c: gr.Chan[int] = gr.Chan()
        out: gr.Chan[tuple[int, Any, bool]] = gr.Chan(1)

        async def selector() -> None:
            await out.send(await gr.select(a.recv(), b.recv(), c.send(1), a.recv()))

        h = gr.go(selector)
        await wait.parked(h.id, "select")
        await b.send(2)
        assert await out.recv() == (1, 2, True)
        await wait.gone(h.id)
        assert await gr.select(a.send(3), default=True) == (-1, None, False)
        assert await gr.select(b.send(3), default=True) == (-1, None, False)
        assert await gr.select(c.recv(), default=True) == (-1, None, False)

    gr.run(main, gomaxprocs=procs)


@pytest.mark.parametrize("procs", [1, 2])
def test_select_with_many_cases(procs: int, wait: Any) -> None:
    n = 2000

    async def main() -> None:
        chans: list[gr.Chan[int]] = [gr.Chan(1) for _ in range(n)]
        cases = [c.recv() for c in chans]
        await chans[1234].send(5)
        assert await gr.select(*cases) == (1234, 5, True)
        out: gr.Chan[tuple[int, Any, bool]] = gr.Chan(1)

        async def selector() -> None:
            await out.send(await gr.select(*cases))

        h = gr.go(selector)
        await wait.parked(h.id, "select")
        await chans[n - 1].send(6)
        assert await out.recv() == (n - 1, 6, True)
        for c in chans:  # no stale waiter of the finished selects takes the value
            assert await gr.select(c.send(0), default=True) == (0, None, True)
            assert len(c) == 1

    gr.run(main, gomaxprocs=procs)


@procs
def test_a_select_parked_in_a_loop_leaves_one_waiter_on_a_channel_that_never_fires(procs: int, wait: Any) -> None:
    # Each park queues a waiter on both channels; the one on ``idle`` goes
    # stale when ``busy`` fires. The next park drops it rather than queueing
    # behind it, so the idle channel holds one waiter, not a growing queue.
    rounds = 20

    async def main() -> None:
        busy: gr.Chan[int] = gr.Chan()
        idle: gr.Chan[int] = gr.Chan()
        got: gr.Chan[list[int]] = gr.Chan(1)

        async def selector() -> None:
            seen = []
            for _ in range(rounds):
                i, v, ok = await gr.select(busy.recv(), idle.recv())
                assert (i, ok) == (0, True)
                seen.append(v)
            await got.send(seen)

        h = gr.go(selector)
        for k in range(rounds):
            await wait.parked(h.id, "select")
            await busy.send(k)
        assert await got.recv() == list(range(rounds))
        q = idle._recvq  # type: ignore[attr-defined]
        assert q is None or type(q) is tuple, f"idle channel's receive queue: {q!r}"
        assert await gr.select(idle.send(1), default=True) == (-1, None, False)  # and it is stale

    gr.run(main, gomaxprocs=procs)


@procs
def test_parked_selects_and_plain_receivers_share_one_fifo(procs: int, wait: Any) -> None:
    # A parked select's waiter joins the channel's queue at the tail like any
    # other receiver: first come, first served across both kinds.
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        other: gr.Chan[int] = gr.Chan()
        out: gr.Chan[tuple[int, Any]] = gr.Chan(6)

        async def plain(k: int) -> None:
            await out.send((k, await ch.recv()))

        async def selecting(k: int) -> None:
            _, v, _ = await gr.select(other.recv(), ch.recv())
            await out.send((k, v))

        for k in range(6):
            h = gr.go(selecting if k % 2 else plain, k)
            await wait.parked(h.id, "select" if k % 2 else "chan receive")
        for v in range(6):
            await ch.send(10 * v)
        assert sorted([await out.recv() for _ in range(6)]) == [(k, 10 * k) for k in range(6)]

    gr.run(main, gomaxprocs=procs)


@procs
def test_parked_selects_and_plain_senders_share_one_fifo(procs: int, wait: Any) -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(1)
        other: gr.Chan[int] = gr.Chan()
        await ch.send(-1)

        async def plain(k: int) -> None:
            await ch.send(k)

        async def selecting(k: int) -> None:
            await gr.select(other.recv(), ch.send(k))

        for k in range(6):
            h = gr.go(selecting if k % 2 else plain, k)
            await wait.parked(h.id, "select" if k % 2 else "chan send")
        assert [await ch.recv() for _ in range(7)] == [-1, 0, 1, 2, 3, 4, 5]

    gr.run(main, gomaxprocs=procs)


# --------------------------------------------------------------------------- closed channels


def test_select_send_on_closed_channel_raises() -> None:
    # Item 31: a send case on a closed channel is ready; chosen, it raises.
    async def main() -> None:
        closed: gr.Chan[int] = gr.Chan(1)
        closed.close()
        with pytest.raises(gr.ClosedChannelError) as ei:
            await gr.select(closed.send(1), default=True)
        assert str(ei.value) == "send on closed channel"
        with pytest.raises(gr.ClosedChannelError, match="send on closed channel"):
            await gr.select(closed.send(1))
        other: gr.Chan[int] = gr.Chan()
        with pytest.raises(gr.ClosedChannelError, match="send on closed channel"):
            await gr.select(other.recv(), closed.send(1), None)

    gr.run(main)


def test_select_with_closed_send_and_another_ready_case_raises_only_sometimes() -> None:
    # Item 31: the choice is random, so the panic happens only some of the time.
    async def main() -> tuple[int, int]:
        closed: gr.Chan[int] = gr.Chan()
        closed.close()
        ready: gr.Chan[int] = gr.Chan(1)
        raised = took = 0
        for _ in range(200):
            if len(ready) == 0:
                await ready.send(1)
            try:
                i, v, ok = await gr.select(closed.send(0), ready.recv())
            except gr.ClosedChannelError:
                raised += 1
            else:
                assert (i, v, ok) == (1, 1, True)
                took += 1
        return raised, took

    raised, took = gr.run(main)
    assert raised > 20 and took > 20, (raised, took)


@procs
def test_close_wakes_a_parked_select_receive(procs: int, wait: Any) -> None:
    # Item 32.
    async def main() -> None:
        a: gr.Chan[int] = gr.Chan()
        b: gr.Chan[int] = gr.Chan()
        out: gr.Chan[tuple[int, Any, bool]] = gr.Chan(2)

        async def selector() -> None:
            await out.send(await gr.select(a.recv(), b.recv_ok()))

        async def selector_plain() -> None:
            await out.send(await gr.select(b.recv(), a.recv()))

        ids = [gr.go(selector).id, gr.go(selector_plain).id]
        await wait.all_parked(ids, "select")
        b.close()
        got = sorted([await out.recv(), await out.recv()])
        assert got == [(0, None, False), (1, None, False)]

    gr.run(main, gomaxprocs=procs)


@procs
def test_close_makes_a_parked_select_send_raise(procs: int, wait: Any) -> None:
    async def main() -> None:
        a: gr.Chan[int] = gr.Chan()
        b: gr.Chan[int] = gr.Chan()
        out: gr.Chan[str] = gr.Chan(1)

        async def selector() -> None:
            try:
                await gr.select(a.recv(), b.send(1))
            except gr.ClosedChannelError as e:
                await out.send(str(e))
            else:
                await out.send("no error")

        h = gr.go(selector)
        await wait.parked(h.id, "select")
        b.close()
        assert await out.recv() == "send on closed channel"
        assert await gr.select(a.send(0), default=True) == (-1, None, False)

    gr.run(main, gomaxprocs=procs)


# --------------------------------------------------------------------------- blocking forever


def test_select_with_no_cases_blocks_forever(wait: Any) -> None:
    # Item 28: select {} parks with wait reason "select (no cases)"; main
    # returning abandons it.
    async def main() -> str:
        async def forever() -> None:
            await gr.select()
            raise AssertionError("select() returned")

        h = gr.go(forever)
        info = await wait.parked(h.id, "select (no cases)")
        return info.state

    assert gr.run(main) == "waiting"


def test_select_with_only_none_cases_blocks_forever(wait: Any) -> None:
    # Item 29: all cases nil, no default: blocks forever, wait reason "select".
    async def main() -> None:
        async def forever() -> None:
            await gr.select(None, None)
            raise AssertionError("select(None, None) returned")

        h = gr.go(forever)
        await wait.parked(h.id, "select")
        for _ in range(50):
            await gr.gosched()
        info = wait.info(h.id)
        assert info is not None and info.wait_reason == "select"

    gr.run(main)


def test_select_with_no_cases_alone_is_a_deadlock() -> None:
    async def main() -> None:
        await gr.select()

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    msg = str(ei.value)
    assert msg.startswith("all goroutines are asleep - deadlock!")
    assert "goroutine 1 [select (no cases)]:" in msg


def test_select_with_only_none_cases_alone_is_a_deadlock() -> None:
    async def main() -> None:
        await gr.select(None)

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    msg = str(ei.value)
    assert msg.startswith("all goroutines are asleep - deadlock!")
    assert "goroutine 1 [select]:" in msg


# --------------------------------------------------------------------------- same channel in several cases


def test_same_channel_in_several_ready_cases() -> None:
    async def main() -> Counter[int]:
        ch: gr.Chan[int] = gr.Chan(1)
        counts: Counter[int] = Counter()
        for i in range(400):
            await ch.send(i)
            k, v, ok = await gr.select(ch.recv(), ch.recv_ok(), ch.recv())
            assert (v, ok) == (i, True)
            counts[k] += 1
        assert len(ch) == 0
        return counts

    counts = gr.run(main)
    assert set(counts) == {0, 1, 2}


@procs
def test_self_select_on_unbuffered_channel_does_not_rendezvous(procs: int, wait: Any) -> None:
    # Item 33 (TestSelfSelect): a send and a receive on the same unbuffered
    # channel in one select just block; another goroutine completes it.
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        out: gr.Chan[tuple[int, Any, bool]] = gr.Chan(1)

        async def selfsel() -> None:
            await out.send(await gr.select(ch.send(1), ch.recv()))

        h = gr.go(selfsel)
        await wait.parked(h.id, "select")
        for _ in range(50):
            await gr.gosched()
        assert len(out) == 0, "a select rendezvoused with itself"
        info = wait.info(h.id)
        assert info is not None and info.wait_reason == "select"
        assert await ch.recv() == 1
        assert await out.recv() == (0, None, True)

        h = gr.go(selfsel)
        await wait.parked(h.id, "select")
        await ch.send(2)
        assert await out.recv() == (1, 2, True)

    gr.run(main, gomaxprocs=procs)


def test_close_wakes_a_self_select_through_its_receive_case(wait: Any) -> None:
    # closechan releases the receivers first: a select parked with both a send
    # and a receive on the closed channel returns the receive, (None, False),
    # and does not raise.
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        out: gr.Chan[Any] = gr.Chan(1)

        async def selfsel() -> None:
            try:
                await out.send(await gr.select(ch.send(1), ch.recv()))
            except gr.ClosedChannelError as e:
                await out.send(e)

        h = gr.go(selfsel)
        await wait.parked(h.id, "select")
        ch.close()
        assert await out.recv() == (1, None, False)

    gr.run(main)


def test_self_select_alone_is_a_deadlock() -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        await gr.select(ch.send(1), ch.recv())

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    assert "goroutine 1 [select]:" in str(ei.value)


def test_self_select_on_buffered_channel_proceeds() -> None:
    # TestSelfSelect with cap 1: the buffer makes exactly one case ready each time.
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(1)
        for i in range(100):
            k, v, ok = await gr.select(ch.send(i), ch.recv())
            if i % 2 == 0:
                assert (k, v, ok) == (0, None, True)
            else:
                assert (k, v, ok) == (1, i - 1, True)

    gr.run(main)


# --------------------------------------------------------------------------- operation objects


@procs
def test_cases_built_once_and_reused_in_a_loop(procs: int) -> None:
    async def main() -> None:
        a: gr.Chan[int] = gr.Chan()
        b: gr.Chan[int] = gr.Chan(3)
        quit_: gr.Chan[None] = gr.Chan()
        n = 300

        async def producer(ch: gr.Chan[int], base: int) -> None:
            for i in range(n):
                await ch.send(base + i)

        gr.go(producer, a, 0)
        gr.go(producer, b, 10_000)
        cases = [a.recv(), b.recv_ok(), quit_.recv(), None]
        from_a: list[int] = []
        from_b: list[int] = []
        while len(from_a) + len(from_b) < 2 * n:
            i, v, ok = await gr.select(*cases)
            assert ok
            (from_a if i == 0 else from_b).append(v)
            assert i in (0, 1)
        assert from_a == list(range(n))
        assert from_b == list(range(10_000, 10_000 + n))

        # A send op reused: each select performs it afresh.
        out: gr.Chan[int] = gr.Chan(5)
        send_cases = (out.send(42), quit_.recv())
        for _ in range(5):
            assert await gr.select(*send_cases) == (0, None, True)
        assert [await out.recv() for _ in range(5)] == [42] * 5

    gr.run(main, gomaxprocs=procs)


def test_same_op_object_in_two_cases() -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(1)
        op = ch.recv()
        await ch.send(1)
        k, v, ok = await gr.select(op, op)
        assert k in (0, 1) and (v, ok) == (1, True)
        assert await gr.select(op, op, default=True) == (-1, None, False)

    gr.run(main)


# --------------------------------------------------------------------------- misuse


@pytest.mark.parametrize("bad", [1, "x", object(), lambda: None])
def test_select_with_a_non_operation_argument_is_type_error(bad: Any) -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(1)
        with pytest.raises(TypeError):
            await gr.select(ch.recv(), bad)
        with pytest.raises(TypeError):
            await gr.select(bad, default=True)

    gr.run(main)


def test_select_with_a_channel_instead_of_an_operation_is_type_error() -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(1)
        await ch.send(1)
        with pytest.raises(TypeError):
            await gr.select(ch)  # type: ignore[arg-type]
        assert len(ch) == 1  # nothing was performed

    gr.run(main)


def test_select_with_an_unawaited_coroutine_is_type_error() -> None:
    async def coro() -> None:
        return None

    async def main() -> None:
        c = coro()
        try:
            with pytest.raises(TypeError):
                await gr.select(c)  # type: ignore[arg-type]
        finally:
            c.close()

    gr.run(main)


@pytest.mark.parametrize("cases", ["recv", "send", "none", "empty-default"])
def test_select_outside_a_goroutine_raises(cases: str) -> None:
    ch: gr.Chan[int] = gr.Chan(1)

    async def use() -> Any:
        if cases == "recv":
            return await gr.select(ch.recv(), default=True)
        if cases == "send":
            return await gr.select(ch.send(1))
        if cases == "none":
            return await gr.select(None)
        return await gr.select(default=True)

    with pytest.raises(RuntimeError, match="goroutine"):
        asyncio.run(use())
    assert len(ch) == 0


# --------------------------------------------------------------------------- fairness


@pytest.mark.timeout(60)
def test_select_fairness() -> None:
    # chan_test.go TestSelectFairness: c1 and c2 always ready, c3 and c4 never;
    # in n trials each ready case must be chosen within 4.89 sigma of n/2.
    n = 10_000

    async def main() -> Counter[int]:
        c1: gr.Chan[int] = gr.Chan(n + 1)
        c2: gr.Chan[int] = gr.Chan(n + 1)
        for _ in range(n + 1):
            await c1.send(1)
            await c2.send(2)
        c3: gr.Chan[int] = gr.Chan()
        c4: gr.Chan[int] = gr.Chan()
        cases = (c3.recv(), c4.recv(), c1.recv(), c2.recv())
        counts: Counter[int] = Counter()
        for _ in range(n):
            _, v, _ = await gr.select(*cases)
            counts[v] += 1
        return counts

    counts = gr.run(main)
    assert sum(counts.values()) == n
    assert_uniform(counts, [1, 2], n)


@pytest.mark.timeout(60)
def test_select_fairness_four_ready_cases_and_default() -> None:
    # Source order gives no priority: four ready cases (two on one channel,
    # one a send), with default available and never taken.
    n = 8_000

    async def main() -> Counter[int]:
        a: gr.Chan[int] = gr.Chan(n + 1)
        b: gr.Chan[int] = gr.Chan(n + 1)
        sink: gr.Chan[int] = gr.Chan(2 * n)
        for _ in range(n + 1):
            await a.send(0)
            await b.send(0)
        cases = (a.recv(), b.recv_ok(), None, sink.send(3), a.recv())
        counts: Counter[int] = Counter()
        for _ in range(n):
            i, _, _ = await gr.select(*cases, default=True)
            counts[i] += 1
            if i == 1:
                await b.send(0)
            elif i in (0, 4):
                await a.send(0)
        return counts

    counts = gr.run(main)
    assert_uniform(counts, [0, 1, 3, 4], n)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("procs", [1, 2])
def test_blocked_select_is_woken_through_a_random_case(procs: int, wait: Any) -> None:
    # A select that blocked is queued on its cases in random order: with two
    # receive cases on the same channel, a sender arriving later must pick
    # each case about half the time (same 4.89-sigma bound).
    n = 1_500

    async def main() -> Counter[int]:
        ch: gr.Chan[int] = gr.Chan()
        res: gr.Chan[int] = gr.Chan(1)
        cases = (ch.recv(), ch.recv())

        async def selector() -> None:
            for _ in range(n):
                i, v, ok = await gr.select(*cases)
                assert ok and v == 1
                await res.send(i)

        h = gr.go(selector)
        counts: Counter[int] = Counter()
        for _ in range(n):
            await wait.parked(h.id, "select")
            await ch.send(1)
            counts[await res.recv()] += 1
        return counts

    counts = gr.run(main, gomaxprocs=procs)
    assert sum(counts.values()) == n
    assert_uniform(counts, [0, 1], n)


@pytest.mark.timeout(60)
def test_blocked_select_send_cases_are_queued_in_random_order(wait: Any) -> None:
    # The same for a parked select with two send cases on one channel: a
    # receiver arriving later takes each case's value about half the time.
    n = 1_500

    async def main() -> Counter[int]:
        ch: gr.Chan[str] = gr.Chan()
        cases = (ch.send("first"), ch.send("second"))
        res: gr.Chan[int] = gr.Chan(1)

        async def selector() -> None:
            for _ in range(n):
                i, _, _ = await gr.select(*cases)
                await res.send(i)

        h = gr.go(selector)
        counts: Counter[int] = Counter()
        for _ in range(n):
            await wait.parked(h.id, "select")
            v = await ch.recv()
            i = await res.recv()
            assert v == ("first", "second")[i]
            counts[i] += 1
        return counts

    counts = gr.run(main)
    assert_uniform(counts, [0, 1], n)


@pytest.mark.parametrize("cap", [0, 100])
@pytest.mark.parametrize("procs", [1, 2])
def test_pseudo_random_send(cap: int, procs: int) -> None:
    # chan_test.go TestPseudoRandomSend: a select between two sends on the
    # same channel must pick both (each more than n/10 times).
    n = 100

    async def main() -> list[int]:
        c: gr.Chan[int] = gr.Chan(cap)
        got: gr.Chan[list[int]] = gr.Chan(1)

        async def reader() -> None:
            out = []
            for _ in range(n):
                await gr.gosched()
                out.append(await c.recv())
            await got.send(out)

        gr.go(reader)
        for _ in range(n):
            await gr.select(c.send(1), c.send(0))
        return await got.recv()

    values = gr.run(main, gomaxprocs=procs)
    n1 = sum(values)
    n0 = len(values) - n1
    assert n0 > n // 10 and n1 > n // 10, f"want pseudorandom, got {n0} zeros and {n1} ones (cap {cap})"


@procs
def test_two_crossed_selects_pair_up_exactly_once(procs: int) -> None:
    # A: select(c1 <- a, <-c2); B: select(c2 <- b, <-c1). Each round exactly
    # one rendezvous completes both selects: A's send with B's receive, or
    # B's send with A's receive, never both, never neither. The arriving
    # select sees both pairings ready and picks one at random.
    rounds = 300

    async def main() -> tuple[list[tuple[int, Any]], list[tuple[int, Any]]]:
        c1: gr.Chan[tuple[str, int]] = gr.Chan()
        c2: gr.Chan[tuple[str, int]] = gr.Chan()
        res: gr.Chan[tuple[str, list[tuple[int, Any]]]] = gr.Chan(2)

        async def side(me: str, out: gr.Chan[tuple[str, int]], inp: gr.Chan[tuple[str, int]]) -> None:
            got: list[tuple[int, Any]] = []
            for r in range(rounds):
                i, v, ok = await gr.select(out.send((me, r)), inp.recv())
                assert ok
                got.append((i, v))
            await res.send((me, got))

        gr.go(side, "a", c1, c2)
        gr.go(side, "b", c2, c1)
        results = dict([await res.recv(), await res.recv()])
        return results["a"], results["b"]

    a, b = gr.run(main, gomaxprocs=procs)
    a_sent = 0
    for r, ((ia, va), (ib, vb)) in enumerate(zip(a, b, strict=True)):
        if ia == 0:
            assert (ib, vb) == (1, ("a", r)) and va is None
            a_sent += 1
        else:
            assert (ia, va) == (1, ("b", r)) and ib == 0 and vb is None
    assert rounds // 10 < a_sent < rounds - rounds // 10, f"A's send won {a_sent} of {rounds} rounds"
