"""Exactly-once delivery under stress, at gomaxprocs 1, 2, 4 and 8.

Many senders, receivers and selects (and closes racing with them): no value
is lost, duplicated, or reordered per sender (as seen by any one receiver on
any one channel). Ports of chan_test.go's TestSelectStress and
TestMultiConsumer are included. Each test stays well under 10 s on 2 cores.

Every run here is ``run_checked``: a plain thread checks the scheduler's
invariants (``check_invariants``, under Sched.lock) all along, and CI runs
this file in debug mode too (GOROUTINES_DEBUG=1: lock ownership and order,
status transitions, the invariants at every idle M).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest

import goroutines as gr
from goroutines._core import current_sched
from goroutines._core._invariants import check_invariants

pytestmark = [
    pytest.mark.usefixtures("no_leaked_runtime_threads"),
    pytest.mark.timeout(60),
    # a runtime thread dying with an exception is a runtime bug, whatever the test
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]

PROCS = [1, 2, 4, 8]
procs = pytest.mark.parametrize("procs", PROCS)

Item = tuple[int, int]  # (sender id, sequence number)
Seen = list[tuple[int, int, int]]  # (channel index, sender id, sequence number) per receiver


def run_checked(main: Any, procs: int) -> Any:
    """``gr.run(main, gomaxprocs=procs)`` while a plain thread (started before
    the run, so it never holds off the deadlock check) runs
    ``check_invariants`` on the run's Sched as often as every 0.5 ms; a
    broken invariant fails the test."""
    stop = threading.Event()
    errors: list[BaseException] = []
    checks = [0]

    def checker() -> None:
        while not stop.is_set():
            sched = current_sched()
            if sched is not None and not sched.stopping:
                try:
                    check_invariants(sched)
                except BaseException as e:  # noqa: BLE001 - reported by the test
                    errors.append(e)
                    return
                checks[0] += 1
            stop.wait(0.0005)

    t = threading.Thread(target=checker, name="invariant-checker")
    t.start()
    try:
        return gr.run(main, gomaxprocs=procs)
    finally:
        stop.set()
        t.join()
        assert not errors, errors[0]


def check_exactly_once(sent: list[Item], received: list[Seen]) -> None:
    """Every sent item received once; per receiver and channel, each sender's items in order."""
    got = Counter((k, i) for seen in received for (_, k, i) in seen)
    dups = [x for x, c in got.items() if c > 1]
    assert not dups, f"{len(dups)} values received more than once, e.g. {dups[:5]}"
    want = Counter(sent)
    assert len(want) == len(sent), "test bug: duplicate items sent"
    lost = set(want) - set(got)
    extra = set(got) - set(want)
    assert not lost, f"{len(lost)} values lost, e.g. {sorted(lost)[:5]}"
    assert not extra, f"{len(extra)} values received that were never (successfully) sent, e.g. {sorted(extra)[:5]}"
    for r, seen in enumerate(received):
        last: dict[tuple[int, int], int] = {}
        for ci, k, i in seen:
            prev = last.get((ci, k), -1)
            assert i > prev, f"receiver {r} got ({k}, {i}) after ({k}, {prev}) on channel {ci}"
            last[(ci, k)] = i


