"""Running a program: run(), go(), panics, deadlock, abandoned goroutines.

The contract's "Running a program" table. Subprocess checks run the helper
programs in tests/programs.
"""

from __future__ import annotations

import asyncio
import gc
import re
import sys
import threading
import time
import warnings
import weakref
from typing import Any

import pytest
from helpers import runtime_threads

import goroutines as gr

pytestmark = [
    pytest.mark.usefixtures("no_leaked_runtime_threads"),
    pytest.mark.timeout(30),
    # a runtime thread dying with an exception is a runtime bug, whatever the test
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]

procs = pytest.mark.parametrize("procs", [1, 2, 4])


def deadlock_message(ei: pytest.ExceptionInfo[gr.Deadlock]) -> str:
    msg = str(ei.value)
    assert msg.startswith("all goroutines are asleep - deadlock!"), msg
    return msg


# --------------------------------------------------------------------------- run


def test_run_returns_mains_result_and_passes_args() -> None:
    async def main(a: int, b: str) -> tuple[int, str]:
        return a * 2, b.upper()

    assert gr.run(main, 21, "x") == (42, "X")


@procs
def test_run_with_gomaxprocs_keyword(procs: int) -> None:
    async def main() -> int:
        return gr.gomaxprocs()

    assert gr.run(main, gomaxprocs=procs) == procs


def test_main_is_goroutine_1() -> None:
    async def main() -> list[tuple[int, str]]:
        return [(g.id, g.state) for g in gr.goroutines()]

    assert gr.run(main, gomaxprocs=1) == [(1, "running")]


def test_run_twice_in_one_process() -> None:
    async def main(k: int) -> int:
        ch: gr.Chan[int] = gr.Chan()

        async def child() -> None:
            await ch.send(k)

        gr.go(child)
        return await ch.recv()

    assert [gr.run(main, k) for k in range(5)] == list(range(5))
    assert not runtime_threads()


def test_run_from_another_thread_after_a_run() -> None:
    async def main() -> str:
        return threading.current_thread().name

    gr.run(main)
    results: list[Any] = []
    t = threading.Thread(target=lambda: results.append(gr.run(main)), name="test-runner")
    t.start()
    t.join(20)
    assert not t.is_alive()
    assert len(results) == 1 and isinstance(results[0], str)
    assert gr.run(main) is not None


@procs
def test_run_inside_run_is_runtime_error(procs: int) -> None:
    async def inner() -> int:
        return 1

    async def main() -> str:
        with pytest.raises(RuntimeError):
            gr.run(inner)
        out: gr.Chan[str] = gr.Chan(1)

        async def child() -> None:
            try:
                gr.run(inner)
            except RuntimeError:
                await out.send("RuntimeError")
            else:
                await out.send("no error")

        gr.go(child)
        return await out.recv()

    assert gr.run(main, gomaxprocs=procs) == "RuntimeError"


def test_run_inside_run_does_not_leave_an_unawaited_coroutine() -> None:
    async def inner() -> int:
        return 1

    async def main() -> None:
        with pytest.raises(RuntimeError):
            gr.run(inner)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gr.run(main)
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]


# --------------------------------------------------------------------------- go


def test_go_returns_handle_with_distinct_ids() -> None:
    async def main() -> list[int]:
        ch: gr.Chan[None] = gr.Chan()

        done: gr.Chan[None] = gr.Chan(10)

        async def child() -> None:
            await ch.recv()
            await done.send(None)

        hs = [gr.go(child) for _ in range(10)]
        ids = [h.id for h in hs]
        live = {g.id for g in gr.goroutines()}
        assert set(ids) <= live
        ch.close()
        for _ in hs:
            await done.recv()
        return ids

    ids = gr.run(main)
    assert all(isinstance(i, int) for i in ids)
    assert len(set(ids)) == 10 and 1 not in ids


def test_go_passes_args_and_kwargs() -> None:
    async def main() -> tuple[Any, ...]:
        out: gr.Chan[tuple[Any, ...]] = gr.Chan(1)

        async def child(a: int, b: int, *, c: str, d: str = "d") -> None:
            await out.send((a, b, c, d))

        gr.go(child, 1, 2, c="c")
        return await out.recv()

    assert gr.run(main) == (1, 2, "c", "d")


