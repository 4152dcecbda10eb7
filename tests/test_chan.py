"""Channels: the contract's "Channels" table, to the letter of Go's chan.go.

Item numbers in comments refer to section 1 of go-runtime-notes.md.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import goroutines as gr

pytestmark = [
    pytest.mark.usefixtures("no_leaked_runtime_threads"),
    pytest.mark.timeout(30),
    # a runtime thread dying with an exception is a runtime bug, whatever the test
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]

procs = pytest.mark.parametrize("procs", [1, 2, 4])

# A channel made at import time, before any run (contract: "Where objects live").
MODULE_CHAN: gr.Chan[int] = gr.Chan(1)


# --------------------------------------------------------------------------- construction


def test_default_is_unbuffered() -> None:
    ch: gr.Chan[Any] = gr.Chan()
    assert ch.cap == 0
    assert len(ch) == 0
    assert gr.Chan(0).cap == 0
    assert gr.Chan(cap=0).cap == 0


@pytest.mark.parametrize("n", [1, 2, 5, 1000])
def test_buffered_capacity(n: int) -> None:
    ch: gr.Chan[int] = gr.Chan(n)
    assert ch.cap == n
    assert len(ch) == 0
    assert gr.Chan(cap=n).cap == n


def test_chan_is_generic() -> None:
    ch = gr.Chan[int](2)
    assert ch.cap == 2


@pytest.mark.parametrize("bad", [-1, -100])
def test_negative_capacity_is_value_error(bad: int) -> None:
    with pytest.raises(ValueError, match=r"(?i)cap"):
        gr.Chan(bad)


@pytest.mark.parametrize("bad", ["3", 1.5, None, [1], 2.0])
def test_non_int_capacity_is_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match=r"(?i)cap"):
        gr.Chan(bad)


# --------------------------------------------------------------------------- send / receive


@procs
def test_unbuffered_send_completes_only_when_received(procs: int, wait: Any) -> None:
    # Item 6: with no receiver the sender parks ("chan send") until a receiver
    # takes the value; an unbuffered channel's len stays 0 meanwhile (item 20).
    async def main() -> None:
        ch: gr.Chan[str] = gr.Chan()
        done: gr.Chan[None] = gr.Chan(1)
        log: list[str] = []

        async def sender() -> None:
            await ch.send("x")
            log.append("sent")
            await done.send(None)

        h = gr.go(sender)
        await wait.parked(h.id, "chan send")
        for _ in range(20):
            await gr.gosched()
        assert log == [], "an unbuffered send completed with no receiver"
        assert len(ch) == 0
        assert await ch.recv() == "x"
        await done.recv()
        assert log == ["sent"]

    gr.run(main, gomaxprocs=procs)


@procs
def test_recv_parks_until_a_value_arrives(procs: int, wait: Any) -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        out: gr.Chan[tuple[int, bool]] = gr.Chan(1)

        async def receiver() -> None:
            await out.send(await ch.recv_ok())

        h = gr.go(receiver)
        await wait.parked(h.id, "chan receive")
        assert len(out) == 0
        await ch.send(41)
        assert await out.recv() == (41, True)

    gr.run(main, gomaxprocs=procs)


@pytest.mark.parametrize("cap", [1, 2, 5])
def test_buffered_send_does_not_block_until_full(cap: int, wait: Any) -> None:
    # Item 7. main is the only goroutine: a send that blocked would deadlock.
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(cap)
        for i in range(cap):
            await ch.send(i)
            assert len(ch) == i + 1
        assert ch.cap == cap

        async def extra() -> None:
            await ch.send(cap)

        h = gr.go(extra)
        await wait.parked(h.id, "chan send")
        assert len(ch) == cap
        assert [await ch.recv() for _ in range(cap + 1)] == list(range(cap + 1))
        await wait.gone(h.id)
        assert len(ch) == 0

    gr.run(main)


@pytest.mark.parametrize("cap", [1, 3, 64])
def test_buffered_channel_is_fifo(cap: int) -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(cap)
        got: list[int] = []
        for rnd in range(3):
            vals = list(range(rnd * cap, (rnd + 1) * cap))
            for v in vals:
                await ch.send(v)
            for _ in vals:
                got.append(await ch.recv())
        assert got == list(range(3 * cap))

    gr.run(main)


@procs
def test_full_buffer_and_waiting_senders_drain_as_one_fifo(procs: int, wait: Any) -> None:
    # Item 22: cap 2 holding 0,1 plus senders 2..5 waiting yields 0 1 2 3 4 5.
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(2)
        await ch.send(0)
        await ch.send(1)

        async def sender(v: int) -> None:
            await ch.send(v)

        for v in range(2, 6):
            h = gr.go(sender, v)
            await wait.parked(h.id, "chan send")  # queue them in order 2, 3, 4, 5
        assert len(ch) == 2
        got = [await ch.recv() for _ in range(6)]
        assert got == [0, 1, 2, 3, 4, 5]
        assert len(ch) == 0

    gr.run(main, gomaxprocs=procs)


@procs
def test_waiting_receivers_are_served_first_come_first_served(procs: int, wait: Any) -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        out: gr.Chan[tuple[int, int]] = gr.Chan(10)

        async def receiver(k: int) -> None:
            await out.send((k, await ch.recv()))

        for k in range(5):
            h = gr.go(receiver, k)
            await wait.parked(h.id, "chan receive")
        for v in range(5):
            await ch.send(100 + v)
        got = sorted([await out.recv() for _ in range(5)])
        assert got == [(k, 100 + k) for k in range(5)]

    gr.run(main, gomaxprocs=procs)


@procs
@pytest.mark.parametrize("cap", [0, 1])
def test_waiting_senders_are_served_first_come_first_served(procs: int, cap: int, wait: Any) -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(cap)
        for i in range(cap):
            await ch.send(-1 - i)

        async def sender(v: int) -> None:
            await ch.send(v)

        for v in range(6):
            h = gr.go(sender, v)
            await wait.parked(h.id, "chan send")
        got = [await ch.recv() for _ in range(6 + cap)]
        assert got == [-1 - i for i in range(cap)] + list(range(6))

    gr.run(main, gomaxprocs=procs)


def test_send_to_a_waiting_receiver_bypasses_the_buffer(wait: Any) -> None:
    # Item 5: with a receiver waiting, the value goes straight to it; it never
    # sits in the buffer (len stays 0 even before the receiver runs again).
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(1)
        out: gr.Chan[int] = gr.Chan(1)

        async def receiver() -> None:
            await out.send(await ch.recv())

        h = gr.go(receiver)
        await wait.parked(h.id, "chan receive")
        await ch.send(3)
        assert len(ch) == 0
        await ch.send(4)  # the buffer slot is still free: no blocking
        assert len(ch) == 1
        assert await out.recv() == 3
        assert await ch.recv() == 4

    gr.run(main, gomaxprocs=1)


def test_receive_from_full_buffer_moves_first_waiting_sender_into_it(wait: Any) -> None:
    # Item 11: the receiver takes the head, the first waiting sender's value
    # joins the tail and that sender is woken (its send has completed).
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(2)
        await ch.send(0)
        await ch.send(1)

        async def sender(v: int) -> None:
            await ch.send(v)

        h2 = gr.go(sender, 2)
        await wait.parked(h2.id, "chan send")
        h3 = gr.go(sender, 3)
        await wait.parked(h3.id, "chan send")
        assert await ch.recv() == 0
        assert len(ch) == 2  # 1 and 2 buffered, before sender 2 even runs again
        g2 = wait.info(h2.id)
        assert g2 is None or g2.wait_reason != "chan send"
        g3 = wait.info(h3.id)
        assert g3 is not None and (g3.state, g3.wait_reason) == ("waiting", "chan send")
        assert [await ch.recv() for _ in range(3)] == [1, 2, 3]

    gr.run(main, gomaxprocs=1)


@procs
@pytest.mark.parametrize("cap", [0, 1, 7])
def test_values_from_one_sender_arrive_in_order(procs: int, cap: int) -> None:
    n = 500

    async def main() -> list[int]:
        ch: gr.Chan[int] = gr.Chan(cap)

        async def producer() -> None:
            for i in range(n):
                await ch.send(i)
            ch.close()

        gr.go(producer)
        return [v async for v in ch]

    assert gr.run(main, gomaxprocs=procs) == list(range(n))


@pytest.mark.parametrize("cap", [0, 3])
def test_receive_none_and_falsy_values_have_ok_true(cap: int) -> None:
    # Item 13: ok is False only for "closed and drained", never for a sent None/zero.
    values: list[Any] = [None, 0, False, "", (), None]

    async def main() -> list[tuple[Any, bool]]:
        ch: gr.Chan[Any] = gr.Chan(cap)

        async def producer() -> None:
            for v in values:
                await ch.send(v)

        gr.go(producer)
        return [await ch.recv_ok() for _ in values]

    assert gr.run(main) == [(v, True) for v in values]


def test_send_op_object_is_reusable() -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(3)
        op = ch.send(7)
        for _ in range(3):
            await op
        assert len(ch) == 3
        rop = ch.recv()
        assert [await rop for _ in range(3)] == [7, 7, 7]
        okop = ch.recv_ok()
        await op
        assert await okop == (7, True)
        ch.close()
        assert await okop == (None, False)
        assert await rop is None

    gr.run(main)


def test_send_op_reusable_across_goroutines() -> None:
    async def main() -> None:
        ch: gr.Chan[str] = gr.Chan()
        op = ch.send("v")
        done: gr.Chan[None] = gr.Chan(5)

        async def sender() -> None:
            await op
            await done.send(None)

        for _ in range(5):
            gr.go(sender)
        assert [await ch.recv() for _ in range(5)] == ["v"] * 5
        for _ in range(5):
            await done.recv()

    gr.run(main)


# --------------------------------------------------------------------------- close


@procs
def test_close_wakes_every_waiting_receiver(procs: int, wait: Any) -> None:
    # Item 17: every parked receiver gets (zero, ok=false); recv() gets None.
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        out: gr.Chan[tuple[str, Any]] = gr.Chan(10)

        async def with_ok() -> None:
            await out.send(("ok", await ch.recv_ok()))

        async def plain() -> None:
            await out.send(("plain", await ch.recv()))

        ids = [gr.go(with_ok).id for _ in range(3)] + [gr.go(plain).id for _ in range(2)]
        await wait.all_parked(ids, "chan receive")
        ch.close()
        got = sorted([await out.recv() for _ in range(5)], key=repr)
        assert got == sorted([("ok", (None, False))] * 3 + [("plain", None)] * 2, key=repr)

    gr.run(main, gomaxprocs=procs)


def test_close_keeps_buffered_values_receivable() -> None:
    # Item 18: cap 3 with 2 buffered, closed: len 2, cap 3, then 1 true, 2 true, 0 false.
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(3)
        await ch.send(1)
        await ch.send(2)
        ch.close()
        assert (len(ch), ch.cap) == (2, 3)
        assert await ch.recv_ok() == (1, True)
        assert len(ch) == 1
        assert await ch.recv() == 2
        assert (len(ch), ch.cap) == (0, 3)
        for _ in range(3):  # a closed, drained channel never blocks
            assert await ch.recv_ok() == (None, False)
            assert await ch.recv() is None

    gr.run(main)


@pytest.mark.parametrize("cap", [0, 1, 4])
def test_receive_on_closed_drained_channel_never_blocks(cap: int) -> None:
    # main is the only goroutine: a receive that blocked would be a deadlock.
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(cap)
        ch.close()
        for _ in range(100):
            assert await ch.recv_ok() == (None, False)
        assert await ch.recv() is None

    gr.run(main)


@pytest.mark.parametrize("cap", [0, 1, 4])
def test_send_on_closed_channel_raises(cap: int) -> None:
    # Item 8: even with free buffer space.
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(cap)
        ch.close()
        with pytest.raises(gr.ClosedChannelError) as ei:
            await ch.send(1)
        assert str(ei.value) == "send on closed channel"
        assert len(ch) == 0
        assert await ch.recv_ok() == (None, False)

    gr.run(main)


def test_close_twice_raises_inside_a_goroutine() -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        ch.close()
        with pytest.raises(gr.ClosedChannelError) as ei:
            ch.close()
        assert str(ei.value) == "close of closed channel"

    gr.run(main)


def test_close_twice_raises_outside_the_runtime() -> None:
    ch: gr.Chan[int] = gr.Chan(2)
    ch.close()
    with pytest.raises(gr.ClosedChannelError) as ei:
        ch.close()
    assert str(ei.value) == "close of closed channel"


@procs
@pytest.mark.parametrize("cap", [0, 1])
def test_sender_parked_when_channel_closes_raises(procs: int, cap: int, wait: Any) -> None:
    # Item 9: a parked sender is woken by close and raises; its value is not delivered.
    async def main() -> None:
        ch: gr.Chan[str] = gr.Chan(cap)
        for _ in range(cap):
            await ch.send("buffered")
        out: gr.Chan[str] = gr.Chan(10)

        async def sender(k: int) -> None:
            try:
                await ch.send(f"lost{k}")
            except gr.ClosedChannelError as e:
                await out.send(str(e))
            else:
                await out.send("delivered")

        ids = [gr.go(sender, k).id for k in range(3)]
        await wait.all_parked(ids, "chan send")
        ch.close()
        assert [await out.recv() for _ in range(3)] == ["send on closed channel"] * 3
        assert [v async for v in ch] == ["buffered"] * cap

    gr.run(main, gomaxprocs=procs)


def test_close_from_a_foreign_thread_wakes_a_parked_receiver(wait: Any) -> None:
    # Contract: close() may be called from any thread, inside the runtime or not.
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        out: gr.Chan[tuple[Any, bool]] = gr.Chan(1)

        async def receiver() -> None:
            await out.send(await ch.recv_ok())

        h = gr.go(receiver)
        await wait.parked(h.id, "chan receive")

        def close_in_thread() -> None:
            t = threading.Thread(target=ch.close, name="test-closer")
            t.start()
            t.join()

        await gr.syscall(close_in_thread)
        assert await out.recv() == (None, False)

    gr.run(main)


def test_len_cap_close_from_any_thread() -> None:
    ch: gr.Chan[int] = gr.Chan(3)
    seen: list[tuple[int, int]] = []

    async def main() -> None:
        await ch.send(1)
        await ch.send(2)

        def look() -> None:
            t = threading.Thread(target=lambda: seen.append((len(ch), ch.cap)), name="test-looker")
            t.start()
            t.join()

        await gr.syscall(look)

    gr.run(main)
    assert seen == [(2, 3)]
    assert (len(ch), ch.cap) == (2, 3)  # outside the runtime too
    ch.close()

    async def drain() -> list[tuple[Any, bool]]:
        return [await ch.recv_ok() for _ in range(3)]

    assert gr.run(drain) == [(1, True), (2, True), (None, False)]


def test_channel_made_before_run_is_usable_in_later_runs() -> None:
    async def put() -> None:
        await MODULE_CHAN.send(5)

    async def get() -> int:
        return await MODULE_CHAN.recv()

    gr.run(put)
    assert len(MODULE_CHAN) == 1
    assert gr.run(get) == 5


# --------------------------------------------------------------------------- range


@procs
def test_async_for_receives_until_closed(procs: int) -> None:
    async def main() -> list[int]:
        ch: gr.Chan[int] = gr.Chan()

        async def producer() -> None:
            for i in range(10):
                await ch.send(i)
            ch.close()

        gr.go(producer)
        got = []
        async for v in ch:
            got.append(v)
        return got

    assert gr.run(main, gomaxprocs=procs) == list(range(10))


def test_async_for_drains_buffer_after_close_and_stops_on_closed_empty() -> None:
    async def main() -> None:
        ch: gr.Chan[Any] = gr.Chan(4)
        for v in (1, None, 3):
            await ch.send(v)
        ch.close()
        assert [v async for v in ch] == [1, None, 3]  # a sent None does not end the range
        assert [v async for v in ch] == []

    gr.run(main)


def test_async_for_wakes_when_closed_while_parked(wait: Any) -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        out: gr.Chan[list[int]] = gr.Chan(1)

        async def ranger() -> None:
            await out.send([v async for v in ch])

        h = gr.go(ranger)
        await ch.send(1)
        await wait.parked(h.id, "chan receive")
        ch.close()
        assert await out.recv() == [1]

    gr.run(main)


# --------------------------------------------------------------------------- blocking needs a goroutine


@pytest.mark.parametrize("kind", ["send", "recv", "recv_ok", "async for"])
@pytest.mark.parametrize("cap", [0, 1])
def test_awaiting_an_operation_outside_a_goroutine_raises(kind: str, cap: int) -> None:
    ch: gr.Chan[int] = gr.Chan(cap)

    async def use() -> Any:
        if kind == "send":
            return await ch.send(1)
        if kind == "recv":
            return await ch.recv()
        if kind == "recv_ok":
            return await ch.recv_ok()
        return [v async for v in ch]

    with pytest.raises(RuntimeError, match="goroutine"):
        asyncio.run(use())
    assert len(ch) == 0


def test_awaiting_an_operation_from_a_foreign_thread_during_a_run_raises() -> None:
    # A runtime is running, but the awaiting thread runs no goroutine.
    ch: gr.Chan[int] = gr.Chan(1)
    errors: list[BaseException] = []

    async def use() -> None:
        await ch.send(1)

    def foreign() -> None:
        try:
            asyncio.run(use())
        except BaseException as e:  # noqa: BLE001 - recorded for the assertion
            errors.append(e)

    async def main() -> None:
        def in_thread() -> None:
            t = threading.Thread(target=foreign, name="test-foreign")
            t.start()
            t.join()

        await gr.syscall(in_thread)

    gr.run(main)
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError), errors
    assert len(ch) == 0


def test_blocked_goroutines_do_not_hold_threads() -> None:
    # "Blocks the goroutine (never its thread)": 1000 parked receivers at
    # gomaxprocs=1 need only a handful of runtime threads.
    n = 1000

    async def main() -> int:
        ch: gr.Chan[int] = gr.Chan()
        out: gr.Chan[int] = gr.Chan(n)

        async def receiver() -> None:
            await out.send(await ch.recv() + 1)

        for _ in range(n):
            gr.go(receiver)
        for _ in range(n):
            await gr.gosched()
        threads = sum(1 for t in threading.enumerate() if t.name.startswith("goroutines-"))
        for i in range(n):
            await ch.send(i)
        total = sum([await out.recv() for _ in range(n)])
        assert total == sum(range(1, n + 1))
        return threads

    threads = gr.run(main, gomaxprocs=1)
    assert threads <= 10, f"{threads} runtime threads for {n} parked goroutines at gomaxprocs=1"


# --------------------------------------------------------------------------- model-based


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cap=st.integers(min_value=0, max_value=4),
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("send"), st.integers()),
            st.tuples(st.just("recv"), st.none()),
            st.tuples(st.just("recv_ok"), st.none()),
            st.tuples(st.just("close"), st.none()),
        ),
        max_size=40,
    ),
)
def test_non_blocking_operations_match_a_model(cap: int, ops: list[tuple[str, Any]]) -> None:
    # One goroutine drives a channel with non-blocking selects and close();
    # every outcome and len() must match a plain FIFO model of Go's channel.
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(cap)
        buf: list[int] = []
        closed = False
        for kind, v in ops:
            if kind == "close":
                if closed:
                    with pytest.raises(gr.ClosedChannelError, match="close of closed channel"):
                        ch.close()
                else:
                    ch.close()
                    closed = True
            elif kind == "send":
                if closed:
                    with pytest.raises(gr.ClosedChannelError, match="send on closed channel"):
                        await gr.select(ch.send(v), default=True)
                elif len(buf) < cap:
                    assert await gr.select(ch.send(v), default=True) == (0, None, True)
                    buf.append(v)
                else:
                    assert await gr.select(ch.send(v), default=True) == (-1, None, False)
            else:
                op = ch.recv() if kind == "recv" else ch.recv_ok()
                got = await gr.select(None, op, default=True)
                if buf:
                    assert got == (1, buf.pop(0), True)
                elif closed:
                    assert got == (1, None, False)
                else:
                    assert got == (-1, None, False)
            assert len(ch) == len(buf)
            assert ch.cap == cap

    gr.run(main)
