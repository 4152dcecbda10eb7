"""The optional C fast paths (src/goroutines/_core/_speedups.c).

The rest of the suite runs with them when they are built (the normal case:
``pip install -e .`` compiles them). Here: that they are really in use where
CI requires it, that the pure-Python paths still pass the core tests, and
the parts of the C code the rest of the suite does not reach (the Lock API,
the await protocol as seen by a trace function).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import goroutines as gr
from goroutines._core import speedups

ROOT = Path(__file__).resolve().parent.parent
needs_c = pytest.mark.skipif(speedups is None, reason="the C fast paths are not built")


def test_c_fast_paths_are_in_use_where_required() -> None:
    # .ci/run sets GOROUTINES_REQUIRE_SPEEDUPS=1: a build that silently
    # failed (the extension is optional) must not pass CI on the pure paths.
    if os.environ.get("GOROUTINES_REQUIRE_SPEEDUPS") == "1":
        assert speedups is not None, "goroutines._core._speedups did not build or import"
    if speedups is not None:
        assert type(gr.Chan().send(1)) is speedups.SendOp
        assert type(gr.Chan()._lock) is speedups.Lock


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


@needs_c
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