def test_go_accepts_a_coroutine_object() -> None:
    async def main() -> int:
        out: gr.Chan[int] = gr.Chan()

        async def child(v: int) -> None:
            await out.send(v)

        gr.go(child(5))
        return await out.recv()

    assert gr.run(main) == 5


def test_go_runs_a_plain_function_as_a_goroutine() -> None:
    async def main() -> list[str]:
        log: list[str] = []
        ch: gr.Chan[None] = gr.Chan()

        def plain(tag: str, *, also: str) -> str:
            log.append(tag + also)
            ch.close()
            return "ignored"

        gr.go(plain, "a", also="b")
        assert await ch.recv_ok() == (None, False)
        return log

    assert gr.run(main) == ["ab"]


def test_go_accepts_callables_that_return_a_coroutine() -> None:
    # A bound async method, a functools.partial of an async function and a
    # lambda returning a coroutine all run as goroutines that can block.
    import functools

    class Worker:
        def __init__(self, out: gr.Chan[str]) -> None:
            self.out = out

        async def run(self, tag: str) -> None:
            await gr.gosched()
            await self.out.send(tag)

    async def send_tag(out: gr.Chan[str], tag: str) -> None:
        await gr.gosched()
        await out.send(tag)

    async def main() -> list[str]:
        out: gr.Chan[str] = gr.Chan()
        gr.go(Worker(out).run, "method")
        gr.go(functools.partial(send_tag, out, "partial"))
        gr.go(lambda: send_tag(out, "lambda"))
        return sorted([await out.recv() for _ in range(3)])

    assert gr.run(main, gomaxprocs=2) == ["lambda", "method", "partial"]


def test_panic_in_a_plain_function_goroutine() -> None:
    def plain() -> None:
        raise IndexError("plain failed")

    async def main() -> None:
        h = gr.go(plain)
        ids.append(h.id)
        await gr.Chan[int]().recv()

    ids: list[int] = []
    with pytest.raises(IndexError, match="plain failed") as ei:
        gr.run(main)
    notes = "\n".join(getattr(ei.value, "__notes__", []))
    assert f"goroutine {ids[0]}" in notes, notes


@pytest.mark.parametrize("bad", [42, "fn", None, 3.5])
def test_go_with_non_callable_is_type_error(bad: Any) -> None:
    async def main() -> int:
        with pytest.raises(TypeError):
            gr.go(bad)
        return gr.num_goroutine()

    assert gr.run(main) == 1  # nothing was started


def test_go_outside_run_is_runtime_error() -> None:
    async def child() -> None:
        pass

    with pytest.raises(RuntimeError, match=r"run"):
        gr.go(child)

    async def main() -> None:
        pass

    gr.run(main)
    with pytest.raises(RuntimeError):
        gr.go(child)  # after a run has ended, too
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]


def test_go_outside_run_with_coroutine_object_is_runtime_error() -> None:
    async def child() -> None:
        pass

    c = child()
    try:
        with pytest.raises(RuntimeError):
            gr.go(c)
    finally:
        c.close()


def test_finished_goroutine_keeps_no_reference_to_fn_args_or_coroutine(wait: Any) -> None:
    class Payload:
        pass

    refs: dict[str, weakref.ref[Any]] = {}

    async def main() -> None:
        done: gr.Chan[None] = gr.Chan()
        payload = Payload()
        kw = Payload()

        async def child(p: Payload, *, k: Payload) -> None:
            await done.send(None)

        coro_holder: list[Any] = []

        async def child2() -> None:
            await done.send(None)

        c2 = child2()
        coro_holder.append(weakref.ref(c2))
        refs["fn"] = weakref.ref(child)
        refs["arg"] = weakref.ref(payload)
        refs["kwarg"] = weakref.ref(kw)
        h1 = gr.go(child, payload, k=kw)
        h2 = gr.go(c2)
        refs["coro"] = coro_holder[0]
        del payload, kw, child, c2, coro_holder
        await done.recv()
        await done.recv()
        await wait.gone(h1.id)
        await wait.gone(h2.id)
        gc.collect()
        alive = [name for name, r in refs.items() if r() is not None]
        assert alive == [], f"finished goroutines still reference their {alive}"

    gr.run(main)


# --------------------------------------------------------------------------- main returning: abandonment


