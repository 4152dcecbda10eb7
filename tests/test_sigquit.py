"""SIGQUIT dumps every goroutine to stderr and the program keeps running (_core/_debug.py).

Subprocess tests drive tests/programs/debug_wait.py: it parks four
goroutines, prints ``ready ID...``, then reads orders from stdin inside a
blocking call. Every wait is on the child's output (bounded), never a sleep.
In-process tests check when the handler is installed and that run() puts
the previous disposition back.
"""

from __future__ import annotations

import os
import queue
import re
import resource
import signal
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

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGQUIT"), reason="SIGQUIT is POSIX-only"),
    pytest.mark.timeout(60),
]

PROGRAM = Path(__file__).parent / "programs" / "debug_wait.py"
WAIT = 30.0  # interpreter start-up on a loaded machine
HEADER = re.compile(r"^goroutine (\d+) \[([^\]]+)\]:$", re.M)


class Child:
    """debug_wait.py with its stdout and stderr collected as they arrive."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, ignore_sigquit: bool = False) -> None:
        full = subprocess_env()
        for k in ("GODEBUG", "GOROUTINES_SCHEDTRACE", "GOROUTINES_SIGQUIT"):
            full.pop(k, None)
        full.update(env or {})

        def setup() -> None:  # in the child, before exec
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file from SIGQUIT's default
            if ignore_sigquit:
                signal.signal(signal.SIGQUIT, signal.SIG_IGN)

        self.proc = subprocess.Popen(
            [sys.executable, str(PROGRAM), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full,
            preexec_fn=setup,
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

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def until(self, pred: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and self.changed.empty() and not pred()):
                raise AssertionError(f"{what}: not seen\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}")
            try:
                self.changed.get(timeout=min(left, 0.5))
            except queue.Empty:
                pass

    def ready(self) -> list[int]:
        self.until(lambda: "ready" in self.stdout, "the program's 'ready' line")
        m = re.search(r"^ready ([\d ]+)$", self.stdout, re.M)
        assert m, self.stdout
        return [int(x) for x in m.group(1).split()]

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def echo(self, word: str) -> None:
        """Round trip through the program: it is alive and serving its goroutines."""
        self.send(word)
        self.until(lambda: f"echo {word}\n" in self.stdout, f"echo {word}")

    def quit(self) -> int:
        try:
            self.send("quit")
        except (BrokenPipeError, OSError):
            pass
        return self.proc.wait(WAIT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)


@pytest.fixture
def child() -> Any:
    made: list[Child] = []

    def make(*args: str, **kw: Any) -> Child:
        c = Child(*args, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.kill()


def dumps_in(text: str) -> list[str]:
    """The SIGQUIT reports in ``text``, each from its first line to the next report."""
    parts = text.split("SIGQUIT: goroutine dump")
    return ["SIGQUIT: goroutine dump" + p for p in parts[1:]]


def complete(report: str, ids: list[int]) -> bool:
    """Has the report got every goroutine, the last one down to its created-by line?"""
    headers = {int(gid) for gid, _ in HEADER.findall(report)}
    if not {1, *ids} <= headers:
        return False
    last = report[report.rindex(f"goroutine {max(ids)} [") :]
    return re.search(r"^created by .*\n\t.+:\d+\n", last, re.M) is not None


def test_sigquit_dumps_every_goroutine_and_the_program_keeps_running(child: Any) -> None:
    c = child()
    ids = c.ready()
    c.proc.send_signal(signal.SIGQUIT)
    c.until(lambda: any(complete(r, ids) for r in dumps_in(c.stderr)), "a complete SIGQUIT dump")
    report = dumps_in(c.stderr)[0]
    lines = report.splitlines()
    assert lines[0] == "SIGQUIT: goroutine dump (the program keeps running)"
    assert re.match(r"^SCHED \d+ms: gomaxprocs=\d+ idleprocs=\d+ threads=\d+ ", lines[1]), lines[1]
    states = dict((int(g), s) for g, s in HEADER.findall(report))
    assert states == {
        1: "syscall",
        ids[0]: "chan receive",
        ids[1]: "chan send",
        ids[2]: "sleep",
        ids[3]: "select (no cases)",
    }, report
    assert "__main__.stuck_recv(...)" in report
    assert "created by __main__.main in goroutine 1" in report
    # still running, and a second SIGQUIT dumps again
    c.echo("one")
    c.proc.send_signal(signal.SIGQUIT)
    c.until(lambda: sum(complete(r, ids) for r in dumps_in(c.stderr)) >= 2, "a second SIGQUIT dump")
    c.echo("two")
    assert c.quit() == 0, c.stderr
    assert c.stdout.endswith("bye\n")


def test_env_var_turns_the_dump_off(child: Any) -> None:
    c = child(env={"GOROUTINES_SIGQUIT": "0"})
    c.ready()
    c.proc.send_signal(signal.SIGQUIT)
    assert c.proc.wait(WAIT) == -signal.SIGQUIT  # the default action: the process ends
    assert "SIGQUIT: goroutine dump" not in c.stderr


def test_the_programs_own_handler_is_left_alone(child: Any) -> None:
    c = child("own-handler")
    c.ready()
    c.proc.send_signal(signal.SIGQUIT)
    c.until(lambda: "own handler\n" in c.stdout, "the program's own handler ran")
    c.echo("after")
    assert c.quit() == 0
    assert "SIGQUIT: goroutine dump" not in c.stderr


def test_an_ignored_sigquit_stays_ignored(child: Any) -> None:
    c = child(ignore_sigquit=True)
    c.ready()
    c.proc.send_signal(signal.SIGQUIT)
    c.echo("still-here")  # a signal is delivered (here: discarded) at once; the round trip follows it
    c.proc.send_signal(signal.SIGQUIT)
    c.echo("still-here-2")
    assert c.quit() == 0
    assert "SIGQUIT: goroutine dump" not in c.stderr


# --------------------------------------------------------------------------- in process


def test_run_installs_the_handler_and_restores_the_default() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("needs the main thread")
    before = signal.getsignal(signal.SIGQUIT)
    if before is not signal.SIG_DFL:
        pytest.skip("the test runner has its own SIGQUIT handler")

    async def main() -> Any:
        return signal.getsignal(signal.SIGQUIT)

    during = gr.run(main)
    assert callable(during) and during is not signal.SIG_DFL
    assert signal.getsignal(signal.SIGQUIT) is signal.SIG_DFL


def test_run_off_the_main_thread_installs_nothing() -> None:
    seen: list[Any] = []

    async def main() -> None:
        seen.append(signal.getsignal(signal.SIGQUIT))

    before = signal.getsignal(signal.SIGQUIT)
    t = threading.Thread(target=gr.run, args=(main,))
    t.start()
    t.join(WAIT)
    assert seen == [before]


def test_env_var_off_installs_nothing(monkeypatch: Any) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("needs the main thread")
    monkeypatch.setenv("GOROUTINES_SIGQUIT", "0")
    before = signal.getsignal(signal.SIGQUIT)

    async def main() -> Any:
        return signal.getsignal(signal.SIGQUIT)

    assert gr.run(main) == before


def test_run_passes_signals_on_to_the_programs_wakeup_fd_and_puts_it_back() -> None:
    # run() waits on a wakeup pipe of its own, so that every signal runs its
    # handler; the program's wakeup fd still hears of each signal meanwhile.
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("needs the main thread")
    r, w = os.pipe()
    os.set_blocking(w, False)
    os.set_blocking(r, False)
    seen: list[int] = []
    old_fd = signal.set_wakeup_fd(w)
    old_handler = signal.signal(signal.SIGUSR1, lambda signum, frame: seen.append(signum))
    try:

        async def main() -> None:
            os.kill(os.getpid(), signal.SIGUSR1)

        gr.run(main)
        assert signal.set_wakeup_fd(old_fd) == w  # put back
        assert seen == [signal.SIGUSR1]
        assert os.read(r, 64) == bytes([signal.SIGUSR1])
    finally:
        signal.set_wakeup_fd(old_fd)
        signal.signal(signal.SIGUSR1, old_handler)
        os.close(r)
        os.close(w)
