"""Unannotated blocking made visible, and handed off soon (issue 15, items 5 and 6).

A goroutine blocked in a plain call (``time.sleep``, ``Event.wait``: no
``gr.syscall``) used to show as ``[running]`` in dumps, ``syscalls=0`` in
schedtrace and a solid CPU bar in the trace. Once sysmon has retaken its P
it is shown as in a blocking call everywhere, as Go shows ``[syscall]``
(the trace and its HTML timeline: tests/test_trace.py).

The blocking calls below are the behaviour under test, never
synchronisation (``# blocking``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from helpers import goroutine_info

import goroutines as gr
from goroutines._core import _debug, current_sched

pytestmark = [pytest.mark.usefixtures("no_leaked_runtime_threads"), pytest.mark.timeout(60)]


def _state(gid: int) -> tuple[str, str]:
    g = goroutine_info(gid)
    return ("", "") if g is None else (g.state, g.wait_reason)


@pytest.mark.parametrize("procs", [1, 2])
def test_plain_blocking_call_shows_as_syscall_in_dump_goroutines_and_schedtrace(procs: int, wait: Any) -> None:
    async def main() -> None:
        release = threading.Event()
        done = gr.Chan[bool]()

        async def blocker() -> None:
            ok = release.wait(20)  # blocking, unannotated
            await done.send(ok)

        h = gr.go(blocker)
        try:
            await wait.until(lambda: _state(h.id) == ("syscall", "syscall"), "sysmon shows the plain call as a syscall")
            assert f"goroutine {h.id} [syscall]:" in gr.dump()
            sched = current_sched()
            assert sched is not None
            assert " syscalls=1 " in _debug.schedtrace_line(sched, 0)
        finally:
            release.set()
        assert await done.recv() is True
        # Back in the runtime: no longer in a call.
        await wait.gone(h.id)

    gr.run(main, gomaxprocs=procs)


def test_a_goroutine_computing_is_not_shown_in_a_call(wait: Any) -> None:
    # A loop that never awaits is retaken after 10 ms too, but it computes:
    # it stays [running].
    stop = threading.Event()

    async def main() -> None:
        async def spinner() -> None:
            while not stop.is_set():
                pass

        h = gr.go(spinner)
        try:
            await wait.until(lambda: _state(h.id)[0] == "running", "the spinner runs")
            for _ in range(20):
                await gr.sleep(0.005)  # each wake needs the spinner's P retaken
                assert _state(h.id)[0] == "running"
        finally:
            stop.set()
        await wait.gone(h.id)

    gr.run(main, gomaxprocs=1)


def test_blocked_p_is_handed_off_before_a_pending_timer_falls_due() -> None:
    # Item 6: with a timer pending, a P whose M is blocked in a plain call is
    # handed off as soon as sysmon knows it is blocked, not when the timer
    # falls due (then the M waiting for the timer takes the P, with no
    # retake and no second thread wake-up in between). Bounds are loose:
    # the timer is 1.5 s away, the hand-off takes milliseconds (a loaded
    # machine once stretched a 0.4 s window).
    seen: list[float] = []

    async def main() -> float:
        stop = threading.Event()

        async def blocker(started: gr.Chan[float]) -> None:
            await started.send(time.monotonic())
            stop.wait(20)  # blocking, unannotated
            await started.send(0.0)  # back: main may end the run

        started = gr.Chan[float](1)
        h = gr.go(blocker, started)
        t0 = await started.recv()

        def watch() -> None:
            # A plain thread looks while main sleeps on its timer.
            deadline = t0 + 1.4
            while time.monotonic() < deadline:
                if _state(h.id)[0] == "syscall":
                    seen.append(time.monotonic() - t0)
                    return
                stop.wait(0.001)  # sleep-ok: bounded poll of a condition from a plain thread

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            t = time.monotonic()
            await gr.sleep(1.5)
            late = time.monotonic() - t - 1.5
        finally:
            stop.set()
            watcher.join()
        await started.recv()
        return late

    late = gr.run(main, gomaxprocs=1)
    assert seen, "the blocked goroutine's P was not handed off while the timer was pending"
    assert late < 0.5, f"the sleeper woke {late * 1e3:.0f} ms late"
