"""Issue 4 (time): sleep, after, Timer and Ticker.

The contract: ``sleep`` parks (``sleep(0)`` or less yields); ``after`` is a
channel receiving ``time.monotonic()`` once; ``Timer.stop()/reset()`` return
True if they stopped a pending timer; a Ticker drops the ticks a slow reader
misses; timers need a running runtime; waiting on a timer's channel is not a
deadlock, waiting on a stopped timer's channel with nothing else alive is.
Timer channels follow Go 1.23: once stop() or reset() returns, no stale
value is received (a fired but unreceived value counts as pending: stop
drains it and returns True, as Go 1.23's Stop does).

Time bounds are one-sided where it matters (never early) and generous the
other way (SLACK), so a loaded two-core machine does not make them flaky.
"""

from __future__ import annotations

import asyncio
import gc
import random
import threading
import time
from typing import Any

import pytest

import goroutines as gr
from goroutines._core import current_sched

pytestmark = [pytest.mark.usefixtures("no_leaked_runtime_threads"), pytest.mark.timeout(60)]

PROCS = [1, 4]
SLACK = 5.0


async def nothing_ready(ch: gr.Chan[Any]) -> bool:
    i, _, _ = await gr.select(ch.recv(), default=True)
    return i == -1


# ====================================================================== sleep


@pytest.mark.parametrize("procs", PROCS)
def test_sleep_parks_for_at_least_the_duration(procs: int) -> None:
    async def main() -> float:
        t0 = time.monotonic()
        await gr.sleep(0.05)
        return time.monotonic() - t0

    assert 0.05 <= gr.run(main, gomaxprocs=procs) < 0.05 + SLACK


@pytest.mark.parametrize("procs", PROCS)
def test_many_sleepers_each_sleep_long_enough(procs: int) -> None:
    async def main() -> list[float]:
        out = gr.Chan(500)
        rng = random.Random(1)

        async def sleeper(d: float) -> None:
            t0 = time.monotonic()
            await gr.sleep(d)
            await out.send(time.monotonic() - t0 - d)

        for _ in range(500):
            gr.go(sleeper, rng.random() * 0.1)
        return [await out.recv() for _ in range(500)]

    lateness = gr.run(main, gomaxprocs=procs)
    assert min(lateness) >= 0
    assert max(lateness) < SLACK


@pytest.mark.parametrize("d", [0, -1, -0.5])
def test_sleep_zero_or_negative_yields(d: float) -> None:
    async def main() -> bool:
        ran = [False]

        async def other() -> None:
            ran[0] = True

        gr.go(other)
        await gr.sleep(d)  # one thread: other runs while main yields
        return ran[0]

    assert gr.run(main, gomaxprocs=1) is True


def test_sleeping_goroutine_shows_wait_reason_sleep(wait: Any) -> None:
    async def main() -> str:
        async def sleeper() -> None:
            await gr.sleep(3600)

        g = gr.go(sleeper)
        info = await wait.parked(g.id, "sleep")
        assert "sleeper" in info.stack
        return info.wait_reason
        # main returns: the sleeper is abandoned with its timer pending

    assert gr.run(main) == "sleep"


def test_sleeping_alone_is_not_a_deadlock() -> None:
    async def main() -> str:
        await gr.sleep(0.05)
        return "woke"

    assert gr.run(main) == "woke"


def test_sleep_argument_errors() -> None:
    with pytest.raises(TypeError, match="sleep: seconds must be a number"):
        gr.sleep("1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sleep: seconds must be a number"):
        gr.sleep(True)
    with pytest.raises(ValueError, match="sleep: seconds is NaN"):
        gr.sleep(float("nan"))


def test_sleep_outside_a_goroutine_is_runtime_error() -> None:
    async def in_asyncio() -> None:
        await gr.sleep(0.01)

    with pytest.raises(RuntimeError, match="sleep.*inside a goroutine"):
        asyncio.run(in_asyncio())


def test_enormous_sleep_does_not_break_the_runtime() -> None:
    """A timer far beyond threading.TIMEOUT_MAX must not crash an idle M."""
    errors: list[Any] = []
    old = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:

        async def main() -> str:
            async def sleeper(d: float) -> None:
                await gr.sleep(d)

            gr.go(sleeper, 1e12)
            gr.go(sleeper, float("inf"))
            ch = gr.Chan()

            def slow() -> None:
                time.sleep(0.1)  # blocking: the behaviour under test (Ms go idle meanwhile)

            async def late() -> None:
                await gr.syscall(slow)
                await ch.send("ok")

            gr.go(late)
            return await ch.recv()

        assert gr.run(main, gomaxprocs=2) == "ok"
    finally:
        threading.excepthook = old
    assert errors == []