@procs
def test_goroutines_still_alive_are_abandoned_when_main_returns(procs: int, wait: Any) -> None:
    async def main() -> str:
        ch: gr.Chan[int] = gr.Chan()

        async def parked() -> None:
            await ch.recv()

        async def spinner() -> None:
            while True:
                await gr.gosched()

        async def forever() -> None:
            await gr.select()

        ids = [gr.go(parked).id for _ in range(3)]
        gr.go(spinner)
        gr.go(forever)
        await wait.all_parked(ids, "chan receive")
        return "main done"

    t0 = time.monotonic()
    assert gr.run(main, gomaxprocs=procs) == "main done"
    assert time.monotonic() - t0 < 5
    assert runtime_threads() == []
    assert gr.num_goroutine() == 0  # no runtime: nothing exists


@pytest.mark.parametrize("annotated", [True, False])
def test_run_returns_while_a_goroutine_is_stuck_in_a_blocking_call(annotated: bool) -> None:
    # The stuck thread cannot be stopped: it is a daemon, holds no runtime
    # state (a second run works meanwhile), and ends when the call returns.
    release = threading.Event()

    async def first() -> str:
        entered: gr.Chan[None] = gr.Chan()

        async def stuck() -> None:
            def call() -> None:
                entered.close()
                release.wait(20)

            if annotated:
                await gr.syscall(call)
            else:
                call()

        gr.go(stuck)
        await entered.recv()
        return "first"

    async def second() -> str:
        ch: gr.Chan[str] = gr.Chan()

        async def child() -> None:
            await ch.send("second")

        gr.go(child)
        return await ch.recv()

    try:
        t0 = time.monotonic()
        assert gr.run(first, gomaxprocs=1) == "first"
        assert time.monotonic() - t0 < 5
        left = [t for t in threading.enumerate() if t.name.startswith("goroutines-") and t.is_alive()]
        assert all(t.daemon for t in left), [t.name for t in left]
        assert gr.run(second) == "second"
    finally:
        release.set()
    for t in threading.enumerate():
        if t.name.startswith("goroutines-"):
            t.join(10)
    assert runtime_threads() == []


def test_abandoned_waiters_do_not_take_values_in_a_later_run(wait: Any) -> None:
    # A channel outlives a run; the receivers and senders abandoned on it must
    # not complete operations of the next run's goroutines.
    ch: gr.Chan[int] = gr.Chan()
    sel: gr.Chan[int] = gr.Chan()

    async def first() -> None:
        async def receiver() -> None:
            await ch.recv()

        async def selector() -> None:
            await gr.select(sel.recv(), ch.recv())

        ids = [gr.go(receiver).id, gr.go(receiver).id]
        s = gr.go(selector)
        await wait.all_parked(ids, "chan receive")
        await wait.parked(s.id, "select")

    async def second() -> tuple[Any, Any]:
        r1 = await gr.select(ch.send(1), default=True)
        r2 = await gr.select(sel.send(2), default=True)
        return r1, r2

    gr.run(first)
    assert gr.run(second) == ((-1, None, False), (-1, None, False))


def test_abandoned_goroutines_produce_no_warnings() -> None:
    # As when a Go program's main returns: abandoned goroutines vanish
    # silently (no "coroutine ... was never awaited" noise on stderr).
    async def child() -> None:
        await gr.Chan[int]().recv()

    async def main() -> str:
        for _ in range(3):
            gr.go(child)  # at gomaxprocs=1 these have not started when main returns
        return "ok"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert gr.run(main, gomaxprocs=1) == "ok"
        gc.collect()
    msgs = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert msgs == []


@pytest.mark.timeout(60)
def test_runtime_threads_never_crash_when_main_returns() -> None:
    # main returns while other goroutines keep every M busy: the Ms must stop
    # quietly, never die with an exception (which Python prints to stderr).
    crashes: list[str] = []
    old = threading.excepthook

    def hook(args: Any) -> None:
        name = args.thread.name if args.thread is not None else "?"
        crashes.append(f"{name}: {args.exc_type.__name__}: {args.exc_value}")

    async def spinner() -> None:
        while True:
            await gr.gosched()

    async def main() -> None:
        for _ in range(4):
            gr.go(spinner)
        for _ in range(30):
            await gr.gosched()

    threading.excepthook = hook
    try:
        for _ in range(60):
            gr.run(main, gomaxprocs=4)
    finally:
        threading.excepthook = old
    assert crashes == [], f"{len(crashes)} runtime thread crashes, e.g. {crashes[0]}"


