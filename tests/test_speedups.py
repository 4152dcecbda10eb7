"""The optional C fast paths (src/goroutines/_core/_speedups.c).

The rest of the suite runs with them when they are built (the normal case:
``pip install -e .`` compiles them, on both builds). Here:

- that they are really in use where CI requires it, never quietly falling
  back to Python (the C code counts each hand-off and why), and that a
  stale build (its source changed since) is refused;
- on a free-threaded build, that they load and leave the GIL off;
- both definitions of the hot paths on the same inputs in one process:
  test_chan.py and test_select.py run again here with ``chan_path`` = "c"
  and "python" (``_speedups.set_fast(False)``: the Python algorithms of
  _chan.py/_ready.py/_schedule.py over the same C Lock/Ring/ChanBase objects);
- the fully pure build (threading.Lock, deque, a Python ChanBase) needs its
  own process (those types are chosen at import): the core tests in a
  subprocess with GOROUTINES_PURE=1;
- the parts of the C code the rest of the suite does not reach (the Lock
  API, the await protocol as seen by a trace function).
"""

from __future__ import annotations

import functools
import inspect
import os
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import goroutines as gr
from goroutines._core import _cext, _check, speedups

ROOT = Path(__file__).resolve().parent.parent
needs_c = pytest.mark.skipif(speedups is None, reason="the C fast paths are not built")
# Debug mode (GOROUTINES_DEBUG=1) switches the fast paths off for good: see _core/_check.py.
needs_fast = pytest.mark.skipif(
    speedups is None or _check.DEBUG, reason="the C fast paths are not built, or off (debug mode)"
)
FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
needs_ft = pytest.mark.skipif(not FREE_THREADED, reason="not a free-threaded build")


@pytest.mark.filterwarnings("ignore:channel operation:RuntimeWarning")  # ops made only to look at
def test_c_fast_paths_are_in_use_where_required() -> None:
    # .ci/run sets GOROUTINES_REQUIRE_SPEEDUPS=1: a build that silently
    # failed (the extension is optional) must not pass CI on the pure paths.
    if os.environ.get("GOROUTINES_REQUIRE_SPEEDUPS") == "1":
        assert speedups is not None, "goroutines._core._speedups did not build or import"
    if speedups is not None:
        assert type(gr.Chan().send(1)) is speedups.SendOp
        want = _check.CheckedLock if _check.DEBUG else speedups.Lock
        assert type(gr.Chan()._lock) is want


@pytest.mark.timeout(300)
def test_core_tests_pass_on_the_pure_python_paths() -> None:
    env = dict(os.environ, GOROUTINES_PURE="1")
    env.pop("GOROUTINES_REQUIRE_SPEEDUPS", None)
    files = [
        "test_chan.py",
        "test_select.py",
        "test_stress.py",
        "test_run.py",
        "test_sync.py",
        "test_time.py",
        "test_introspection.py",
        "test_traceback.py",
        "test_go_chan_programs.py",
        "test_contextvars.py",
        "test_blocking.py",
        "test_aio.py",
        "test_lockosthread.py",
        "test_blocking_visible.py",
    ]
    code = "import goroutines._core as c, sys; sys.exit(0 if c.speedups is None else 3)"
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0, "GOROUTINES_PURE=1 ignored"
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(f"tests/{f}" for f in files)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


# ------------------------------------------------------------------ the C Lock


@needs_c
def test_lock_has_threading_locks_api() -> None:
    lk = speedups.Lock()
    assert not lk.locked()
    assert lk.acquire() is True
    assert lk.locked()
    assert lk.acquire(False) is False
    assert lk.acquire(blocking=False) is False
    assert lk.acquire(True, 0.01) is False
    assert lk.acquire(timeout=0) is False
    lk.release()
    assert not lk.locked()
    with lk:
        assert lk.locked()
    assert not lk.locked()
    assert "unlocked" in repr(lk)