# ====================================================================== after


@pytest.mark.parametrize("procs", PROCS)
def test_after_delivers_the_firing_time_once(procs: int) -> None:
    async def main() -> tuple[float, float, bool, bool]:
        t0 = time.monotonic()
        c = gr.after(0.05)
        assert c.cap == 1 and len(c) == 0
        v = await c.recv()
        once_only = await nothing_ready(c)
        await gr.after(0.05).recv()
        still_nothing = await nothing_ready(c)
        return t0, v, once_only, still_nothing

    t0, v, once_only, still_nothing = gr.run(main, gomaxprocs=procs)
    assert isinstance(v, float)
    assert t0 + 0.05 <= v < t0 + 0.05 + SLACK
    assert once_only and still_nothing


def test_after_outside_a_run_is_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="after needs a running goroutines runtime"):
        gr.after(1)
    with pytest.raises(TypeError, match="after: seconds must be a number"):
        gr.after(None)  # type: ignore[arg-type]


def test_waiting_on_after_alone_is_not_a_deadlock() -> None:
    async def main() -> str:
        await gr.after(0.05).recv()
        return "ok"

    assert gr.run(main) == "ok"


def test_after_in_a_select_timeout_pattern() -> None:
    async def main() -> int:
        never = gr.Chan()
        i, _, _ = await gr.select(never.recv(), gr.after(0.02).recv())
        return i

    assert gr.run(main) == 1


# ====================================================================== Timer


@pytest.mark.parametrize("procs", PROCS)
def test_timer_fires_once(procs: int) -> None:
    async def main() -> tuple[float, float, bool]:
        t0 = time.monotonic()
        t = gr.Timer(0.05)
        v = await t.c.recv()
        await gr.sleep(0.05)
        return t0, v, await nothing_ready(t.c)

    t0, v, quiet = gr.run(main, gomaxprocs=procs)
    assert t0 + 0.05 <= v < t0 + 0.05 + SLACK
    assert quiet


def test_timer_negative_or_zero_fires_at_once() -> None:
    async def main() -> bool:
        await gr.Timer(-1).c.recv()
        await gr.Timer(0).c.recv()
        return True

    assert gr.run(main)


def test_timer_stop_rules() -> None:
    async def main() -> list[Any]:
        out: list[Any] = []
        # Pending: stop returns True and nothing arrives, ever.
        t = gr.Timer(0.05)
        out.append(("stop pending", t.stop()))
        await gr.sleep(0.15)
        out.append(("nothing after stop", await nothing_ready(t.c)))
        out.append(("stop again", t.stop()))
        # Fired but not received: Go 1.23 drains it, returns True.
        t = gr.Timer(0)
        await gr.sleep(0.05)
        out.append(("fired, unreceived, len", len(t.c)))
        out.append(("stop fired-unreceived", t.stop()))
        out.append(("no stale value", await nothing_ready(t.c)))
        # Received: nothing pending, stop returns False.
        t = gr.Timer(0)
        await t.c.recv()
        out.append(("stop after receive", t.stop()))
        return out

    assert gr.run(main) == [
        ("stop pending", True),
        ("nothing after stop", True),
        ("stop again", False),
        ("fired, unreceived, len", 1),
        ("stop fired-unreceived", True),
        ("no stale value", True),
        ("stop after receive", False),
    ]


def test_timer_reset_rules() -> None:
    async def main() -> list[Any]:
        out: list[Any] = []
        # Reset while pending: True; fires at the new time, not the old one.
        t = gr.Timer(0.05)
        t_reset = time.monotonic()
        out.append(("reset pending", t.reset(0.3)))
        v = await t.c.recv()
        out.append(("fired at the new time", v >= t_reset + 0.3))
        # Reset after firing, value not received: True, the stale value is gone.
        t = gr.Timer(0)
        await gr.sleep(0.05)
        t_reset = time.monotonic()
        out.append(("reset fired-unreceived", t.reset(0.05)))
        out.append(("stale value gone", await nothing_ready(t.c)))
        v = await t.c.recv()
        out.append(("new value after reset", v >= t_reset + 0.05))
        # Reset after the value was received: False; fires again.
        out.append(("reset after receive", t.reset(0.01)))
        await t.c.recv()
        out.append(("fired again", True))
        return out

    assert gr.run(main) == [
        ("reset pending", True),
        ("fired at the new time", True),
        ("reset fired-unreceived", True),
        ("stale value gone", True),
        ("new value after reset", True),
        ("reset after receive", False),
        ("fired again", True),
    ]


