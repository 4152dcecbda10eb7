"""GODEBUG=schedtrace=MS: a scheduler summary line on stderr every MS ms (_core/_debug.py).

Subprocess tests drive tests/programs/debug_wait.py (four parked
goroutines, main in a blocking read of stdin) and wait for the lines as
they arrive; in-process tests check the settings parser, the line's fields
and that the thread stops with the run.
"""

from __future__ import annotations

import io
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import subprocess_env

import goroutines as gr
from goroutines._core import _debug, current_sched

pytestmark = [pytest.mark.usefixtures("no_leaked_runtime_threads"), pytest.mark.timeout(60)]

PROGRAM = Path(__file__).parent / "programs" / "debug_wait.py"
WAIT = 30.0
LINE = re.compile(
    r"^SCHED (?P<ms>\d+)ms: gomaxprocs=(?P<gomaxprocs>\d+) idleprocs=(?P<idleprocs>\d+) "
    r"threads=(?P<threads>\d+) spinningthreads=(?P<spinning>\d+) idlethreads=(?P<idlethreads>\d+) "
    r"runqueue=(?P<runqueue>\d+) syscalls=(?P<syscalls>\d+) goroutines=(?P<goroutines>\d+) "
    r"\[(?P<local>[\d ]*)\]$",
    re.M,
)