@needs_c
def test_lock_misuse_is_reported() -> None:
    lk = speedups.Lock()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lk.release()
    with pytest.raises(ValueError, match="non-blocking"):
        lk.acquire(False, 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        lk.acquire(True, -2.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        lk.acquire(wait=True)
    with pytest.raises(TypeError, match="at most 2"):
        lk.acquire(True, 1.0, 3)
    with pytest.raises(TypeError, match="no arguments"):
        speedups.Lock(1)


@needs_c
@pytest.mark.timeout(30)
def test_lock_excludes_across_threads() -> None:
    lk = speedups.Lock()
    count = 0
    n, k = 4, 20_000

    def work() -> None:
        nonlocal count
        for _ in range(k):
            with lk:
                c = count
                count = c + 1

    ts = [threading.Thread(target=work) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert count == n * k


@needs_c
@pytest.mark.timeout(30)
def test_lock_blocked_acquire_is_released_by_another_thread() -> None:
    lk = speedups.Lock()
    lk.acquire()
    got = threading.Event()

    def taker() -> None:
        lk.acquire()
        got.set()
        lk.release()

    t = threading.Thread(target=taker)
    t.start()
    assert not got.wait(0.05)  # still held by us
    lk.release()
    t.join(10)
    assert got.is_set() and not lk.locked()


# ------------------------------------------------------------------ the await protocol


@pytest.mark.timeout(60)
@pytest.mark.parametrize("procs", [1, 2])
def test_channels_work_under_a_trace_function(procs: int) -> None:
    # With a trace function set, the interpreter drives an awaited iterator
    # through __next__/send instead of the C send slot: both must agree.
    calls = 0

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal calls
        calls += 1
        return tracer

    async def pong(ping: gr.Chan[int], back: gr.Chan[tuple[int, bool]]) -> None:
        async for v in ping:
            await back.send((v, True))
        await back.send((-1, False))

    async def main() -> list[Any]:
        ping: gr.Chan[int] = gr.Chan()
        back: gr.Chan[tuple[int, bool]] = gr.Chan(1)
        gr.go(pong, ping, back)
        out = []
        for i in range(50):
            await ping.send(i)
            out.append(await back.recv())
        ping.close()
        out.append(await back.recv_ok())
        return out

    threading.settrace(tracer)
    try:
        out = gr.run(main, gomaxprocs=procs)
    finally:
        threading.settrace(None)  # type: ignore[arg-type]
    assert out[:50] == [(i, True) for i in range(50)]
    assert out[50] == ((-1, False), True)
    assert calls > 0


@pytest.mark.timeout(60)
def test_a_result_seen_as_stopiteration_is_a_fresh_exception_each_time() -> None:
    # A receive that completes at once returns its value in a StopIteration
    # (Python 3.12+'s SEND, or anyone iterating the awaitable by hand); the C
    # code reuses one when nobody holds it. One that is held must keep its
    # value; a new one must carry nothing from an earlier use.
    async def main() -> list[Any]:
        ch: gr.Chan[Any] = gr.Chan(4)
        seen: list[Any] = []
        for v in ("a", ("t", 1), None, 7):
            await ch.send(v)
        held = []
        for _ in range(3):
            it = ch.recv().__await__()
            try:
                next(it)
            except StopIteration as e:
                held.append(e)
                e.note = "mine"  # type: ignore[attr-defined]
                e.__context__ = KeyError("k")
        await ch.send("again")
        for e in held:
            seen.append((e.value, e.args, e.__traceback__ is not None, e.note))  # type: ignore[attr-defined]
        del held
        try:
            next(ch.recv().__await__())
        except StopIteration as e:
            seen.append((e.value, e.args, getattr(e, "note", None), e.__context__, e.__cause__))
        seen.append(await ch.recv())  # "again", now through the interpreter's own SEND
        return seen

    seen = gr.run(main)
    assert seen[:3] == [
        ("a", ("a",), True, "mine"),
        (("t", 1), (("t", 1),), True, "mine"),
        (None, (), True, "mine"),
    ]
    assert seen[3] == (7, (7,), None, None, None)
    assert seen[4] == "again"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("procs", [1, 2])
def test_a_value_received_at_once_is_not_kept_by_an_idle_m(procs: int) -> None:
    # The value of a receive that completed without parking travels in a
    # StopIteration that the C code keeps for reuse: it must be dropped once
    # the goroutine moves on, not when the M next runs something.
    import weakref

    async def main() -> bool:
        ch: gr.Chan[_Box] = gr.Chan(1)
        done: gr.Chan[None] = gr.Chan()
        hold: gr.Chan[None] = gr.Chan()
        b = _Box(1)
        ref = weakref.ref(b)
        await ch.send(b)
        del b

        async def taker() -> None:
            got = await ch.recv()  # completes at once: the buffer has it
            assert got.n == 1
            del got
            await done.send(None)
            await hold.recv()  # parked from here on

        gr.go(taker)
        await done.recv()
        gone = ref() is None
        hold.close()
        return gone

    assert gr.run(main, gomaxprocs=procs)


@pytest.mark.timeout(60)
def test_a_forgotten_send_warns_however_its_memory_was_used_before() -> None:
    # Send operations freed on an M are handed out again: one reused after
    # awaited sends, or after the cycle collector finalized one, must still
    # warn when it is forgotten, once, and never when it was awaited.
    import gc
    import warnings

    async def main() -> list[int]:
        ch: gr.Chan[Any] = gr.Chan(64)
        for i in range(40):
            await ch.send(i)  # awaited: recycled, no warning
        ch.send(-1)  # forgotten (1)
        box: list[Any] = []
        box.append(ch.send(box))  # a forgotten op in a cycle: the collector finalizes it (2)
        del box
        gc.collect()
        for i in range(24):
            await ch.send(i)
        ch.send(-2)  # forgotten (3)
        return [await ch.recv() for _ in range(64)]

    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        out = gr.run(main)
    assert out == list(range(40)) + list(range(24))
    ours = sorted(str(w.message).split(" on ")[0] for w in got if "never awaited" in str(w.message))
    assert ours == [
        "channel operation <send -1",
        "channel operation <send -2",
        "channel operation <send [<send [...]",
    ]


@needs_c
@pytest.mark.filterwarnings("ignore:channel operation:RuntimeWarning")  # ops made only to look at
def test_operation_objects_are_what_the_contract_says() -> None:
    ch: gr.Chan[int] = gr.Chan(2)
    op = ch.send(5)
    assert op.chan is ch and op.value == 5
    assert repr(op) == f"<send 5 on {ch!r}>"
    assert ch.recv() is ch.recv() and ch.recv().chan is ch
    assert repr(ch.recv_ok()).startswith("<recv_ok on <Chan cap=2")
    assert gr.SendOp[int] is not None and gr.RecvOp[int] is not None
    with pytest.raises(AttributeError):
        op.value = 6  # type: ignore[misc]


@pytest.mark.timeout(60)
def test_a_goroutine_closed_while_parked_on_a_c_await_runs_its_finally() -> None:
    # run() closes abandoned goroutines: the exception is thrown in at the
    # await of the channel operation.
    cleaned = threading.Event()

    async def stuck(ch: gr.Chan[int]) -> None:
        try:
            await ch.recv()
        finally:
            cleaned.set()

    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()
        g = gr.go(stuck, ch)
        for _ in range(1000):
            if any(i.id == g.id and i.wait_reason == "chan receive" for i in gr.goroutines()):
                break
            await gr.gosched()

    gr.run(main)
    assert cleaned.is_set()


# ------------------------------------------------------------------ references


class _Box:
    """A value whose collection a weakref can see."""

    __slots__ = ("n", "ref", "__weakref__")

    def __init__(self, n: int) -> None:
        self.n = n
        self.ref: Any = None


@pytest.mark.timeout(60)
@pytest.mark.parametrize("cap", [0, 1, 64])
def test_values_through_a_channel_are_released(cap: int) -> None:
    # Every path (hand-off, buffer, park on either side, close) must drop its
    # references: a value that made the trip is freed by reference counting
    # alone once the receiver lets go of it.
    import weakref

    n = 2000

    async def main() -> list[Any]:
        ch: gr.Chan[_Box] = gr.Chan(cap)
        refs: list[Any] = []

        async def producer() -> None:
            for i in range(n):
                b = _Box(i)
                refs.append(weakref.ref(b))
                await ch.send(b)
                del b
            ch.close()

        gr.go(producer)
        total = 0
        async for b in ch:
            total += b.n
            del b
        assert total == n * (n - 1) // 2
        assert await ch.recv_ok() == (None, False)
        return refs

    refs = gr.run(main)
    assert len(refs) == n
    assert sum(r() is not None for r in refs) == 0


@pytest.mark.timeout(60)
def test_a_cycle_through_a_buffered_value_is_collected() -> None:
    # value -> channel -> buffer -> value: only the cyclic GC can free it,
    # so the C buffer must show its items to the GC.
    import gc
    import weakref

    async def main() -> tuple[Any, Any]:
        ch: gr.Chan[_Box] = gr.Chan(4)
        b = _Box(1)
        b.ref = ch
        await ch.send(b)
        return weakref.ref(ch), weakref.ref(b)

    rch, rb = gr.run(main)
    gc.collect()
    assert rch() is None and rb() is None


@needs_c
def test_ring_buffer_api() -> None:
    r = speedups.Ring()
    assert len(r) == 0 and not r
    for i in range(100):  # past several doublings
        r.append(i)
    assert len(r) == 100
    assert [r.popleft() for _ in range(60)] == list(range(60))
    for i in range(100, 150):  # wraps around
        r.append(i)
    assert [r.popleft() for _ in range(90)] == list(range(60, 150))
    with pytest.raises(IndexError, match="empty channel buffer"):
        r.popleft()
    r.append("x")
    r.clear()
    assert len(r) == 0
    with pytest.raises(TypeError, match="no arguments"):
        speedups.Ring(3)


# ------------------------------------------------------------------ both paths, one process


@pytest.fixture(params=["c", "python"])
def chan_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test on the C fast paths, then on their Python definitions."""
    if speedups is None or _check.DEBUG:
        if request.param == "c":
            pytest.skip("the C fast paths are not built, or off (debug mode)")
        yield request.param
        return
    speedups.set_fast(request.param == "c")
    speedups.reset_fallbacks()
    try:
        yield request.param
        if request.param == "python":
            # The switch really sent the operations to Python.
            assert speedups.fallbacks()["off"] > 0 or not _used_channels()
    finally:
        speedups.set_fast(True)


def _used_channels() -> bool:
    return sum(speedups.fallbacks().values()) > 0


def _both_paths(mod: Any) -> dict[str, Callable[..., Any]]:
    """mod's tests, each wrapped to run under ``chan_path`` (the originals,
    and their marks, are left as they are)."""
    out = {}
    for name in dir(mod):
        fn = getattr(mod, name)
        if not name.startswith("test_") or not callable(fn):
            continue

        wrapper: Callable[..., Any]
        if inspect.iscoroutinefunction(fn):
            # A goroutines-marked test (the plugin runs it in a run).

            @functools.wraps(fn)
            async def wrapper(*args: Any, __fn: Any = fn, **kwargs: Any) -> Any:
                return await __fn(*args, **kwargs)

        else:

            @functools.wraps(fn)
            def wrapper(*args: Any, __fn: Any = fn, **kwargs: Any) -> Any:
                return __fn(*args, **kwargs)

        out[f"test_{mod.__name__}__{name[5:]}"] = pytest.mark.usefixtures("chan_path")(wrapper)
    return out


import test_chan  # noqa: E402
import test_context  # noqa: E402
import test_core_timers  # noqa: E402
import test_core_waitq  # noqa: E402
import test_select  # noqa: E402
import test_sync  # noqa: E402
import test_synctest  # noqa: E402
import test_time  # noqa: E402
import test_xsync  # noqa: E402
from test_core_timers import sched  # noqa: E402, F401 - fixtures of the tests run both ways
from test_sync import no_preemption  # noqa: E402, F401

globals().update(_both_paths(test_chan))
globals().update(_both_paths(test_select))
# The sync objects' C methods (Mutex, WaitGroup) and the Python ones they call.
globals().update(_both_paths(test_sync))
globals().update(_both_paths(test_core_waitq))
globals().update(_both_paths(test_xsync))
# The runtime timer's C start/stop/reset and the Python ones they call.
globals().update(_both_paths(test_core_timers))
globals().update(_both_paths(test_time))
globals().update(_both_paths(test_context))
globals().update(_both_paths(test_synctest))


async def _pingpong(n: int) -> int:
    ping: gr.Chan[int] = gr.Chan()
    pong: gr.Chan[int] = gr.Chan()

    async def ponger() -> None:
        for _ in range(n):
            v = await ping.recv()
            await pong.send(v + 1)

    gr.go(ponger)
    v = 0
    for _ in range(n):
        await ping.send(v)
        v = await pong.recv()
    return v


async def _prodcons(n: int, cap: int) -> int:
    ch: gr.Chan[int] = gr.Chan(cap)

    async def producer() -> None:
        for i in range(n):
            await ch.send(i)
        ch.close()

    gr.go(producer)
    total = 0
    async for v in ch:
        total += v
    return total


async def _select4(n: int) -> int:
    """W5's shape: four producers, one consumer's 4-way select until all
    four are closed (a closed case set to None)."""
    chans: list[gr.Chan[int]] = [gr.Chan() for _ in range(4)]

    async def producer(ch: gr.Chan[int], lo: int) -> None:
        for i in range(lo, lo + n):
            await ch.send(i)
        ch.close()

    for k, ch in enumerate(chans):
        gr.go(producer, ch, k * n)
    cases: list[Any] = [ch.recv_ok() for ch in chans]
    live, total = 4, 0
    while live:
        i, v, ok = await gr.select(*cases)
        if not ok:
            cases[i] = None
            live -= 1
            continue
        total += v
    return total


async def _fanout(n: int, workers: int) -> int:
    """W8's shape: one producer, several workers ranging over one channel
    and sending to another (several waiters queue on each), one collector."""
    inp: gr.Chan[int] = gr.Chan()
    out: gr.Chan[int] = gr.Chan()

    async def producer() -> None:
        for i in range(n):
            await inp.send(i)
        inp.close()

    async def worker() -> None:
        async for v in inp:
            await out.send(v * v)

    gr.go(producer)
    for _ in range(workers):
        gr.go(worker)
    total = 0
    for _ in range(n):
        total += await out.recv()
    return total


@needs_fast
@pytest.mark.timeout(60)
@pytest.mark.parametrize("procs", [1, 2])
def test_the_c_paths_do_not_quietly_fall_back_to_python(procs: int) -> None:
    # W1's, W2's, W5's and W8's operations are all cases the C code does
    # itself: a hand-off to a waiting G or select, the buffer, a park on
    # any queue, a select's poll and park. Only the end of a range or a
    # select on a closed channel (close is Python's) goes to Python.
    speedups.reset_fallbacks()
    assert gr.run(_pingpong, 2000, gomaxprocs=procs) == 2000
    assert gr.run(_prodcons, 5000, 128, gomaxprocs=procs) == 5000 * 4999 // 2
    assert gr.run(_select4, 500, gomaxprocs=procs) == 2000 * 1999 // 2
    assert gr.run(_fanout, 2000, 8, gomaxprocs=procs) == 1999 * 2000 * 3999 // 6
    fb = speedups.fallbacks()
    assert set(fb) == {"off", "not_m", "chan", "closed", "queue", "park", "ready", "select", "spawn", "sync", "timer"}
    assert fb["off"] == fb["chan"] == fb["queue"] == fb["park"] == fb["select"] == 0, fb
    assert fb["closed"] <= 2 + 8, fb
    if procs == 1:
        # not_m: preempted (a P taken away) -- only ever by sysmon when
        # several Ms want one; never at GOMAXPROCS=1 with nothing blocking.
        assert fb["not_m"] == 0, fb


async def _seeded_choices(n: int) -> list[int]:
    """Selects whose choices are random: among ready cases (two buffered
    channels), and a park with two cases on one channel (the shuffle)."""
    a: gr.Chan[int] = gr.Chan(1)
    b: gr.Chan[int] = gr.Chan(1)
    c: gr.Chan[int] = gr.Chan()
    out = []
    for k in range(n):
        await a.send(0)
        await b.send(1)
        i, _, _ = await gr.select(a.recv(), b.recv(), c.send(k))
        out.append(i)
        await (b if i == 0 else a).recv()

    async def sender(v: int) -> None:
        await c.send(v)

    for k in range(n):
        # Parks on c twice (receive and receive_ok); the sender's value
        # goes to whichever queued first there.
        gr.go(sender, k)
        i, v, _ = await gr.select(c.recv(), c.recv_ok(), None)
        assert v == k
        out.append(10 + i)
    return out


@needs_fast
@pytest.mark.timeout(60)
def test_a_seeded_select_chooses_the_same_on_both_paths() -> None:
    # The C select draws from the P's seeded generator exactly where
    # selectgo does, so one seed gives one sequence of choices on both.
    c_path = gr.run(_seeded_choices, 100, gomaxprocs=1, seed=5)
    speedups.set_fast(False)
    try:
        py_path = gr.run(_seeded_choices, 100, gomaxprocs=1, seed=5)
    finally:
        speedups.set_fast(True)
    assert c_path == py_path
    assert 20 < sum(1 for i in c_path[:100] if i == 1) < 80
    assert 20 < sum(1 for i in c_path[100:] if i == 11) < 80
    assert c_path != gr.run(_seeded_choices, 100, gomaxprocs=1, seed=6)


@needs_fast
@pytest.mark.timeout(60)
def test_switching_the_c_paths_off_runs_the_python_definitions() -> None:
    speedups.reset_fallbacks()
    speedups.set_fast(False)
    try:
        assert not speedups.fast()
        assert gr.run(_pingpong, 500) == 500
        assert gr.run(_prodcons, 1000, 16) == 1000 * 999 // 2
    finally:
        speedups.set_fast(True)
    assert speedups.fast()
    fb = speedups.fallbacks()
    # every send and receive: 2 per round trip, 2 per item (and the end)
    assert fb["off"] >= 2 * 500 + 2 * 1000, fb


# ------------------------------------------------------------------ stale builds


@needs_c
def test_the_loaded_build_matches_its_source() -> None:
    assert len(speedups.SOURCE_SHA256) == 64
    assert _cext.stale_reason(speedups) is None


@needs_c
def test_a_stale_build_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    changed = tmp_path / "_speedups.c"
    changed.write_bytes(_cext._SOURCE.read_bytes() + b"/* edited */\n")
    why = _cext.stale_reason(speedups, changed)
    assert why is not None and "older _speedups.c" in why

    class OldBuild:
        __file__ = "old.so"  # no SOURCE_SHA256: built before the hash existed

    assert "records no source hash" in (_cext.stale_reason(OldBuild, _cext._SOURCE) or "")
    assert _cext.stale_reason(speedups, tmp_path / "absent.c") is None  # an installed wheel

    monkeypatch.setattr(_cext, "_SOURCE", changed)
    monkeypatch.delenv("GOROUTINES_REQUIRE_SPEEDUPS", raising=False)
    with pytest.warns(RuntimeWarning, match="not loading the C fast paths.*rebuild"):
        assert _cext._load() is None
    monkeypatch.setenv("GOROUTINES_REQUIRE_SPEEDUPS", "1")
    with pytest.raises(ImportError, match="older _speedups.c.*GOROUTINES_REQUIRE_SPEEDUPS=1"):
        _cext._load()


# ------------------------------------------------------------------ free-threaded builds


@needs_ft
@pytest.mark.timeout(60)
def test_on_a_free_threaded_build_the_c_paths_load_and_the_gil_stays_off() -> None:
    env = dict(os.environ)
    env.pop("PYTHON_GIL", None)  # as a user starts it: no -X gil, no PYTHON_GIL
    env.pop("GOROUTINES_PURE", None)
    code = (
        "import sys, goroutines as gr\n"
        "from goroutines._core import speedups\n"
        "assert speedups is not None, 'the C fast paths did not load'\n"
        "assert speedups.FREE_THREADED == 1\n"
        "assert not sys._is_gil_enabled(), 'importing goroutines enabled the GIL'\n"
        "async def send(ch, v):\n"
        "    await ch.send(v)\n"
        "async def main():\n"
        "    ch = gr.Chan()\n"
        "    gr.go(send, ch, 1)\n"
        "    return await ch.recv()\n"
        "assert gr.run(main, gomaxprocs=2) == 1\n"
        "assert not sys._is_gil_enabled(), 'running goroutines enabled the GIL'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=50)
    assert r.returncode == 0, r.stderr[-3000:]


# ------------------------------------------------------------------ spawn and exit (go, goexit)


async def _spawn_join(n: int) -> int:
    lock = threading.Lock()
    count = [0]
    done: gr.Chan[None] = gr.Chan()

    async def worker() -> None:
        with lock:
            count[0] += 1
            last = count[0] == n
        if last:
            done.close()

    for _ in range(n):
        gr.go(worker)
    await done.recv()
    return count[0]


@needs_fast
def test_spawn_and_exit_take_the_c_path() -> None:
    # W3's go() and goroutine exits are the common case at GOMAXPROCS=1:
    # only a spawn that finds the P's local queue full (every 128th once it
    # is: half of it moves to the global queue) goes to _proc.newproc.
    from goroutines._core._sched import LOCAL_RUNQ

    speedups.reset_fallbacks()
    n = 3000
    assert gr.run(_spawn_join, n, gomaxprocs=1) == n
    assert speedups.fallbacks()["spawn"] <= n // (LOCAL_RUNQ // 2) + 1, speedups.fallbacks()


async def _sync_and_timers(n: int) -> int:
    """Every sync and timer path the C code does: a free mutex, contended
    locks (park, wake-up, retry), a WaitGroup wait that parks and one that
    returns, timers armed, re-armed and stopped, sleeps."""
    from goroutines._core import Timer, current_sched

    mu = gr.Mutex()
    wg = gr.WaitGroup()
    count = [0]

    async def worker() -> None:
        for _ in range(n):
            async with mu:
                count[0] += 1
                await gr.gosched()
        wg.done()

    for _ in range(n):
        await mu.lock()
        mu.unlock()
    wg.add(4)
    for _ in range(4):
        gr.go(worker)
    await wg.wait()
    await wg.wait()  # at zero: returns at once
    s = current_sched()
    assert s is not None
    for _ in range(n):
        t = Timer(s, lambda arg, seq: None, None)
        t.start(s.clock.now() + 10)
        assert t.reset(s.clock.now() + 20) is True
        assert t.stop() is True
        assert t.stop() is False
        await gr.sleep(1e-6)
    return count[0]


@needs_fast
@pytest.mark.timeout(60)
@pytest.mark.parametrize("procs", [1, 2])
def test_sync_and_timers_take_the_c_paths(procs: int) -> None:
    speedups.reset_fallbacks()
    assert gr.run(_sync_and_timers, 200, gomaxprocs=procs) == 4 * 200
    fb = speedups.fallbacks()
    assert fb["off"] == fb["timer"] == 0, fb
    # sync: only an unlock or add run by an M whose P was retaken (never at
    # GOMAXPROCS=1 with nothing blocking)
    if procs == 1:
        assert fb["sync"] == 0, fb


@needs_c
def test_the_c_sync_and_timer_methods_keep_their_signatures() -> None:
    import inspect

    from goroutines._core import Timer

    assert str(inspect.signature(gr.Mutex.lock)) == "(self, /)"
    assert str(inspect.signature(gr.WaitGroup.add)) == "(self, /, delta)"
    assert str(inspect.signature(Timer.reset)) == "(self, /, when, period=None)"

    async def main() -> int:
        wg = gr.WaitGroup()
        wg.add(delta=2)  # the keyword, as the Python method takes it
        wg.done()
        return wg.count

    assert gr.run(main) == 1


@needs_fast
@pytest.mark.parametrize("fast", [True, False])
def test_go_records_the_same_goroutine_either_way(fast: bool) -> None:
    # The C go() and the Python one make the same G: id, entry, creator,
    # where it was created, its own context; the record is not GC-tracked.
    import contextvars
    import gc

    from goroutines._core import current_g

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
    seen: dict[str, Any] = {}

    async def child(ch: gr.Chan[None]) -> None:
        g = current_g()
        assert g is not None
        seen["tracked"] = gc.is_tracked(g)
        seen["var"] = var.get()
        var.set("child's")
        await ch.recv()

    async def main(wait_parked: Any) -> None:
        var.set("parent's")
        ch: gr.Chan[None] = gr.Chan()
        h = gr.go(child, ch)
        seen["handle"] = (type(h).__name__, repr(h), gc.is_tracked(h))
        await wait_parked(h.id)
        info = next(i for i in gr.goroutines() if i.id == h.id)
        seen["created_by"] = info.created_by
        seen["stack"] = info.stack
        seen["dump"] = gr.dump()
        seen["id"] = h.id
        ch.close()
        seen["after"] = var.get()

    async def wait_parked(gid: int) -> None:
        for _ in range(10_000):
            if any(i.id == gid and i.state == "waiting" for i in gr.goroutines()):
                return
            await gr.gosched()
        raise AssertionError(f"goroutine {gid} never parked")

    speedups.set_fast(fast)
    try:
        gr.run(main, wait_parked, gomaxprocs=1)
    finally:
        speedups.set_fast(True)
    gid = seen["id"]
    # (the C handle is off the GC's lists too: it holds one int)
    assert seen["handle"][:2] == ("Goroutine", f"<goroutine {gid}>")
    assert seen["handle"][2] is not fast
    assert seen["tracked"] is False
    assert seen["var"] == "parent's" and seen["after"] == "parent's"
    line = _go_line()
    assert "main in goroutine 1" in seen["created_by"], seen["created_by"]
    block = seen["dump"].split(f"goroutine {gid} [")[1].split("\n\n")[0]
    assert f"test_speedups.py:{line}" in block.split("created by")[1], block
    assert "child" in seen["stack"]


def _go_line() -> int:
    # the line of ``h = gr.go(child, ch)`` above
    src = Path(__file__).read_text().splitlines()
    return next(i for i, s in enumerate(src, 1) if s.strip() == "h = gr.go(child, ch)")


@pytest.mark.parametrize("procs", [1, 2])
def test_go_falls_back_for_what_the_c_path_does_not_do(procs: int) -> None:
    # kwargs, a plain function, a coroutine object, a bound method: each
    # goes to _runtime.go, with the same result.
    got: list[Any] = []

    class Obj:
        async def meth(self, x: int) -> None:
            got.append(("meth", x))

    async def kw(*, x: int) -> None:
        got.append(("kw", x))

    async def coro_fn(x: int) -> None:
        got.append(("coro", x))

    def plain(x: int) -> None:
        got.append(("plain", x))

    async def main() -> None:
        hs = [gr.go(kw, x=1), gr.go(plain, 2), gr.go(coro_fn(3)), gr.go(Obj().meth, 4), gr.go(coro_fn, 5)]
        assert len({h.id for h in hs}) == 5
        while len(got) < 5:
            await gr.gosched()

    gr.run(main, gomaxprocs=procs)
    assert sorted(got) == [("coro", 3), ("coro", 5), ("kw", 1), ("meth", 4), ("plain", 2)]


def test_go_errors_are_the_python_ones() -> None:
    async def needs_arg(x: int) -> None:
        pass

    async def main() -> str:
        with pytest.raises(TypeError):
            gr.go(needs_arg)  # the call itself fails: nothing is started
        return "ok"

    assert gr.run(main) == "ok"
    with pytest.raises(RuntimeError, match="no goroutines runtime is running"):
        gr.go(needs_arg, 1)


def test_an_abandoned_goroutine_in_a_cycle_is_freed() -> None:
    # G records are not GC-tracked: what an abandoned goroutine held (here
    # a channel whose wait queue holds the goroutine) must still be freed.
    import gc
    import weakref

    class Payload:
        pass

    refs: list[weakref.ref[Any]] = []

    async def parked(ch: gr.Chan[None], p: Payload) -> None:
        await ch.send(None)

    async def main() -> None:
        for _ in range(3):
            ch: gr.Chan[None] = gr.Chan()
            p = Payload()
            refs.append(weakref.ref(p))
            refs.append(weakref.ref(ch))
            gr.go(parked, ch, p)
            del ch, p
        await gr.gosched()

    gr.run(main)
    gc.collect()
    assert [r for r in refs if r() is not None] == []


def test_a_built_extension_that_does_not_load_is_reported(tmp_path: Path) -> None:
    """Not built: the silent, documented fallback. Built but failing to load
    (an undefined symbol after a bad merge): a warning naming the file and
    the error, never a quiet switch to the pure-Python paths."""
    import importlib.machinery

    from goroutines._core._cext import unloadable_reason

    err = ImportError("undefined symbol: deque_call1")
    assert unloadable_reason(err, tmp_path) is None
    so = tmp_path / ("_speedups" + importlib.machinery.EXTENSION_SUFFIXES[0])
    so.write_bytes(b"")
    msg = unloadable_reason(err, tmp_path)
    assert msg is not None
    assert str(so) in msg and "undefined symbol: deque_call1" in msg and "rebuild" in msg
