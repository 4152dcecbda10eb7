"""Context variables: each goroutine runs in its own contextvars.Context.

The contract's "Context variables" section: a copy of the creator's context
per goroutine, kept across every park, resume and move to another thread;
``reset(token)`` works; main starts from a copy of the caller's context;
``gr.syscall`` runs its function in the goroutine's context. Plus the
logging filter that puts goroutine ids on records.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading

import pytest

import goroutines as gr

req: contextvars.ContextVar[str] = contextvars.ContextVar("req", default="unset")


def test_value_survives_park_and_is_private() -> None:
    async def worker(tag: str, out: gr.Chan[tuple[str, str, str]]) -> None:
        seen = req.get()
        req.set(tag)
        await gr.sleep(0.005)  # parks on a timer
        await gr.gosched()
        mid = req.get()
        ch: gr.Chan[int] = gr.Chan(1)
        await ch.send(1)
        await ch.recv()
        await out.send((seen, mid, req.get()))

    async def main() -> list[tuple[str, str, str]]:
        req.set("main")
        out: gr.Chan[tuple[str, str, str]] = gr.Chan()
        for t in ("a", "b", "c", "d"):
            gr.go(worker, t, out)
        got = sorted([await out.recv() for _ in range(4)], key=lambda x: x[1])
        assert req.get() == "main"  # no goroutine's set leaked into main
        return got

    got = gr.run(main)
    assert got == [("main", t, t) for t in "abcd"]


def test_unbuffered_ping_pong_keeps_each_side_own_value() -> None:
    # The C fast path (runnext hand-off) resumes the partner directly.
    async def ponger(ping: gr.Chan[int], pong: gr.Chan[int]) -> None:
        req.set("ponger")
        for _ in range(200):
            v = await ping.recv()
            assert req.get() == "ponger"
            await pong.send(v + 1)

    async def main() -> str:
        req.set("pinger")
        ping: gr.Chan[int] = gr.Chan()
        pong: gr.Chan[int] = gr.Chan()
        gr.go(ponger, ping, pong)
        v = 0
        for _ in range(200):
            await ping.send(v)
            v = await pong.recv()
            assert req.get() == "pinger"
        return req.get()

    assert gr.run(main) == "pinger"


def test_main_starts_from_a_copy_of_the_callers_context() -> None:
    async def main() -> str:
        before = req.get()
        req.set("changed in main")
        return before

    tok = req.set("caller")
    try:
        assert gr.run(main) == "caller"
        assert req.get() == "caller"  # main's set did not reach the caller
    finally:
        req.reset(tok)


def test_go_from_a_plain_thread_copies_that_threads_context() -> None:
    async def child(out: gr.Chan[str]) -> None:
        await out.send(req.get())

    async def main() -> str:
        out: gr.Chan[str] = gr.Chan()

        def starter() -> None:
            req.set("from thread")
            gr.go(child, out)

        t = threading.Thread(target=starter)
        t.start()
        await gr.syscall(t.join)
        return await out.recv()

    assert gr.run(main) == "from thread"


def test_reset_token_works_across_parks() -> None:
    async def main() -> list[str]:
        seen = []
        t1 = req.set("one")
        await gr.sleep(0.001)
        t2 = req.set("two")
        await gr.gosched()
        seen.append(req.get())
        req.reset(t2)
        await gr.sleep(0.001)
        seen.append(req.get())
        req.reset(t1)
        seen.append(req.get())
        return seen

    assert gr.run(main) == ["two", "one", "unset"]


def test_reset_with_another_goroutines_token_is_an_error() -> None:
    async def setter(out: gr.Chan[contextvars.Token[str]]) -> None:
        await out.send(req.set("other"))

    async def main() -> str:
        out: gr.Chan[contextvars.Token[str]] = gr.Chan()
        gr.go(setter, out)
        tok = await out.recv()
        with pytest.raises(ValueError, match="different Context"):
            req.reset(tok)
        return req.get()

    assert gr.run(main) == "unset"


def test_syscall_runs_in_the_goroutines_context() -> None:
    def blocking() -> str:
        v = req.get()
        req.set("set in syscall")
        return v

    async def main() -> tuple[str, str]:
        req.set("g")
        v = await gr.syscall(blocking)
        return v, req.get()

    # The function runs in the goroutine's own context, so what it sets is
    # seen by the goroutine afterwards (as a direct call would be).
    assert gr.run(main) == ("g", "set in syscall")


@pytest.mark.parametrize("procs", [1, 2, 4])
def test_values_survive_moves_between_threads(procs: int) -> None:
    # Blocking calls hand the goroutine's P to other Ms, so goroutines
    # resume on different threads; each keeps its own value throughout.
    def block() -> int:
        return threading.get_ident()

    async def worker(i: int, out: gr.Chan[tuple[int, bool, int]]) -> None:
        req.set(f"w{i}")
        idents = set()
        ok = True
        for _ in range(20):
            idents.add(await gr.syscall(block))
            await gr.gosched()
            ok = ok and req.get() == f"w{i}"
        await out.send((i, ok, len(idents)))

    async def main() -> list[tuple[int, bool, int]]:
        out: gr.Chan[tuple[int, bool, int]] = gr.Chan()
        for i in range(8):
            gr.go(worker, i, out)
        return sorted([await out.recv() for _ in range(8)])

    got = gr.run(main, gomaxprocs=procs)
    assert [(i, ok) for i, ok, _ in got] == [(i, True) for i in range(8)]


def test_plain_function_goroutine_runs_in_its_context() -> None:
    def plain(out: list[str]) -> None:
        out.append(req.get())
        req.set("plain")

    async def main() -> tuple[list[str], str]:
        req.set("parent")
        out: list[str] = []
        gr.go(plain, out)
        await gr.sleep(0.001)
        return out, req.get()

    assert gr.run(main) == (["parent"], "parent")


def test_abandoned_goroutine_finally_sees_its_context() -> None:
    seen: list[str] = []

    async def stuck() -> None:
        req.set("stuck")
        try:
            await gr.Chan().recv()
        finally:
            seen.append(req.get())

    async def main() -> None:
        gr.go(stuck)
        await gr.sleep(0.001)

    gr.run(main)
    assert seen == ["stuck"]


# ------------------------------------------------------------------ logging


def test_logging_filter_puts_goroutine_ids_on_records() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    h = Keep()
    h.addFilter(gr.GoroutineFilter())
    log = logging.getLogger("test_contextvars.ids")
    log.propagate = False
    log.addHandler(h)
    log.setLevel(logging.INFO)

    async def child(done: gr.Chan[int]) -> None:
        log.info("child")
        await gr.syscall(log.info, "in syscall")
        await done.send(0)

    async def main() -> list[int]:
        done: gr.Chan[int] = gr.Chan()
        log.info("main")
        h1 = gr.go(child, done)
        await done.recv()
        return [1, h1.id]

    try:
        ids = gr.run(main)
        log.info("outside")
    finally:
        log.removeHandler(h)
    assert [(r.getMessage(), r.goroutine) for r in records] == [  # type: ignore[attr-defined]
        ("main", 1),
        ("child", ids[1]),
        ("in syscall", ids[1]),
        ("outside", None),
    ]
    fmt = logging.Formatter("[g%(goroutine)s] %(message)s")
    assert fmt.format(records[1]) == f"[g{ids[1]}] child"
    if sys.version_info >= (3, 12):
        assert records[0].taskName == "goroutine-1"  # type: ignore[attr-defined]
        assert records[3].taskName is None  # type: ignore[attr-defined]