@procs
@pytest.mark.parametrize("cap", [0, 5])
def test_many_senders_receivers_and_selects(procs: int, cap: int) -> None:
    # Two data channels. Senders alternate: plain send on their own channel,
    # or a select over sends on both. Receivers: plain range over one
    # channel, or a select over both that disables a closed channel's case
    # (Go's nil-channel idiom). main closes both once every sender is done.
    nsend, per, nrecv = 8, 500, 6

    async def main() -> tuple[list[Item], list[Seen]]:
        data: list[gr.Chan[Item]] = [gr.Chan(cap), gr.Chan(cap)]
        senders_done: gr.Chan[list[Item]] = gr.Chan(nsend)
        results: gr.Chan[Seen] = gr.Chan(nrecv)

        async def sender(k: int) -> None:
            mine = data[k % 2]
            both = None
            sent: list[Item] = []
            for i in range(per):
                item = (k, i)
                if (i + k) % 3 == 0:
                    both = (data[0].send(item), data[1].send(item))
                    await gr.select(*both)
                else:
                    await mine.send(item)
                sent.append(item)
            await senders_done.send(sent)

        async def ranger(ci: int) -> None:
            seen: Seen = []
            async for k, i in data[ci]:
                seen.append((ci, k, i))
            await results.send(seen)

        async def selector() -> None:
            seen: Seen = []
            cases: list[Any] = [data[0].recv_ok(), data[1].recv_ok()]
            while cases[0] is not None or cases[1] is not None:
                ci, v, ok = await gr.select(*cases)
                if not ok:
                    cases[ci] = None
                    continue
                seen.append((ci, v[0], v[1]))
            await results.send(seen)

        for r in range(nrecv):
            if r % 3 == 2:
                gr.go(selector)
            else:
                gr.go(ranger, r % 2)
        for k in range(nsend):
            gr.go(sender, k)
        sent: list[Item] = []
        for _ in range(nsend):
            sent.extend(await senders_done.recv())
        data[0].close()
        data[1].close()
        received = [await results.recv() for _ in range(nrecv)]
        return sent, received

    sent, received = run_checked(main, procs)
    assert len(sent) == nsend * per
    check_exactly_once(sent, received)


@procs
@pytest.mark.parametrize("cap", [0, 4])
def test_exactly_once_when_close_races_with_senders(procs: int, cap: int) -> None:
    # A receiver closes the channel in the middle of the traffic. Senders
    # (plain and select) stop at their first ClosedChannelError. Exactly the
    # values whose send succeeded are received, each once, in order.
    nsend, per, nrecv = 8, 600, 4
    close_after = nsend * per // 3

    async def main() -> tuple[list[Item], list[Seen], int]:
        ch: gr.Chan[Item] = gr.Chan(cap)
        never: gr.Chan[None] = gr.Chan()
        total: gr.Chan[int] = gr.Chan(1)  # a counter token shared by the receivers
        await total.send(0)
        senders_done: gr.Chan[tuple[list[Item], bool]] = gr.Chan(nsend)
        results: gr.Chan[Seen] = gr.Chan(nrecv)

        async def sender(k: int) -> None:
            sent: list[Item] = []
            raised = False
            cases = None
            for i in range(per):
                item = (k, i)
                try:
                    if k % 2:
                        cases = (ch.send(item), never.recv())
                        idx, _, _ = await gr.select(*cases)
                        assert idx == 0
                    else:
                        await ch.send(item)
                except gr.ClosedChannelError as e:
                    assert str(e) == "send on closed channel"
                    raised = True
                    break
                sent.append(item)
            await senders_done.send((sent, raised))

        async def receiver(r: int) -> None:
            seen: Seen = []
            while True:
                if r % 2:
                    _, v, ok = await gr.select(ch.recv_ok(), never.recv())
                else:
                    v, ok = await ch.recv_ok()
                if not ok:
                    break
                seen.append((0, v[0], v[1]))
                n = await total.recv() + 1
                if n == close_after:
                    ch.close()
                await total.send(n)
            await results.send(seen)

        for r in range(nrecv):
            gr.go(receiver, r)
        for k in range(nsend):
            gr.go(sender, k)
        sent: list[Item] = []
        raised = 0
        for _ in range(nsend):
            s, did_raise = await senders_done.recv()
            sent.extend(s)
            raised += did_raise
        received = [await results.recv() for _ in range(nrecv)]
        return sent, received, raised

    sent, received, raised = run_checked(main, procs)
    assert raised >= 1, "no sender saw the close"
    # At the close: close_after values counted, at most one uncounted value
    # per other receiver, and at most cap values still buffered.
    assert close_after <= len(sent) <= close_after + (nrecv - 1) + cap
    check_exactly_once(sent, received)