def test_no_runtime_thread_left_after_run_returns_or_raises() -> None:
    async def ok() -> int:
        return 1

    async def boom() -> None:
        raise KeyError("x")

    async def stuck() -> None:
        await gr.Chan[int]().recv()

    for p in (1, 2, 4):
        gr.run(ok, gomaxprocs=p)
        assert runtime_threads() == []
        with pytest.raises(KeyError):
            gr.run(boom, gomaxprocs=p)
        assert runtime_threads() == []
        with pytest.raises(gr.Deadlock):
            gr.run(stuck, gomaxprocs=p)
        assert runtime_threads() == []


# --------------------------------------------------------------------------- panics


@procs
def test_panic_in_a_goroutine_is_reraised_with_a_note(procs: int) -> None:
    err = ValueError("boom")
    where: dict[str, int] = {}

    async def worker(ch: gr.Chan[int]) -> None:
        await ch.send(1)
        raise err

    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        where["line"] = sys._getframe().f_lineno + 1
        h = gr.go(worker, ch)
        where["id"] = h.id
        await ch.recv()
        await gr.Chan[int]().recv()  # parked forever: the panic, not a deadlock, ends the run

    with pytest.raises(ValueError) as ei:
        gr.run(main, gomaxprocs=procs)
    assert ei.value is err
    notes = "\n".join(getattr(ei.value, "__notes__", []))
    assert f"goroutine {where['id']}" in notes, notes
    # "where it was started": this file and the line of the go() call
    assert "test_run.py" in notes and str(where["line"]) in notes, notes


def test_panic_in_main_is_reraised_with_a_note_naming_goroutine_1() -> None:
    async def main() -> None:
        await gr.gosched()
        raise LookupError("main failed")

    with pytest.raises(LookupError, match="main failed") as ei:
        gr.run(main)
    notes = "\n".join(getattr(ei.value, "__notes__", []))
    assert re.search(r"goroutine 1\b", notes), notes


@procs
def test_panic_ends_the_program_while_main_still_runs(procs: int) -> None:
    # An exception in any goroutine ends the program: main, still running,
    # never reaches its own (later) error.
    async def worker() -> None:
        raise ZeroDivisionError("first")

    async def main() -> None:
        gr.go(worker)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            await gr.gosched()
        raise AssertionError("main kept running after a goroutine panicked")

    t0 = time.monotonic()
    with pytest.raises(ZeroDivisionError, match="first"):
        gr.run(main, gomaxprocs=procs)
    assert time.monotonic() - t0 < 5


def test_first_panic_wins_over_later_ones(wait: Any) -> None:
    # Two goroutines panic one after the other (the second is released by the
    # first's finally clause): run re-raises the first.
    async def main() -> None:
        gate: gr.Chan[None] = gr.Chan()

        async def second() -> None:
            await gate.recv()
            raise RuntimeError("second")

        async def first() -> None:
            try:
                raise KeyError("first")
            finally:
                gate.close()

        h = gr.go(second)
        await wait.parked(h.id, "chan receive")
        gr.go(first)
        await gr.Chan[int]().recv()

    for p in (1, 2):
        with pytest.raises(KeyError, match="first"):
            gr.run(main, gomaxprocs=p)


def test_channel_misuse_in_a_goroutine_is_a_panic() -> None:
    async def worker(ch: gr.Chan[int]) -> None:
        ch.close()
        ch.close()

    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        gr.go(worker, ch)
        await gr.Chan[int]().recv()

    with pytest.raises(gr.ClosedChannelError, match="close of closed channel"):
        gr.run(main)


def test_base_exception_in_a_goroutine_is_reraised() -> None:
    async def worker() -> None:
        raise SystemExit(3)

    async def main() -> None:
        gr.go(worker)
        await gr.Chan[int]().recv()

    with pytest.raises(SystemExit) as ei:
        gr.run(main)
    assert ei.value.code == 3


def test_run_works_after_a_panic() -> None:
    async def bad() -> None:
        raise ValueError("x")

    async def good() -> int:
        return 7

    with pytest.raises(ValueError):
        gr.run(bad)
    assert gr.run(good) == 7