@pytest.mark.parametrize("procs", [1, 4])
def test_no_stale_value_after_stop_or_reset_races_with_firing(procs: int) -> None:
    """Stop or reset a timer just as it fires (another M runs the firing);
    after the call returns, no value from before it can be received."""

    async def main() -> tuple[int, int]:
        rng = random.Random(7)
        stale = 0
        stopped_pending = 0
        for i in range(150):
            t = gr.Timer(rng.choice([0, 0.0001, 0.0005]))
            for _ in range(rng.randrange(3)):
                await gr.gosched()
            if i % 2:
                was = t.stop()
                stopped_pending += was
                if not await nothing_ready(t.c):
                    stale += 1
            else:
                t.reset(3600)
                if not await nothing_ready(t.c):
                    stale += 1
                t.stop()
            await gr.sleep(0.002)  # a firing that lost the race must not land now
            if not await nothing_ready(t.c):
                stale += 1
        return stale, stopped_pending

    stale, _ = gr.run(main, gomaxprocs=procs)
    assert stale == 0


@pytest.mark.parametrize("op", ["stop", "reset"])
def test_firing_that_loses_the_race_is_dropped(op: str) -> None:
    """White-box, deterministic: an M has taken the timer off the heap and is
    about to deliver (the callback not yet run) when stop/reset runs. The
    late delivery must be dropped, and the call reports the timer as pending
    (Go 1.23: a send that the call prevents counts as stopped)."""

    async def main() -> tuple[bool, bool, int]:
        sched = current_sched()
        assert sched is not None
        t = gr.Timer(3600)
        with sched.lock:  # what an M does when the timer falls due...
            due = sched.timers.expired(time.monotonic() + 7200)
        assert [rt for rt, _ in due] == [t._st.rt]
        was = t.stop() if op == "stop" else t.reset(3600)
        for rt, seq in due:  # ...then runs the callback, too late
            rt.fn(rt.arg, seq)
        quiet = await nothing_ready(t.c)
        t.stop()
        return was, quiet, len(t.c)

    assert gr.run(main, gomaxprocs=1) == (True, True, 0)


def test_timer_outside_a_run_and_bad_arguments() -> None:
    with pytest.raises(RuntimeError, match="Timer needs a running goroutines runtime"):
        gr.Timer(1)
    with pytest.raises(TypeError, match="Timer: seconds must be a number"):
        gr.Timer("1")  # type: ignore[arg-type]

    async def main() -> None:
        t = gr.Timer(3600)
        with pytest.raises(TypeError, match="Timer.reset: seconds must be a number"):
            t.reset(None)  # type: ignore[arg-type]
        t.stop()

    gr.run(main)


def test_waiting_on_a_timer_channel_is_not_a_deadlock(wait: Any) -> None:
    async def main() -> str:
        t = gr.Timer(0.1)
        await t.c.recv()
        return "ok"

    assert gr.run(main) == "ok"


def test_waiting_on_a_stopped_timer_alone_is_a_deadlock() -> None:
    async def main() -> None:
        t = gr.Timer(3600)
        t.stop()
        await t.c.recv()

    t0 = time.monotonic()
    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    assert time.monotonic() - t0 < SLACK
    assert str(ei.value).startswith("all goroutines are asleep - deadlock!")
    assert "goroutine 1 [chan receive]" in str(ei.value)


def test_timer_channel_waiter_shows_chan_receive(wait: Any) -> None:
    async def main() -> str:
        t = gr.Timer(3600)

        async def w() -> None:
            await t.c.recv()

        g = gr.go(w)
        info = await wait.parked(g.id, "chan receive")
        t.stop()
        return info.wait_reason

    assert gr.run(main) == "chan receive"


def test_timer_made_in_one_run_is_reset_in_the_next() -> None:
    box: list[Any] = []

    async def first() -> None:
        box.append(gr.Timer(3600))

    gr.run(first)
    t = box[0]
    assert t.stop() is True  # outside any run: stopping still works

    async def second() -> float:
        t.reset(0.02)
        return await t.c.recv()

    assert isinstance(gr.run(second), float)


# ====================================================================== Ticker


@pytest.mark.parametrize("procs", PROCS)
def test_ticker_ticks_every_period(procs: int) -> None:
    async def main() -> tuple[float, list[float]]:
        t0 = time.monotonic()
        tk = gr.Ticker(0.02)
        vals = [await tk.c.recv() for _ in range(5)]
        tk.stop()
        return t0, vals

    t0, vals = gr.run(main, gomaxprocs=procs)
    assert vals == sorted(vals)
    assert vals[-1] >= t0 + 5 * 0.02  # ticks keep to the schedule, never early
    assert vals[-1] < t0 + 5 * 0.02 + SLACK


