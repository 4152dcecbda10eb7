"""os.fork() while a run is in progress: the child starts clean, never hangs.

Process-wide behaviour, so each case runs a small program in a fresh
interpreter. The program forks (from a goroutine, from a plain thread, or
through multiprocessing's fork start method) while its run is busy; the
child runs a fresh ``gr.run`` and exits; the parent's run goes on unharmed.
Before the fix the child's ``gr.run`` failed with "a goroutines runtime is
already running" (and could hang on a lock held by a thread the child does
not have).
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from helpers import run_python

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
]

PROGRAM = textwrap.dedent(
    """\
    import faulthandler, multiprocessing, os, sys, threading, warnings
    import goroutines as gr

    warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads

    async def child_main(x):
        ch = gr.Chan()

        async def double():
            await ch.send(x * 2)

        gr.go(double)
        return await ch.recv(), gr.num_goroutine()

    def child():
        # A hang in the child shows its stack. (Not armed in the parent too:
        # faulthandler's watchdog thread is not forked, and re-arming it in
        # the child would wait for that thread forever.)
        faulthandler.dump_traceback_later(20, exit=True)
        try:
            r = gr.run(child_main, 21)
        except BaseException as e:
            print("child failed:", type(e).__name__, e, file=sys.stderr, flush=True)
            os._exit(4)
        os._exit(0 if r == (42, 1) else 3)

    def fork_and_wait():
        pid = os.fork()
        if pid == 0:
            child()
        _, st = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(st)

    async def main(mode):
        ticks = gr.Chan(100)

        async def ticker():  # the parent's run stays busy across the fork
            for i in range(50):
                await ticks.send(i)
                await gr.sleep(0.001)
            ticks.close()

        gr.go(ticker)
        if mode == "goroutine":
            code = fork_and_wait()
        elif mode == "thread":
            out = []
            t = threading.Thread(target=lambda: out.append(fork_and_wait()))
            t.start()
            await gr.syscall(t.join)
            code = out[0]
        elif mode == "multiprocessing":
            p = multiprocessing.get_context("fork").Process(target=child)
            p.start()
            await gr.syscall(p.join, 30)
            code = p.exitcode
        elif mode == "await-in-child":
            # The goroutine that forked is not a goroutine in the child.
            pid = os.fork()
            if pid == 0:
                try:
                    await ticks.recv()
                except RuntimeError as e:
                    ok = "must be awaited inside a goroutine" in str(e)
                    os._exit(0 if ok else 6)
                os._exit(7)
            _, st = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(st)
        n = sum([1 async for _ in ticks])
        return code, n

    print("parent", gr.run(main, sys.argv[1], gomaxprocs=int(sys.argv[2])), flush=True)
    """
)


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    prog = tmp_path / "forker.py"
    prog.write_text(PROGRAM)
    return run_python(str(prog), *args, timeout=50)


@pytest.mark.parametrize("procs", ["1", "2"])
@pytest.mark.parametrize("mode", ["goroutine", "thread", "multiprocessing", "await-in-child"])
def test_fork_during_a_run_gives_the_child_a_clean_runtime(tmp_path: Path, mode: str, procs: str) -> None:
    r = _run(tmp_path, mode, procs)
    assert r.returncode == 0, r.stderr
    # The child exited 0 (its fresh run returned 42 with one goroutine, or
    # its await raised the plain-thread error), and the parent's ticker
    # delivered all 50 values.
    assert r.stdout == "parent (0, 50)\n", (r.stdout, r.stderr)
    assert "child failed" not in r.stderr