def test_panic_in_subprocess_prints_exception_and_note(run_program: Any) -> None:
    r = run_program("panic.py")
    assert r.returncode != 0
    m = re.search(r"^id (\d+)$", r.stdout, re.M)
    assert m, r.stdout
    assert "ValueError: boom from worker" in r.stderr, r.stderr
    assert f"goroutine {m.group(1)}" in r.stderr, r.stderr
    assert "panic.py" in r.stderr
    assert "Deadlock" not in r.stderr


# --------------------------------------------------------------------------- deadlock


def test_deadlock_is_a_runtime_error() -> None:
    assert issubclass(gr.Deadlock, RuntimeError)


@pytest.mark.parametrize("procs", [1, 2, 4, 8])
def test_deadlock_main_alone_receiving(procs: int) -> None:
    async def main() -> None:
        await gr.Chan[int]().recv()

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main, gomaxprocs=procs)
    msg = deadlock_message(ei)
    assert "goroutine 1 [chan receive]:" in msg


def test_deadlock_main_alone_sending() -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(1)
        await ch.send(1)
        await ch.send(2)

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    assert "goroutine 1 [chan send]:" in deadlock_message(ei)


@procs
def test_deadlock_message_carries_the_dump_of_every_goroutine(procs: int) -> None:
    ids: dict[str, int] = {}

    async def stuck_sender(ch: gr.Chan[int]) -> None:
        await ch.send(1)

    async def stuck_receiver(ch: gr.Chan[int]) -> None:
        async for _ in ch:
            pass

    async def stuck_selector(a: gr.Chan[int], b: gr.Chan[int]) -> None:
        await gr.select(a.recv(), b.send(1))

    async def stuck_forever() -> None:
        await gr.select()

    async def main() -> None:
        ids["send"] = gr.go(stuck_sender, gr.Chan()).id
        ids["recv"] = gr.go(stuck_receiver, gr.Chan()).id
        ids["select"] = gr.go(stuck_selector, gr.Chan(), gr.Chan()).id
        ids["nocases"] = gr.go(stuck_forever).id
        await gr.Chan[int]().recv()

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main, gomaxprocs=procs)
    msg = deadlock_message(ei)
    assert "goroutine 1 [chan receive]:" in msg
    assert f"goroutine {ids['send']} [chan send]:" in msg
    assert f"goroutine {ids['recv']} [chan receive]:" in msg
    assert f"goroutine {ids['select']} [select]:" in msg
    assert f"goroutine {ids['nocases']} [select (no cases)]:" in msg
    for fn in ("stuck_sender", "stuck_receiver", "stuck_selector", "stuck_forever", "main"):
        assert fn in msg, f"{fn} missing from the dump:\n{msg}"
    assert len(re.findall(r"^goroutine \d+ \[", msg, re.M)) == 5, msg


def test_deadlock_when_the_only_partner_exits_without_sending() -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()

        async def partner() -> None:
            for _ in range(100):
                await gr.gosched()

        gr.go(partner)
        await ch.recv()

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main, gomaxprocs=2)
    msg = deadlock_message(ei)
    assert "goroutine 1 [chan receive]:" in msg
    assert len(re.findall(r"^goroutine \d+ \[", msg, re.M)) == 1, msg


@pytest.mark.parametrize("procs", [1, 2, 4, 8])
def test_deadlock_detected_after_much_activity(procs: int) -> None:
    # Many goroutines work, then all end up blocked: the deadlock is found
    # (no hang), and every blocked goroutine is in the dump.
    n = 50

    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        never: gr.Chan[int] = gr.Chan()

        async def worker() -> None:
            for i in range(20):
                await ch.send(i)
            await never.recv()

        for _ in range(n):
            gr.go(worker)
        for _ in range(20 * n):
            await ch.recv()
        await never.recv()

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main, gomaxprocs=procs)
    msg = deadlock_message(ei)
    assert len(re.findall(r"^goroutine \d+ \[chan receive\]:", msg, re.M)) == n + 1


@procs
def test_no_deadlock_while_a_goroutine_computes(procs: int) -> None:
    # main is parked and the other goroutine never awaits for a while: it can
    # still run, so this is no deadlock.
    async def main() -> int:
        ch: gr.Chan[int] = gr.Chan()

        def compute() -> None:
            total = 0
            for i in range(400_000):
                total += i
            ch.close()

        gr.go(compute)
        v, ok = await ch.recv_ok()
        assert not ok
        return 1

    assert gr.run(main, gomaxprocs=procs) == 1