class Child:
    def __init__(self, env: dict[str, str]) -> None:
        full = subprocess_env()
        for k in ("GODEBUG", "GOROUTINES_SCHEDTRACE"):
            full.pop(k, None)
        full.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, str(PROGRAM)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self.changed: queue.Queue[None] = queue.Queue()
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    def _pump(self, stream: Any, sink: list[str]) -> None:
        for line in iter(stream.readline, ""):
            sink.append(line)
            self.changed.put(None)
        self.changed.put(None)

    def until(self, pred: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and self.changed.empty() and not pred()):
                raise AssertionError(
                    f"{what}: not seen\nstdout:\n{''.join(self.out)}\nstderr:\n{''.join(self.err)}"
                )
            try:
                self.changed.get(timeout=min(left, 0.5))
            except queue.Empty:
                pass

    def lines(self) -> list[re.Match[str]]:
        return list(LINE.finditer("".join(self.err)))

    def finish(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        return self.proc.wait(WAIT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)


@pytest.fixture
def child() -> Any:
    made: list[Child] = []

    def make(env: dict[str, str]) -> Child:
        c = Child(env)
        made.append(c)
        return c

    yield make
    for c in made:
        c.kill()


@pytest.mark.parametrize(
    "env",
    [
        {"GODEBUG": "schedtrace=20", "GOMAXPROCS": "2"},
        {"GODEBUG": "gctrace=1,schedtrace=20,other=x", "GOMAXPROCS": "2"},
        {"GOROUTINES_SCHEDTRACE": "20", "GOMAXPROCS": "2"},
        {"GOROUTINES_SCHEDTRACE": "20", "GODEBUG": "schedtrace=100000", "GOMAXPROCS": "2"},
    ],
    ids=["godebug", "godebug-list", "own-var", "own-var-wins"],
)
def test_schedtrace_prints_go_shaped_lines(env: dict[str, str], child: Any) -> None:
    c = child(env)
    c.until(lambda: "ready" in "".join(c.out), "ready")
    n0 = len(c.lines())
    # Lines written once the goroutines are parked and main sits in its read.
    c.until(lambda: len(c.lines()) >= n0 + 3, "three more SCHED lines")
    assert c.finish() == 0
    lines = c.lines()
    other = [ln for ln in "".join(c.err).splitlines() if not LINE.match(ln)]
    assert not other, other
    ms = [int(m["ms"]) for m in lines]
    assert ms == sorted(ms) and ms[-1] >= 20 * 3, ms
    settled = lines[n0 + 1]  # after "ready": 4 parked goroutines + main in its syscall
    assert settled["gomaxprocs"] == "2"
    assert settled["goroutines"] == "5"
    assert settled["syscalls"] == "1"
    assert settled["spinning"] == "0"
    assert settled["runqueue"] == "0"
    assert int(settled["threads"]) >= 1
    assert int(settled["idleprocs"]) <= 2
    assert len(settled["local"].split()) == 2  # one entry per P


@pytest.mark.parametrize(
    "env", [{}, {"GODEBUG": "schedtrace=abc"}, {"GODEBUG": "schedtrace=0"}, {"GOROUTINES_SCHEDTRACE": "-5"}]
)
def test_no_lines_unless_asked(env: dict[str, str], child: Any) -> None:
    c = child(env)
    c.until(lambda: "ready" in "".join(c.out), "ready")
    c.proc.stdin.write("ping\n")  # type: ignore[union-attr]
    c.proc.stdin.flush()  # type: ignore[union-attr]
    c.until(lambda: "echo ping\n" in "".join(c.out), "echo")
    assert c.finish() == 0
    assert "SCHED" not in "".join(c.err)


# --------------------------------------------------------------------------- in process


@pytest.mark.parametrize(
    ("env", "want"),
    [
        ({}, None),
        ({"GODEBUG": "schedtrace=1000"}, 1000),
        ({"GODEBUG": "scheddetail=1, schedtrace=50"}, 50),
        ({"GODEBUG": "schedtrace="}, None),
        ({"GODEBUG": "schedtrace=1.5"}, None),
        ({"GOROUTINES_SCHEDTRACE": "7"}, 7),
        ({"GOROUTINES_SCHEDTRACE": "7", "GODEBUG": "schedtrace=9"}, 7),
        ({"GOROUTINES_SCHEDTRACE": " ", "GODEBUG": "schedtrace=9"}, 9),
        ({"GOROUTINES_SCHEDTRACE": "0"}, None),
    ],
)
def test_period_from_the_environment(env: dict[str, str], want: int | None) -> None:
    assert _debug.schedtrace_period_ms(env) == want


def test_line_describes_the_scheduler(wait: Any, monkeypatch: Any) -> None:
    # No sysmon: on a loaded machine the OS may deschedule main's thread for
    # longer than sysmon's blocked-call look (50 µs), and then sysmon rightly
    # hands main's P off, making idleprocs 3 while main runs.
    monkeypatch.setenv("GOROUTINES_SYSMON", "0")
    async def parked() -> None:
        await gr.Chan[int]().recv()

    async def main() -> str:
        hs = [gr.go(parked) for _ in range(3)]
        for h in hs:
            await wait.parked(h.id, "chan receive")
        sched = current_sched()
        assert sched is not None
        return _debug.schedtrace_line(sched, 1234)

    m = LINE.match(gr.run(main, gomaxprocs=3))
    assert m, "line does not match Go's shape"
    assert (m["ms"], m["gomaxprocs"], m["goroutines"], m["syscalls"], m["runqueue"]) == (
        "1234",
        "3",
        "4",
        "0",
        "0",
    )
    assert int(m["idleprocs"]) <= 2  # main's P is busy
    assert len(m["local"].split()) == 3


class _Sink(io.StringIO):
    """A thread-safe stderr stand-in the test can watch."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def write(self, s: str) -> int:
        with self.lock:
            return super().write(s)

    def text(self) -> str:
        with self.lock:
            return self.getvalue()


def test_thread_runs_during_the_run_and_stops_with_it(monkeypatch: Any) -> None:
    sink = _Sink()
    monkeypatch.setenv("GOROUTINES_SCHEDTRACE", "5")
    monkeypatch.setattr(sys, "stderr", sink)

    async def main() -> list[str]:
        names = [t.name for t in threading.enumerate()]
        deadline = time.monotonic() + WAIT
        while sink.text().count("SCHED") < 2:
            assert time.monotonic() < deadline, "no SCHED lines"
            await gr.sleep(0.005)  # let time pass for the ticker; no ordering rests on it
        return names

    names = gr.run(main)
    assert _debug.SCHEDTRACE_THREAD in names
    assert _debug.SCHEDTRACE_THREAD not in [t.name for t in threading.enumerate()]
    assert all(LINE.match(ln) for ln in sink.text().splitlines()), sink.text()