@procs
def test_select_stress(procs: int) -> None:
    # chan_test.go TestSelectStress: 4 channels (2 unbuffered, cap 2, cap 3);
    # one plain sender and one plain receiver per channel, plus one selecting
    # sender and one selecting receiver over all 4, disabling a channel's case
    # (None) once its quota is done. Nothing may deadlock, lose or duplicate.
    n = 600

    async def main() -> tuple[list[Item], list[Seen]]:
        c: list[gr.Chan[Item]] = [gr.Chan(), gr.Chan(), gr.Chan(2), gr.Chan(3)]
        done: gr.Chan[Seen] = gr.Chan(8)

        async def plain_sender(ci: int) -> None:
            for i in range(n):
                await c[ci].send((ci, i))
            await done.send([])

        async def plain_receiver(ci: int) -> None:
            seen: Seen = []
            for _ in range(n):
                k, i = await c[ci].recv()
                seen.append((ci, k, i))
            await done.send(seen)

        async def select_sender() -> None:
            counts = [0, 0, 0, 0]
            cases: list[Any] = [c[ci].send((10 + ci, 0)) for ci in range(4)]
            for _ in range(4 * n):
                ci, _, ok = await gr.select(*cases)
                assert ok
                counts[ci] += 1
                cases[ci] = None if counts[ci] == n else c[ci].send((10 + ci, counts[ci]))
            await done.send([])

        async def select_receiver() -> None:
            seen: Seen = []
            counts = [0, 0, 0, 0]
            cases: list[Any] = [ch.recv() for ch in c]
            for _ in range(4 * n):
                ci, v, ok = await gr.select(*cases)
                assert ok
                seen.append((ci, v[0], v[1]))
                counts[ci] += 1
                if counts[ci] == n:
                    cases[ci] = None
            await done.send(seen)

        for ci in range(4):
            gr.go(plain_sender, ci)
            gr.go(plain_receiver, ci)
        gr.go(select_sender)
        gr.go(select_receiver)
        received = [await done.recv() for _ in range(10)]
        sent = [(ci, i) for ci in range(4) for i in range(n)] + [(10 + ci, i) for ci in range(4) for i in range(n)]
        return sent, [r for r in received if r]

    sent, received = run_checked(main, procs)
    check_exactly_once(sent, received)
    # each channel carried exactly 2n values
    per_chan = Counter(ci for seen in received for (ci, _, _) in seen)
    assert per_chan == {ci: 2 * n for ci in range(4)}


@procs
def test_multi_consumer(procs: int) -> None:
    # chan_test.go TestMultiConsumer: 23 workers drain a cap-62 channel and
    # forward to a results channel; every value arrives exactly once.
    nwork, niter = 23, 2710

    async def main() -> list[int]:
        q: gr.Chan[int] = gr.Chan(nwork * 3)
        r: gr.Chan[int] = gr.Chan(nwork * 3)
        finished: gr.Chan[None] = gr.Chan(nwork)

        async def worker() -> None:
            async for v in q:
                if v % 7 == 0:
                    await gr.gosched()
                await r.send(v)
            await finished.send(None)

        for _ in range(nwork):
            gr.go(worker)

        async def closer() -> None:
            for _ in range(nwork):
                await finished.recv()
            r.close()

        gr.go(closer)

        async def producer() -> None:
            for i in range(niter):
                await q.send(i)
            q.close()

        gr.go(producer)
        return [v async for v in r]

    got = run_checked(main, procs)
    assert sorted(got) == list(range(niter))