def test_no_deadlock_while_a_goroutine_is_in_a_blocking_call() -> None:
    async def main() -> str:
        ch: gr.Chan[str] = gr.Chan()

        async def blocker() -> None:
            await gr.syscall(time.sleep, 0.1)  # the blocking call under test
            await ch.send("back")

        gr.go(blocker)
        return await ch.recv()

    assert gr.run(main) == "back"


def test_no_deadlock_while_a_goroutine_is_in_an_unannotated_blocking_call() -> None:
    # A plain blocking call (no syscall()) still counts: the goroutine is not asleep.
    async def main() -> str:
        ch: gr.Chan[str] = gr.Chan()

        def blocker() -> None:
            time.sleep(0.1)  # the blocking call under test
            ch.close()

        gr.go(blocker)
        v, ok = await ch.recv_ok()
        return "closed" if not ok else "value"

    assert gr.run(main) == "closed"


def test_deadlock_detected_once_the_blocking_call_returns() -> None:
    # While the call blocks there is no deadlock; after it returns and its
    # goroutine exits, main can never be woken: that is a deadlock.
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()

        async def blocker() -> None:
            await gr.syscall(time.sleep, 0.05)  # the blocking call under test

        gr.go(blocker)
        await ch.recv()

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    msg = deadlock_message(ei)
    assert "goroutine 1 [chan receive]:" in msg
    assert len(re.findall(r"^goroutine \d+ \[", msg, re.M)) == 1, msg


def test_no_deadlock_while_a_timer_is_pending() -> None:
    async def main() -> bool:
        await gr.sleep(0.02)
        v, ok = await gr.after(0.02).recv_ok()
        return ok and isinstance(v, float)

    assert gr.run(main) is True


def test_no_deadlock_in_a_select_with_a_timer_case() -> None:
    async def main() -> int:
        never: gr.Chan[int] = gr.Chan()
        i, _, ok = await gr.select(never.recv(), gr.after(0.02).recv())
        assert ok
        return i

    assert gr.run(main) == 1


def test_deadlock_after_the_last_timer_fired() -> None:
    async def main() -> None:
        await gr.sleep(0.01)
        await gr.Chan[int]().recv()

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    assert "goroutine 1 [chan receive]:" in deadlock_message(ei)


@pytest.mark.parametrize("procs", [1, 2, 4, 8])
def test_no_false_deadlock_in_a_token_ring(procs: int) -> None:
    # At every moment all but one goroutine is parked, which is exactly when a
    # racy detector would fire.
    n, laps = 60, 20

    async def main() -> int:
        chans: list[gr.Chan[int]] = [gr.Chan() for _ in range(n + 1)]

        async def link(i: int) -> None:
            for _ in range(laps):
                await chans[i + 1].send(await chans[i].recv() + 1)

        for i in range(n):
            gr.go(link, i)
        token = 0
        for _ in range(laps):
            await chans[0].send(token)
            token = await chans[n].recv()
        return token

    assert gr.run(main, gomaxprocs=procs) == n * laps


def test_deadlock_in_subprocess(run_program: Any) -> None:
    r = run_program("deadlock.py")
    assert r.returncode != 0
    m = re.search(r"^ids (\d+) (\d+)$", r.stdout, re.M)
    assert m, r.stdout
    err = r.stderr
    assert "Deadlock: all goroutines are asleep - deadlock!" in err, err
    assert "goroutine 1 [chan receive]:" in err
    assert f"goroutine {m.group(1)} [chan send]:" in err
    assert f"goroutine {m.group(2)} [select]:" in err
    assert "stuck_sender" in err and "stuck_selector" in err
    assert "Exception in thread" not in err


# --------------------------------------------------------------------------- subprocess: exiting cleanly


def test_abandoning_program_exits_at_once_with_clean_stderr(run_program: Any) -> None:
    r = run_program("abandon.py", "20", "4", timeout=60)
    assert r.returncode == 0, r.stderr
    assert "done 20 left []" in r.stdout
    assert r.stderr == "", r.stderr


def test_awaiting_gosched_outside_a_goroutine_is_runtime_error() -> None:
    async def use() -> None:
        await gr.gosched()

    with pytest.raises(RuntimeError, match="goroutine"):
        asyncio.run(use())