@pytest.mark.parametrize("procs", PROCS)
def test_ticker_drops_ticks_for_a_slow_reader(procs: int) -> None:
    async def main() -> tuple[int, bool, float, float, float]:
        tk = gr.Ticker(0.01)
        await gr.sleep(0.3)  # ~30 ticks go by unread
        n_buffered = len(tk.c)
        i, first, _ = await gr.select(tk.c.recv(), default=True)
        assert i == 0
        backlog_empty = await nothing_ready(tk.c)  # the missed ticks were dropped
        now = time.monotonic()
        nxt = await tk.c.recv()
        tk.stop()
        return n_buffered, backlog_empty, first, now, nxt

    n_buffered, backlog_empty, first, now, nxt = gr.run(main, gomaxprocs=procs)
    assert n_buffered == 1
    assert backlog_empty
    assert first <= now  # an old tick, buffered while nobody read
    assert nxt > first


def test_ticker_stop_and_reset() -> None:
    async def main() -> list[Any]:
        out: list[Any] = []
        tk = gr.Ticker(0.01)
        await tk.c.recv()
        await gr.sleep(0.03)
        tk.stop()
        out.append(("empty right after stop", await nothing_ready(tk.c)))
        await gr.sleep(0.1)
        out.append(("no tick after stop", await nothing_ready(tk.c)))
        slow = gr.Ticker(3600)
        t0 = time.monotonic()
        slow.reset(0.02)  # a new period
        v1 = await slow.c.recv()
        v2 = await slow.c.recv()
        slow.stop()
        out.append(("reset period used", v1 >= t0 + 0.02 and v2 >= t0 + 0.04))
        return out

    assert gr.run(main) == [
        ("empty right after stop", True),
        ("no tick after stop", True),
        ("reset period used", True),
    ]


def test_ticker_needs_a_positive_period() -> None:
    async def main() -> None:
        for bad in (0, -1):
            with pytest.raises(ValueError, match="Ticker: period must be positive"):
                gr.Ticker(bad)
        tk = gr.Ticker(1)
        with pytest.raises(ValueError, match="Ticker.reset: period must be positive"):
            tk.reset(0)
        tk.stop()

    gr.run(main)
    with pytest.raises(RuntimeError, match="Ticker needs a running goroutines runtime"):
        gr.Ticker(1)


def test_waiting_on_a_ticker_is_not_a_deadlock_but_a_stopped_one_is() -> None:
    async def main() -> None:
        tk = gr.Ticker(0.02)
        for _ in range(3):
            await tk.c.recv()  # not a deadlock: the ticker is pending
        tk.stop()
        await tk.c.recv()  # nothing can ever arrive

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    assert "goroutine 1 [chan receive]" in str(ei.value)


# ====================================================================== unreferenced timers (Go 1.23)


def test_dropped_ticker_is_collected_and_stops_ticking() -> None:
    """A Ticker nobody references (neither it nor its channel) leaves the
    timer heap by itself once collected, so it neither ticks forever nor
    hides a deadlock. (A Chan is freed by Python's cyclic GC, hence the
    explicit collect.)"""

    async def main() -> None:
        gr.Ticker(0.01)  # dropped at once, never stopped
        gc.collect()
        await gr.Chan().recv()  # nothing else can happen: a deadlock

    t0 = time.monotonic()
    with pytest.raises(gr.Deadlock):
        gr.run(main)
    assert time.monotonic() - t0 < SLACK


def test_ticker_whose_channel_is_kept_keeps_ticking(wait: Any) -> None:
    """Only the channel keeps it alive (Go's time.Tick idiom); once the last
    holder is gone, so is the ticker."""

    received: list[int] = []

    async def main() -> None:
        got = gr.Chan()

        async def reader() -> None:
            c = gr.Ticker(0.01).c  # the Ticker object itself is dropped
            gc.collect()
            n = 0
            for _ in range(3):
                await c.recv()
                n += 1
            await got.send(n)

        r = gr.go(reader)
        received.append(await got.recv())
        # With more than one M the reader may still be returning on another
        # thread (its frame holds the channel); a gosched does not wait for it.
        await wait.gone(r.id)
        gc.collect()  # the reader has exited: its channel, and the ticker, go
        await gr.Chan().recv()

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    assert received == [3]
    assert "goroutine 1 [chan receive]" in str(ei.value)