@procs
def test_close_wakes_many_parked_selects(procs: int) -> None:
    # 40 goroutines loop on select(data, quit). Every unbuffered send
    # completes only when received, so once main has sent everything it
    # closes quit: each select is woken exactly once by it, and the data was
    # received exactly once overall.
    nsel, nval = 40, 2000

    async def main() -> tuple[list[int], list[int]]:
        data: gr.Chan[int] = gr.Chan()
        quit_: gr.Chan[None] = gr.Chan()
        out: gr.Chan[tuple[list[int], int]] = gr.Chan(nsel)

        async def selector() -> None:
            got: list[int] = []
            cases = (data.recv_ok(), quit_.recv_ok())
            while True:
                i, v, ok = await gr.select(*cases)
                if i == 1:
                    assert (v, ok) == (None, False)
                    break
                assert ok
                got.append(v)
            await out.send((got, i))

        for _ in range(nsel):
            gr.go(selector)
        for v in range(nval):
            await data.send(v)
        quit_.close()
        res = [await out.recv() for _ in range(nsel)]
        return sorted(v for got, _ in res for v in got), [i for _, i in res]

    values, exits = run_checked(main, procs)
    assert values == list(range(nval))
    assert exits == [1] * nsel


@procs
def test_ping_pong_pairs(procs: int) -> None:
    # Many independent unbuffered ping-pong pairs: each round trip returns
    # exactly the value sent, in order.
    pairs, rounds = 16, 500

    async def main() -> int:
        done: gr.Chan[int] = gr.Chan(pairs)

        async def ponger(ping: gr.Chan[int], pong: gr.Chan[int]) -> None:
            async for v in ping:
                await pong.send(v + 1)

        async def pinger(k: int) -> None:
            ping: gr.Chan[int] = gr.Chan()
            pong: gr.Chan[int] = gr.Chan()
            gr.go(ponger, ping, pong)
            for i in range(rounds):
                await ping.send(k * 1000 + i)
                assert await pong.recv() == k * 1000 + i + 1
            ping.close()
            await done.send(k)

        for k in range(pairs):
            gr.go(pinger, k)
        return sum([await done.recv() for _ in range(pairs)])

    assert run_checked(main, procs) == sum(range(pairs))


@procs
def test_selects_with_send_and_receive_on_one_channel_pair_up(procs: int) -> None:
    # Generalised TestSelfSelect: n goroutines loop on
    # select(ch <- mine, <-ch, <-stop) on one unbuffered channel. They pair
    # with each other, never with themselves; every value received was sent
    # exactly once by a select whose send case completed.
    n, target = 6, 1500

    async def main() -> list[tuple[list[Item], list[tuple[int, Item]]]]:
        ch: gr.Chan[Item] = gr.Chan()
        stop: gr.Chan[None] = gr.Chan()
        count: gr.Chan[int] = gr.Chan(1)
        await count.send(0)
        out: gr.Chan[tuple[list[Item], list[tuple[int, Item]]]] = gr.Chan(n)

        async def peer(k: int) -> None:
            sent: list[Item] = []
            got: list[tuple[int, Item]] = []
            seq = 0
            while True:
                i, v, ok = await gr.select(ch.send((k, seq)), ch.recv(), stop.recv())
                if i == 0:
                    sent.append((k, seq))
                    seq += 1
                elif i == 1:
                    assert ok
                    got.append((k, v))
                    c = await count.recv() + 1
                    if c == target:
                        stop.close()
                    await count.send(c)
                else:
                    break
            await out.send((sent, got))

        for k in range(n):
            gr.go(peer, k)
        return [await out.recv() for _ in range(n)]

    res = run_checked(main, procs)
    sent = [x for s, _ in res for x in s]
    received = [g for _, gs in res for g in gs]
    assert len(received) >= target
    for me, (k, _) in received:
        assert me != k, "a select rendezvoused with itself"
    got = Counter(item for _, item in received)
    assert all(c == 1 for c in got.values()), "a value was received twice"
    assert set(got) == set(sent) and len(sent) == len(received)


