"""Scheduler and introspection: gosched, gomaxprocs, num_goroutine, goroutines(), dump()."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from helpers import goroutine_state

import goroutines as gr

pytestmark = [
    pytest.mark.usefixtures("no_leaked_runtime_threads"),
    pytest.mark.timeout(30),
    # a runtime thread dying with an exception is a runtime bug, whatever the test
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]

HEADER = re.compile(r"^goroutine (\d+) \[([^\]]+)\]:$")


# --------------------------------------------------------------------------- gosched


def test_gosched_yields_to_other_runnable_goroutines() -> None:
    # One P: after gosched, every goroutine that was runnable has had its turn.
    async def main() -> list[str]:
        log: list[str] = []

        async def child(tag: str) -> None:
            log.append(tag)

        gr.go(child, "a")
        gr.go(child, "b")
        assert log == []  # go() returns at once; main keeps the thread
        await gr.gosched()
        return log

    assert sorted(gr.run(main, gomaxprocs=1)) == ["a", "b"]


def test_gosched_lets_goroutines_interleave_on_one_thread() -> None:
    async def main() -> list[str]:
        log: list[str] = []
        done: gr.Chan[None] = gr.Chan(2)

        async def worker(tag: str) -> None:
            for _ in range(5):
                log.append(tag)
                await gr.gosched()
            await done.send(None)

        gr.go(worker, "x")
        gr.go(worker, "y")
        await done.recv()
        await done.recv()
        return log

    log = gr.run(main, gomaxprocs=1)
    assert sorted(log) == ["x"] * 5 + ["y"] * 5
    # neither ran all its turns before the other started
    assert log.index("y") < 4 and log.index("x") < 4, log


def test_gosched_with_nothing_else_to_run_returns() -> None:
    async def main() -> int:
        for _ in range(1000):
            await gr.gosched()
        return 3

    assert gr.run(main) == 3


# --------------------------------------------------------------------------- gomaxprocs


def test_gomaxprocs_reads_and_sets_inside_a_run() -> None:
    async def main() -> list[int]:
        seen = [gr.gomaxprocs(), gr.gomaxprocs(0), gr.gomaxprocs(-1), gr.gomaxprocs(None)]
        seen.append(gr.gomaxprocs(2))  # returns the previous value
        seen.append(gr.gomaxprocs())
        seen.append(gr.gomaxprocs(5))
        seen.append(gr.gomaxprocs(0))
        seen.append(gr.gomaxprocs(1))
        seen.append(gr.gomaxprocs())
        return seen

    assert gr.run(main, gomaxprocs=3) == [3, 3, 3, 3, 3, 2, 2, 5, 5, 1]


def test_gomaxprocs_changes_keep_every_goroutine_running() -> None:
    async def main() -> int:
        total = 0
        for n in (1, 4, 2, 8, 1, 3):
            gr.gomaxprocs(n)
            ch: gr.Chan[int] = gr.Chan()
            out: gr.Chan[int] = gr.Chan(16)

            async def worker(ch: gr.Chan[int], out: gr.Chan[int]) -> None:
                s = 0
                async for v in ch:
                    s += v
                    await gr.gosched()
                await out.send(s)

            for _ in range(16):
                gr.go(worker, ch, out)
            for i in range(200):
                await ch.send(i)
                if i == 100:
                    gr.gomaxprocs(9 - n)  # resize while they work
            ch.close()
            sums = [await out.recv() for _ in range(16)]
            assert sum(sums) == sum(range(200))
            total += 1
        return total

    assert gr.run(main, gomaxprocs=2) == 6


def test_gomaxprocs_is_a_positive_int_by_default() -> None:
    async def main() -> int:
        return gr.gomaxprocs()

    n = gr.run(main)
    assert isinstance(n, int) and n >= 1


def test_gomaxprocs_env_var_is_honoured(run_program: Any) -> None:
    r = run_program("gomaxprocs.py", env={"GOMAXPROCS": "3"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "3"


def test_gomaxprocs_keyword_overrides_env_var(run_program: Any) -> None:
    r = run_program("gomaxprocs.py", "2", env={"GOMAXPROCS": "5"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "2"


def test_gomaxprocs_default_without_env_var(run_program: Any) -> None:
    r = run_program("gomaxprocs.py")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) >= 1


# --------------------------------------------------------------------------- num_goroutine


def test_num_goroutine_counts_goroutines_that_exist(wait: Any) -> None:
    async def main() -> list[int]:
        counts = [gr.num_goroutine()]
        ch: gr.Chan[None] = gr.Chan()

        async def child() -> None:
            await ch.recv()

        hs = [gr.go(child) for _ in range(5)]
        counts.append(gr.num_goroutine())  # started, maybe not yet run: they exist
        await wait.all_parked([h.id for h in hs], "chan receive")
        counts.append(gr.num_goroutine())
        ch.close()
        for h in hs:
            await wait.gone(h.id)
        counts.append(gr.num_goroutine())
        return counts

    assert gr.run(main, gomaxprocs=1) == [1, 6, 6, 1]
    assert gr.run(main, gomaxprocs=3) == [1, 6, 6, 1]


# --------------------------------------------------------------------------- goroutines()


def test_goroutines_snapshot_items_and_wait_reasons(wait: Any) -> None:
    async def blocked_recv(ch: gr.Chan[int]) -> None:
        await ch.recv()

    async def blocked_send(ch: gr.Chan[int]) -> None:
        await ch.send(1)

    async def blocked_select(a: gr.Chan[int], b: gr.Chan[int]) -> None:
        await gr.select(a.recv(), b.send(2))

    async def blocked_nocases() -> None:
        await gr.select()

    async def main() -> None:
        hr = gr.go(blocked_recv, gr.Chan())
        hs = gr.go(blocked_send, gr.Chan())
        hsel = gr.go(blocked_select, gr.Chan(), gr.Chan())
        hn = gr.go(blocked_nocases)
        await wait.parked(hr.id, "chan receive")
        await wait.parked(hs.id, "chan send")
        await wait.parked(hsel.id, "select")
        await wait.parked(hn.id, "select (no cases)")
        snap = {g.id: g for g in gr.goroutines()}
        assert set(snap) == {1, hr.id, hs.id, hsel.id, hn.id}
        for g in snap.values():
            assert isinstance(g.id, int)
            assert isinstance(g.state, str) and g.state in ("runnable", "running", "waiting", "syscall")
            assert isinstance(g.wait_reason, str)
            assert isinstance(g.created_by, str)
            assert isinstance(g.stack, str)
        assert (snap[1].state, snap[1].wait_reason) == ("running", "")
        expect = {
            hr.id: ("chan receive", "blocked_recv"),
            hs.id: ("chan send", "blocked_send"),
            hsel.id: ("select", "blocked_select"),
            hn.id: ("select (no cases)", "blocked_nocases"),
        }
        for gid, (reason, fn) in expect.items():
            g = snap[gid]
            assert (g.state, g.wait_reason) == ("waiting", reason)
            assert fn in g.stack, g.stack
            assert "main" in g.created_by, g.created_by  # Go: "created by main.main"
        assert "main" in snap[1].stack

    gr.run(main)


def test_goroutines_shows_runnable_and_created_by(wait: Any) -> None:
    async def main() -> None:
        ch: gr.Chan[None] = gr.Chan()
        inner_ids: gr.Chan[int] = gr.Chan(1)

        async def grandchild() -> None:
            await ch.recv()

        async def spawner() -> None:
            await inner_ids.send(gr.go(grandchild).id)

        h = gr.go(spawner)
        # One P and main has not yielded: the new goroutine has not run yet.
        g = wait.info(h.id)
        assert g is not None and (g.state, g.wait_reason) == ("runnable", "")
        gid = await inner_ids.recv()
        info = await wait.parked(gid, "chan receive")
        assert "spawner" in info.created_by, info.created_by
        assert "grandchild" in info.stack
        ch.close()
        await wait.gone(gid)

    gr.run(main, gomaxprocs=1)


def test_woken_goroutine_is_runnable_until_it_runs(wait: Any) -> None:
    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan()

        async def receiver() -> None:
            await ch.recv()

        h = gr.go(receiver)
        await wait.parked(h.id, "chan receive")
        await ch.send(1)  # readies it; with one P, main keeps running
        g = wait.info(h.id)
        assert g is not None and (g.state, g.wait_reason) == ("runnable", ""), g
        await wait.gone(h.id)

    gr.run(main, gomaxprocs=1)


def test_goroutines_shows_syscallgoroutine_state(wait: Any) -> None:
    async def main() -> None:
        release = threading.Event()
        done: gr.Chan[bool] = gr.Chan()

        async def caller() -> None:
            await done.send(await gr.syscall(release.wait, 20))

        h = gr.go(caller)
        try:
            await wait.until(lambda: goroutine_state(h.id) == "syscall", "the goroutine is in its blocking call")
            info = wait.info(h.id)
            assert info is not None and info.wait_reason == "syscall"
            assert f"goroutine {h.id} [syscall" in gr.dump()
        finally:
            release.set()
        assert await done.recv() is True

    gr.run(main)


def test_goroutines_shows_sleep_wait_reason(wait: Any) -> None:
    async def main() -> None:
        async def sleeper() -> None:
            await gr.sleep(30)

        h = gr.go(sleeper)
        await wait.parked(h.id, "sleep")

    gr.run(main)


def test_goroutines_outside_a_run_is_empty() -> None:
    assert list(gr.goroutines()) == []
    assert gr.num_goroutine() == 0


# --------------------------------------------------------------------------- dump()


def test_dump_is_in_the_shape_of_gos(wait: Any) -> None:
    async def stuck_recv(ch: gr.Chan[int]) -> None:
        await ch.recv()

    async def stuck_send(ch: gr.Chan[int]) -> None:
        await ch.send(1)

    async def stuck_select(ch: gr.Chan[int]) -> None:
        await gr.select(ch.recv(), None)

    async def main() -> str:
        hr = gr.go(stuck_recv, gr.Chan())
        hs = gr.go(stuck_send, gr.Chan())
        hsel = gr.go(stuck_select, gr.Chan())
        hn = gr.go(gr_select_forever)
        await wait.parked(hr.id, "chan receive")
        await wait.parked(hs.id, "chan send")
        await wait.parked(hsel.id, "select")
        await wait.parked(hn.id, "select (no cases)")
        text = gr.dump()
        assert isinstance(text, str)
        blocks = [b for b in text.strip("\n").split("\n\n") if b]
        headers: dict[int, str] = {}
        for b in blocks:
            first = b.splitlines()[0]
            m = HEADER.match(first)
            assert m, f"block does not start with a goroutine header: {first!r}\n{text}"
            headers[int(m.group(1))] = m.group(2)
        assert headers == {
            1: "running",
            hr.id: "chan receive",
            hs.id: "chan send",
            hsel.id: "select",
            hn.id: "select (no cases)",
        }, text
        by_id = {int(HEADER.match(b.splitlines()[0]).group(1)): b for b in blocks}  # type: ignore[union-attr]
        assert "stuck_recv" in by_id[hr.id]
        assert "stuck_send" in by_id[hs.id]
        assert "stuck_select" in by_id[hsel.id]
        for gid in (hr.id, hs.id, hsel.id, hn.id):
            assert "created by" in by_id[gid], by_id[gid]
        assert "created by" not in by_id[1]  # Go omits it for goroutine 1
        return text

    text = gr.run(main)
    assert "goroutine 1 [running]:" in text


async def gr_select_forever() -> None:
    await gr.select()


def test_dump_outside_a_run_is_a_string() -> None:
    assert isinstance(gr.dump(), str)


# --------------------------------------------------------------------------- helpers



