"""Goroutine dumps in Go's format (_core/_traceback.py): gr.dump(), gr.goroutines(), panics.

Checked on running programs: every kind of wait the runtime has shows its
wait reason in the header and the goroutine's own frames (innermost first)
under it, then ``created by MODULE.FUNC in goroutine N`` and the go() call's
``FILE:LINE``. Minutes are faked by patching the formatter's clock.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import goroutine_state, goroutines_cmd

import goroutines as gr
from goroutines._core import _traceback
from goroutines._core._g import FREE_THREADED_BUILD

pytestmark = [pytest.mark.usefixtures("no_leaked_runtime_threads"), pytest.mark.timeout(60)]

PROGRAMS = Path(__file__).parent / "programs"
HEADER = re.compile(r"^goroutine (\d+) \[([^\]]+)\]:$")
THIS_FILE = os.path.abspath(__file__)
MOD = __name__  # the module name dumps show for functions defined here
# Free-threaded builds: a goroutine running on another thread (its frames
# are not read there; see _core/_traceback.py), as Go prints one.
UNAVAILABLE = "\tgoroutine running on other thread; stack unavailable"


def blocks_of(text: str) -> dict[int, list[str]]:
    """Parse a dump into goroutine id -> its lines (header first); checks the shape."""
    out: dict[int, list[str]] = {}
    assert text.endswith("\n"), repr(text[-40:])
    for block in text.rstrip("\n").split("\n\n"):
        lines = block.split("\n")
        m = HEADER.match(lines[0])
        assert m, f"not a goroutine header: {lines[0]!r}\n{text}"
        gid = int(m.group(1))
        assert gid not in out, f"goroutine {gid} twice\n{text}"
        # frames come in pairs: "mod.func(...)" then "\tFILE:LINE"
        body = lines[1:]
        assert len(body) % 2 == 0, block
        for i, (name, where) in enumerate(zip(body[::2], body[1::2], strict=True)):
            assert not name.startswith("\t") and (name.endswith("(...)") or name.startswith("created by ")), (
                block
            )
            if FREE_THREADED_BUILD and i == 0 and where == UNAVAILABLE:
                assert status(lines) in ("running", "syscall"), block
                continue
            assert re.match(r"^\t.+:\d+$", where), (where, block)
        out[gid] = lines
    return out


def status(lines: list[str]) -> str:
    m = HEADER.match(lines[0])
    assert m
    return m.group(2)


def line_of(fn: Any, text: str) -> int:
    """The line in this file, inside ``fn``, that contains ``text``."""
    import inspect

    src, start = inspect.getsourcelines(fn)
    for i, s in enumerate(src):
        if text in s:
            return start + i
    raise AssertionError(f"{text!r} not in {fn.__name__}")


# --------------------------------------------------------------------------- helpers run as goroutines


async def inner_recv(ch: gr.Chan[int]) -> None:
    await ch.recv()  # INNER


async def outer_recv(ch: gr.Chan[int]) -> None:
    await inner_recv(ch)  # OUTER


async def blocked_send(ch: gr.Chan[int]) -> None:
    await ch.send(1)


async def blocked_select(a: gr.Chan[int], b: gr.Chan[int]) -> None:
    await gr.select(a.recv(), b.send(2))


async def blocked_nil_select() -> None:
    await gr.select(None, None)


async def blocked_forever() -> None:
    await gr.select()


async def sleeper() -> None:
    await gr.sleep(3600)


async def in_syscall(ev: threading.Event) -> None:
    await gr.syscall(ev.wait, 30)


# --------------------------------------------------------------------------- format and wait reasons


@pytest.mark.parametrize("procs", [1, 2, 4])
def test_dump_shows_every_wait_reason_of_a_running_program(procs: int, wait: Any) -> None:
    release = threading.Event()

    async def main() -> tuple[str, dict[str, int]]:
        # A select whose cases are all nil channels parks as "select", as in
        # Go (only a select with no cases at all is "select (no cases)").
        ids = {
            "chan receive": gr.go(outer_recv, gr.Chan()).id,
            "chan send": gr.go(blocked_send, gr.Chan()).id,
            "select": gr.go(blocked_select, gr.Chan(), gr.Chan()).id,
            "select (no cases)": gr.go(blocked_forever).id,
            "nil select": gr.go(blocked_nil_select).id,
            "sleep": gr.go(sleeper).id,
            "syscall": gr.go(in_syscall, release).id,
        }
        try:
            for reason, gid in ids.items():
                if reason == "syscall":
                    await wait.until(
                        lambda: goroutine_state(ids["syscall"]) == "syscall", "the goroutine is in its call"
                    )
                else:
                    await wait.parked(gid, "select" if reason == "nil select" else reason)
            return gr.dump(), ids
        finally:
            release.set()

    text, ids = gr.run(main, gomaxprocs=procs)
    blocks = blocks_of(text)
    assert set(blocks) == {1, *ids.values()}, text
    assert list(blocks)[0] == 1, "the goroutine calling dump() comes first, as in Go"
    assert status(blocks[1]) == "running"
    for reason, gid in ids.items():
        want = "select" if reason == "nil select" else reason
        assert status(blocks[gid]) == want, text


def test_stack_is_the_await_chain_innermost_first_then_created_by(wait: Any) -> None:
    where: dict[str, int] = {}

    async def main() -> str:
        h = gr.go(outer_recv, gr.Chan())  # GO-CALL
        await wait.parked(h.id, "chan receive")
        where["id"] = h.id
        return gr.dump()

    text = gr.run(main)
    lines = blocks_of(text)[where["id"]]
    assert lines == [
        f"goroutine {where['id']} [chan receive]:",
        f"{MOD}.inner_recv(...)",
        f"\t{THIS_FILE}:{line_of(inner_recv, '# INNER')}",
        f"{MOD}.outer_recv(...)",
        f"\t{THIS_FILE}:{line_of(outer_recv, '# OUTER')}",
        f"created by {MOD}.{main.__qualname__} in goroutine 1",
        f"\t{THIS_FILE}:{line_of(main, '# GO-CALL')}",
    ], text


def test_goroutine_1_has_no_created_by_and_runtime_frames_are_hidden(wait: Any) -> None:
    async def main() -> str:
        return gr.dump()

    lines = blocks_of(gr.run(main))[1]
    assert lines[0] == "goroutine 1 [running]:"
    assert not any(line.startswith("created by") for line in lines)
    runtime_dir = os.path.dirname(os.path.abspath(gr.__file__))
    assert not any(runtime_dir + os.sep in line for line in lines), lines
    assert lines[1] == f"{MOD}.{main.__qualname__}(...)"


def test_runnable_goroutine_shows_its_entry_function() -> None:
    async def main() -> tuple[int, str]:
        h = gr.go(sleeper)  # one P, main keeps it: the new goroutine has not started
        return h.id, gr.dump()

    gid, text = gr.run(main, gomaxprocs=1)
    lines = blocks_of(text)[gid]
    assert status(lines) == "runnable"
    assert lines[1] == f"{MOD}.sleeper(...)", lines


def test_dump_from_another_goroutine_lists_the_caller_first(wait: Any) -> None:
    async def dumper(out: gr.Chan[tuple[int, str]]) -> None:
        g = [x for x in gr.goroutines() if x.state == "running"]
        await out.send((len(g), gr.dump()))

    async def main() -> tuple[int, str]:
        out: gr.Chan[tuple[int, str]] = gr.Chan()
        h = gr.go(dumper, out)
        _, text = await out.recv()
        return h.id, text

    gid, text = gr.run(main)
    blocks = blocks_of(text)
    assert list(blocks)[0] == gid
    assert status(blocks[gid]) == "running"
    assert blocks[gid][1] == f"{MOD}.{dumper.__qualname__}(...)"


def test_goroutine_running_on_another_thread_shows_where_it_is(wait: Any) -> None:
    stop = threading.Event()

    def spin_here() -> None:
        while not stop.is_set():  # SPIN
            pass

    async def spinner() -> None:
        spin_here()

    async def main() -> str:
        h = gr.go(spinner)
        try:
            await wait.until(lambda: goroutine_state(h.id) == "running", "the spinner runs on the other M")
            text = gr.dump()
        finally:
            stop.set()
        return blocks_of(text)[h.id]

    lines = gr.run(main, gomaxprocs=2)
    assert status(lines) == "running"
    if FREE_THREADED_BUILD:
        # Another thread's frames are not read there: its entry function
        # (named as go() saw it), then Go's words for such a goroutine.
        assert lines[1:3] == [f"{spinner.__qualname__}(...)", UNAVAILABLE], lines
        return
    names = [line for line in lines[1:] if not line.startswith("\t")]
    # innermost may be Event.is_set, called from spin_here, called from spinner
    i = names.index(f"{MOD}.{spin_here.__qualname__}(...)")
    assert names[i + 1] == f"{MOD}.{spinner.__qualname__}(...)", lines
    assert lines[2 * i + 2] == f"\t{THIS_FILE}:{line_of(spin_here, '# SPIN')}", lines


def test_syscall_shows_the_blocking_call_and_its_caller(wait: Any) -> None:
    release = threading.Event()
    entered = threading.Event()

    def blocking_call() -> None:
        entered.set()
        release.wait(30)  # CALL

    async def caller() -> None:
        await gr.syscall(blocking_call)

    async def main() -> list[str]:
        h = gr.go(caller)
        try:
            await wait.until(lambda: entered.is_set(), "the goroutine is in its call")
            return blocks_of(gr.dump())[h.id]
        finally:
            release.set()

    lines = gr.run(main, gomaxprocs=2)
    assert status(lines) == "syscall"
    names = [line for line in lines[1:] if not line.startswith("\t")]
    assert f"{MOD}.{blocking_call.__qualname__}(...)" in names, lines
    assert f"{MOD}.{caller.__qualname__}(...)" in names, lines
    assert names.index(f"{MOD}.{blocking_call.__qualname__}(...)") < names.index(
        f"{MOD}.{caller.__qualname__}(...)"
    )


SYNC_CASES = ["sync.Mutex", "sync.RWMutex", "sync.WaitGroup", "sync.Once"]


@pytest.mark.parametrize("reason", SYNC_CASES)
def test_sync_primitives_wait_reasons(reason: str, wait: Any) -> None:
    name = reason.split(".")[1]
    if not hasattr(gr, name):
        pytest.skip(f"goroutines has no {name} yet")

    async def main() -> str:
        gate: gr.Chan[None] = gr.Chan()
        if reason == "sync.Mutex":
            mu = gr.Mutex()  # type: ignore[attr-defined]
            await mu.lock()

            async def waiter() -> None:
                await mu.lock()

            release = mu.unlock
        elif reason == "sync.RWMutex":
            rw = gr.RWMutex()  # type: ignore[attr-defined]
            await rw.lock()

            async def waiter() -> None:
                await rw.rlock()

            release = rw.unlock
        elif reason == "sync.WaitGroup":
            wg = gr.WaitGroup()  # type: ignore[attr-defined]
            wg.add(1)

            async def waiter() -> None:
                await wg.wait()

            release = wg.done
        else:
            once = gr.Once()  # type: ignore[attr-defined]

            async def first() -> None:
                await gate.recv()

            async def runner() -> None:
                await once.do(first)

            h0 = gr.go(runner)
            await wait.parked(h0.id, "chan receive")

            async def waiter() -> None:
                await once.do(first)

            def release() -> None:
                gate.close()

        h = gr.go(waiter)
        await wait.parked(h.id, reason)
        text = gr.dump()
        release()
        await wait.gone(h.id)
        return blocks_of(text)[h.id]

    lines = gr.run(main)
    assert status(lines) == reason
    assert any(f".{'waiter'}(...)" in line or "waiter" in line for line in lines[1:]), lines


def test_io_wait_reason(wait: Any) -> None:
    """A goroutine parked in the netpoller (what the network layer awaits) shows ``IO wait``."""
    import socket

    from goroutines import _core

    waitfd = getattr(_core, "WaitFD", None)
    if waitfd is None:
        pytest.skip("no netpoller in this runtime yet")

    async def reader(fd: int) -> None:
        await waitfd(fd, _core.READ, None)  # IO-WAIT

    async def main() -> list[str]:
        a, b = socket.socketpair()
        try:
            a.setblocking(False)
            h = gr.go(reader, a.fileno())
            await wait.parked(h.id, "IO wait")
            lines = blocks_of(gr.dump())[h.id]
            b.send(b"x")
            await wait.gone(h.id)
            return lines
        finally:
            a.close()
            b.close()

    lines = gr.run(main)
    assert status(lines) == "IO wait"
    assert lines[1:3] == [f"{MOD}.{reader.__qualname__}(...)", f"\t{THIS_FILE}:{line_of(reader, '# IO-WAIT')}"]


# --------------------------------------------------------------------------- minutes


@pytest.mark.parametrize(("offset", "suffix"), [(59.0, ""), (60.5, ", 1 minutes"), (185.0, ", 3 minutes")])
def test_minutes_once_waited_a_minute(offset: float, suffix: str, wait: Any, monkeypatch: Any) -> None:
    release = threading.Event()

    async def main() -> tuple[dict[str, int], str, list[gr.GoroutineInfo]]:
        ids = {"chan receive": gr.go(outer_recv, gr.Chan()).id, "syscall": gr.go(in_syscall, release).id}
        try:
            await wait.parked(ids["chan receive"], "chan receive")
            await wait.until(lambda: goroutine_state(ids["syscall"]) == "syscall", "the goroutine is in its call")
            real = time.monotonic
            # Every wait above started at most ~1 s ago: pretend `offset` more seconds passed.
            monkeypatch.setattr(_traceback, "clock", lambda: real() + offset)
            return ids, gr.dump(), list(gr.goroutines())
        finally:
            monkeypatch.undo()
            release.set()

    ids, text, snap = gr.run(main, gomaxprocs=2)
    blocks = blocks_of(text)
    assert status(blocks[1]) == "running", "a running goroutine never shows minutes"
    for reason, gid in ids.items():
        assert status(blocks[gid]) == reason + suffix, text
    by_id = {g.id: g for g in snap}
    assert by_id[ids["chan receive"]].waiting_seconds >= offset
    assert by_id[ids["chan receive"]].wait_reason == "chan receive"  # no minutes in the reason


# --------------------------------------------------------------------------- goroutines()


def test_goroutines_snapshot_fields(wait: Any) -> None:
    async def main() -> tuple[int, list[gr.GoroutineInfo]]:
        h = gr.go(outer_recv, gr.Chan())  # SNAP-GO
        await wait.parked(h.id, "chan receive")
        return h.id, gr.goroutines()

    gid, snap = gr.run(main)
    by_id = {g.id: g for g in snap}
    g = by_id[gid]
    assert (g.state, g.wait_reason) == ("waiting", "chan receive")
    assert g.created_by == f"{MOD}.{'test_goroutines_snapshot_fields.<locals>.main'} in goroutine 1"
    assert g.created_at.endswith(f"test_traceback.py:{line_of(test_goroutines_snapshot_fields, '# SNAP-GO')}")
    assert g.stack.splitlines()[0] == f"{MOD}.inner_recv(...)"
    assert by_id[1].created_by == "" and by_id[1].state == "running"


def test_created_by_a_thread_that_is_no_goroutine(wait: Any) -> None:
    async def main() -> list[str]:
        made: list[int] = []
        t = threading.Thread(target=lambda: made.append(gr.go(sleeper).id))
        t.start()
        await gr.syscall(t.join, 10)
        await wait.parked(made[0], "sleep")
        return blocks_of(gr.dump())[made[0]]

    lines = gr.run(main)
    created = [line for line in lines if line.startswith("created by ")]
    assert len(created) == 1 and " in goroutine " not in created[0], lines


@pytest.mark.parametrize("procs", [1, 2])
def test_dump_and_goroutines_from_other_threads_while_goroutines_churn(procs: int) -> None:
    """Hammer dump()/goroutines() from a foreign thread during a ping-pong: always well-formed."""
    errors: list[BaseException] = []
    dumps = [0]

    async def pinger(a: gr.Chan[int], b: gr.Chan[int], n: int) -> None:
        for i in range(n):
            await a.send(i)
            await b.recv()

    async def ponger(a: gr.Chan[int], b: gr.Chan[int]) -> None:
        async for v in a:
            await b.send(v)

    async def main() -> None:
        stop = threading.Event()

        def hammer() -> None:
            try:
                while not stop.is_set():
                    blocks_of(gr.dump())
                    for g in gr.goroutines():
                        assert g.state in ("runnable", "running", "waiting", "syscall")
                    dumps[0] += 1
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        t = threading.Thread(target=hammer)
        t.start()
        try:
            for _ in range(3):
                a: gr.Chan[int] = gr.Chan()
                b: gr.Chan[int] = gr.Chan()
                gr.go(ponger, a, b)
                await pinger(a, b, 3000)
                a.close()
        finally:
            stop.set()
            await gr.syscall(t.join, 10)

    gr.run(main, gomaxprocs=procs)
    assert not errors, errors[0]
    assert dumps[0] > 0


def test_dump_and_goroutines_outside_a_run() -> None:
    assert gr.dump() == ""
    assert gr.goroutines() == []


# --------------------------------------------------------------------------- panics


def test_panic_carries_the_dump_taken_when_it_happened(wait: Any) -> None:
    where: dict[str, int] = {}

    def deep() -> None:
        raise KeyError("boom")  # RAISE

    async def crasher(other: int) -> None:
        await wait.parked(other, "chan receive")
        await wait.parked(1, "chan receive")
        deep()

    async def main() -> None:
        other = gr.go(outer_recv, gr.Chan())
        h = gr.go(crasher, other.id)
        where.update(other=other.id, crasher=h.id)
        await gr.Chan[int]().recv()

    with pytest.raises(KeyError) as ei:
        gr.run(main, gomaxprocs=2)
    text = ei.value.__goroutine_dump__  # type: ignore[attr-defined]
    blocks = blocks_of(text)
    assert list(blocks)[0] == where["crasher"], "the panicking goroutine comes first"
    first = blocks[where["crasher"]]
    assert status(first) == "running"
    assert first[1] == f"{MOD}.{deep.__qualname__}(...)"
    assert first[2] == f"\t{THIS_FILE}:{line_of(deep, '# RAISE')}"
    assert first[3] == f"{MOD}.{crasher.__qualname__}(...)"
    assert status(blocks[where["other"]]) == "chan receive"
    assert status(blocks[1]) == "chan receive"


def test_cli_prints_the_dump_after_a_panic() -> None:
    r = goroutines_cmd("run", str(PROGRAMS / "cli_crash.py"), "panic")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("panic: ValueError: boom from crasher\n"), r.stderr
    # the traceback, then the dump: the panicking goroutine first
    m = re.search(r"^goroutine \d+ \[", r.stderr, re.M)
    assert m, r.stderr
    tail = r.stderr[m.start() :]
    blocks = blocks_of(tail)
    assert list(blocks) == [3, 1, 2], tail
    assert status(blocks[3]) == "running"
    assert blocks[3][1] == "__main__.fail(...)"
    assert blocks[3][3] == "__main__.crasher(...)"
    assert blocks[3][-2] == "created by __main__.main in goroutine 1"
    assert status(blocks[1]) == "chan receive"
    assert status(blocks[2]) == "chan receive"


def test_cli_gotraceback_none_leaves_the_dump_out() -> None:
    r = goroutines_cmd("run", str(PROGRAMS / "cli_crash.py"), "panic", env={"GOTRACEBACK": "none"})
    assert r.returncode == 2, r.stderr
    assert "goroutine 1 [" not in r.stderr, r.stderr


def test_cli_deadlock_dump_names_modules() -> None:
    r = goroutines_cmd("run", str(PROGRAMS / "cli_crash.py"), "deadlock")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("fatal error: all goroutines are asleep - deadlock!\n\n"), r.stderr
    blocks = blocks_of(r.stderr.split("\n\n", 1)[1])
    assert status(blocks[1]) == "chan receive"
    assert status(blocks[2]) == "chan receive"
    assert blocks[2][1:] == [
        "__main__.bystander(...)",
        f"\t{PROGRAMS / 'cli_crash.py'}:17",
        "created by __main__.main in goroutine 1",
        f"\t{PROGRAMS / 'cli_crash.py'}:34",
    ], blocks[2]