@procs
def test_close_races_with_send_receive_and_another_close(procs: int) -> None:
    # Per trial: one sender, one receiver and two closers race on a fresh
    # channel (cap 0 or 1). Exactly one close succeeds (the other raises
    # "close of closed channel"), and the send succeeds exactly when the
    # receiver gets its value: never lost, never a value from a failed send.
    trials = 250

    async def sender(ch: gr.Chan[int], v: int, res: gr.Chan[tuple[str, Any]]) -> None:
        try:
            await ch.send(v)
        except gr.ClosedChannelError as e:
            assert str(e) == "send on closed channel"
            await res.send(("send", False))
        else:
            await res.send(("send", True))

    async def receiver(ch: gr.Chan[int], res: gr.Chan[tuple[str, Any]]) -> None:
        await res.send(("recv", await ch.recv_ok()))

    async def closer(ch: gr.Chan[int], res: gr.Chan[tuple[str, Any]]) -> None:
        try:
            ch.close()
        except gr.ClosedChannelError as e:
            assert str(e) == "close of closed channel"
            await res.send(("close", False))
        else:
            await res.send(("close", True))

    async def main() -> Counter[tuple[bool, int]]:
        outcomes: Counter[tuple[bool, int]] = Counter()
        for t in range(trials):
            ch: gr.Chan[int] = gr.Chan(t % 2)
            res: gr.Chan[tuple[str, Any]] = gr.Chan(4)
            starts: list[tuple[Any, ...]] = [
                (sender, ch, t, res),
                (receiver, ch, res),
                (closer, ch, res),
                (closer, ch, res),
            ]
            k = t % 4
            for fn, *args in starts[k:] + starts[:k]:  # vary who starts first
                gr.go(fn, *args)
            got = [await res.recv() for _ in range(4)]
            closes = sorted(ok for kind, ok in got if kind == "close")
            assert closes == [False, True], got
            sent = next(ok for kind, ok in got if kind == "send")
            received = next(r for kind, r in got if kind == "recv")
            if sent:
                assert received == (t, True), got
            else:
                assert received == (None, False), got
            outcomes[(sent, t % 2)] += 1
        return outcomes

    outcomes = run_checked(main, procs)
    assert sum(outcomes.values()) == trials


def _burn(seconds: float) -> None:
    """Compute without awaiting for ``seconds`` (a busy loop, not a sleep)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        pass


@procs
def test_exactly_once_with_compute_bursts_and_gomaxprocs_changes(procs: int) -> None:
    # Producers compute for 12 ms at a time without awaiting (so the runtime
    # moves the other goroutines to another thread) while main keeps
    # resizing gomaxprocs: every value still arrives exactly once, in order
    # per producer, and nothing is reported as a deadlock.
    nprod, per, ncons = 6, 25, 3

    async def main() -> tuple[list[Item], list[Seen]]:
        ch: gr.Chan[Item] = gr.Chan(2)
        done: gr.Chan[None] = gr.Chan(nprod)
        out: gr.Chan[Seen] = gr.Chan(ncons)

        async def producer(k: int) -> None:
            for i in range(per):
                if i % 6 == 0:
                    _burn(0.012)
                await ch.send((k, i))
            await done.send(None)

        async def consumer() -> None:
            seen: Seen = []
            async for k, i in ch:
                seen.append((0, k, i))
                if len(seen) % 9 == 0:
                    _burn(0.003)
            await out.send(seen)

        for _ in range(ncons):
            gr.go(consumer)
        for k in range(nprod):
            gr.go(producer, k)
        for j in range(nprod):
            await done.recv()
            gr.gomaxprocs(1 + (procs + 3 * j) % 8)
        ch.close()
        received = [await out.recv() for _ in range(ncons)]
        return [(k, i) for k in range(nprod) for i in range(per)], received

    sent, received = run_checked(main, procs)
    check_exactly_once(sent, received)
