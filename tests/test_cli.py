"""The ``goroutines`` command: ``goroutines run PROGRAM.py [ARG ...]``.

Every case runs the command in a fresh interpreter (``python -m goroutines``)
on a small program written into the test's tmp_path, and checks the exit
status and what it printed: Go's exit protocol (``panic:`` / ``fatal
error:`` and status 2), the load errors (status 1) and the usage errors
(status 2, argparse).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from helpers import goroutines_cmd, subprocess_env

import goroutines as gr
from goroutines import _cli

pytestmark = pytest.mark.timeout(60)


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


# ---------------------------------------------------------------------- help and usage


def test_help_lists_the_run_command() -> None:
    r = goroutines_cmd("--help")
    assert r.returncode == 0, r.stderr
    assert "usage: goroutines" in r.stdout
    assert "run" in r.stdout


def test_run_help_shows_the_program_and_gomaxprocs() -> None:
    r = goroutines_cmd("run", "--help")
    assert r.returncode == 0, r.stderr
    assert "PROGRAM.py" in r.stdout
    assert "--gomaxprocs N" in r.stdout
    assert "async def main()" in r.stdout


def test_version() -> None:
    r = goroutines_cmd("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"goroutines {gr.__version__}"


def test_no_command_is_a_usage_error() -> None:
    r = goroutines_cmd()
    assert r.returncode == 2
    assert "usage: goroutines" in r.stderr
    assert "COMMAND" in r.stderr


def test_run_without_a_program_is_a_usage_error() -> None:
    r = goroutines_cmd("run")
    assert r.returncode == 2
    assert "PROGRAM.py" in r.stderr


# ---------------------------------------------------------------------- a program that works

OK_PROGRAM = """\
    import sys

    import goroutines as gr
    import helper  # a module next to the program: sys.path[0] is the program's directory

    async def main():
        ch = gr.Chan()
        gr.go(helper.produce, ch, 3)
        got = [v async for v in ch]
        print("argv", sys.argv[1:])
        print("argv0", sys.argv[0])
        print("name", __name__, sys.modules["__main__"].__file__ == __file__)
        print("got", got)
        print("gomaxprocs", gr.gomaxprocs())
        return 42  # ignored, as Go has no result from main
"""

HELPER = """\
    async def produce(ch, n):
        for i in range(n):
            await ch.send(i)
        ch.close()
"""


def ok_program(tmp_path: Path) -> Path:
    write(tmp_path, "helper.py", HELPER)
    return write(tmp_path, "prog.py", OK_PROGRAM)


def test_run_calls_async_main_with_argv_and_the_programs_directory_on_sys_path(tmp_path: Path) -> None:
    prog = ok_program(tmp_path)
    r = goroutines_cmd("run", str(prog), "a", "-v", "--flag", "x")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "argv ['a', '-v', '--flag', 'x']" in lines
    assert f"argv0 {prog}" in lines
    assert "name __main__ True" in lines
    assert "got [0, 1, 2]" in lines
    assert r.stderr == ""


def test_run_with_a_relative_path_from_another_directory(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    ok_program(sub)
    r = goroutines_cmd("run", "sub/prog.py", "z", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "argv ['z']" in r.stdout
    assert "argv0 sub/prog.py" in r.stdout


def test_a_double_dash_after_the_program_is_passed_on(tmp_path: Path) -> None:
    prog = ok_program(tmp_path)
    r = goroutines_cmd("run", str(prog), "--", "-x")
    assert r.returncode == 0, r.stderr
    assert "argv ['--', '-x']" in r.stdout
    r = goroutines_cmd("run", "--", str(prog), "-x")
    assert r.returncode == 0, r.stderr
    assert "argv ['-x']" in r.stdout


def test_gomaxprocs_option_env_and_precedence(tmp_path: Path) -> None:
    prog = ok_program(tmp_path)
    r = goroutines_cmd("run", "--gomaxprocs", "3", str(prog))
    assert r.returncode == 0, r.stderr
    assert "gomaxprocs 3" in r.stdout.splitlines()
    r = goroutines_cmd("run", str(prog), env={"GOMAXPROCS": "2"})
    assert r.returncode == 0, r.stderr
    assert "gomaxprocs 2" in r.stdout.splitlines()
    r = goroutines_cmd("run", "--gomaxprocs", "4", str(prog), env={"GOMAXPROCS": "2"})
    assert r.returncode == 0, r.stderr
    assert "gomaxprocs 4" in r.stdout.splitlines()


def test_options_after_the_program_belong_to_the_program(tmp_path: Path) -> None:
    prog = ok_program(tmp_path)
    r = goroutines_cmd("run", str(prog), "--gomaxprocs", "3")
    assert r.returncode == 0, r.stderr
    assert "argv ['--gomaxprocs', '3']" in r.stdout
    assert "gomaxprocs 3" not in r.stdout.splitlines()


@pytest.mark.parametrize("value", ["0", "-1", "x", "2.5", "100000"])
def test_bad_gomaxprocs_is_a_usage_error(tmp_path: Path, value: str) -> None:
    prog = ok_program(tmp_path)
    r = goroutines_cmd("run", "--gomaxprocs", value, str(prog))
    assert r.returncode == 2
    assert "--gomaxprocs" in r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout == ""


def test_bad_gomaxprocs_environment_variable_is_reported(tmp_path: Path) -> None:
    prog = ok_program(tmp_path)
    r = goroutines_cmd("run", str(prog), env={"GOMAXPROCS": "lots"})
    assert r.returncode == 2
    assert "GOMAXPROCS" in r.stderr and "lots" in r.stderr
    assert "Traceback" not in r.stderr
    # An explicit --gomaxprocs does not read the variable at all.
    r = goroutines_cmd("run", "--gomaxprocs", "1", str(prog), env={"GOMAXPROCS": "lots"})
    assert r.returncode == 0, r.stderr


def test_console_script_runs_the_same_command(tmp_path: Path) -> None:
    script = Path(sysconfig.get_path("scripts")) / "goroutines"
    if not script.exists():
        pytest.skip("the goroutines console script is not installed (pip install -e .)")
    prog = ok_program(tmp_path)
    r = subprocess.run(
        [str(script), "run", str(prog), "q"], capture_output=True, text=True, env=subprocess_env(), timeout=30
    )
    assert r.returncode == 0, r.stderr
    assert "argv ['q']" in r.stdout


# A program that runs under both ``python prog.py`` and ``goroutines run``.
_SELF_RUNNING = """\
    import sys
    {imp}

    async def main():
        print("main ran", gr.gomaxprocs(), sys.argv[1:], flush=True)
        {body}

    {guard}
        {call}
        print("after run", flush=True)
"""


@pytest.mark.parametrize(
    "imp, call, guard",
    [
        ("import goroutines as gr", "gr.run(main)", 'if __name__ == "__main__":'),
        ("import goroutines as gr", "gr.run(main)", "if True:"),
        ("import goroutines as gr\n    from goroutines import run", "run(main, gomaxprocs=2)", "if True:"),
    ],
    ids=["guarded", "unguarded", "from-import"],
)
def test_a_program_that_calls_run_itself_runs_main_once(tmp_path: Path, imp: str, call: str, guard: str) -> None:
    # The README's snippet ends with `if __name__ == "__main__": gr.run(main)`;
    # the command loads the file as __main__, so that line runs while loading.
    # Before: main ran twice (once there, once by the command).
    src = _SELF_RUNNING.format(imp=imp, body="pass", guard=guard, call=call)
    prog = write(tmp_path, "selfrun.py", src)
    r = goroutines_cmd("run", "--gomaxprocs", "3", str(prog), "x")
    assert r.returncode == 0, r.stderr
    # Once, with the command line's --gomaxprocs and arguments; the program's
    # code after its run() still runs.
    assert r.stdout == "main ran 3 ['x']\nafter run\n", r.stdout
    # And as a plain script, the same program runs main once too.
    r = subprocess.run(
        [sys.executable, str(prog), "x"], capture_output=True, text=True, env=subprocess_env(), timeout=30
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("main ran") == 1, r.stdout


def test_a_program_that_defines_only_main_is_run_once(tmp_path: Path) -> None:
    prog = write(
        tmp_path,
        "onlymain.py",
        """\
        import goroutines as gr

        async def main():
            print("main ran", flush=True)
        """,
    )
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "main ran\n"


@pytest.mark.parametrize("body, status, head", [
    ("raise ValueError('boom')", 2, "panic: ValueError: boom"),
    ("await gr.Chan().recv()", 2, "fatal error: all goroutines are asleep - deadlock!"),
    ("sys.exit(7)", 7, ""),
])
def test_a_self_running_program_reports_its_run_as_the_command_does(
    tmp_path: Path, body: str, status: int, head: str
) -> None:
    # A panic or deadlock of the program's own run is reported Go-style (not
    # as a failure to load the program), and the code after run() does not run.
    src = _SELF_RUNNING.format(imp="import goroutines as gr", body=body, guard='if __name__ == "__main__":', call="gr.run(main)")
    prog = write(tmp_path, "selfrun.py", src)
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == status, r.stderr
    assert r.stdout.count("main ran") == 1, r.stdout
    assert "after run" not in r.stdout
    assert r.stderr.startswith(head), r.stderr
    assert "loading the program failed" not in r.stderr


# ---------------------------------------------------------------------- programs that cannot be run


def test_missing_file(tmp_path: Path) -> None:
    r = goroutines_cmd("run", str(tmp_path / "nope.py"))
    assert r.returncode == 1
    assert "nope.py: no such file" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_directory_is_not_a_program(tmp_path: Path) -> None:
    r = goroutines_cmd("run", str(tmp_path))
    assert r.returncode == 1
    assert "is a directory" in r.stderr


def test_program_without_main(tmp_path: Path) -> None:
    prog = write(tmp_path, "nomain.py", "x = 1\n")
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 1
    assert "defines no main()" in r.stderr
    assert "async def main():" in r.stderr
    assert "Traceback" not in r.stderr


def test_main_that_is_not_async(tmp_path: Path) -> None:
    prog = write(tmp_path, "sync.py", "def main():\n    print('ran')\n")
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 1
    assert "main is not an async def function" in r.stderr
    assert "async def main():" in r.stderr
    assert "ran" not in r.stdout


def test_main_that_is_an_async_generator(tmp_path: Path) -> None:
    prog = write(tmp_path, "agen.py", "async def main():\n    yield 1\n")
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 1
    assert "main is an async generator" in r.stderr


def test_main_that_is_not_a_function(tmp_path: Path) -> None:
    prog = write(tmp_path, "val.py", "main = 42\n")
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 1
    assert "main is a int, not a function" in r.stderr


def test_main_that_needs_arguments(tmp_path: Path) -> None:
    prog = write(tmp_path, "args.py", "async def main(argv):\n    pass\n")
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 1
    assert "main() must take no arguments" in r.stderr
    assert "sys.argv" in r.stderr


def test_main_with_only_optional_arguments_is_fine(tmp_path: Path) -> None:
    prog = write(tmp_path, "opt.py", "async def main(n=3, *rest):\n    print('n', n)\n")
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "n 3\n"


def test_exception_while_loading_the_program(tmp_path: Path) -> None:
    prog = write(
        tmp_path,
        "imperr.py",
        """\
        print("top of the module")
        raise RuntimeError("broken at import")

        async def main():
            pass
        """,
    )
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 1
    assert r.stdout == "top of the module\n"
    assert "loading the program failed" in r.stderr
    assert "Traceback (most recent call last):" in r.stderr
    assert f'File "{prog}", line 2, in <module>' in r.stderr
    assert "RuntimeError: broken at import" in r.stderr
    assert os.sep + "_cli" not in r.stderr  # the command's own frames are left out


def test_syntax_error_in_the_program(tmp_path: Path) -> None:
    prog = write(tmp_path, "syn.py", "async def main(:\n    pass\n")
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 1
    assert "SyntaxError" in r.stderr
    assert "syn.py" in r.stderr
    assert "importlib" not in r.stderr


def test_sys_exit_while_loading_passes_its_status(tmp_path: Path) -> None:
    prog = write(tmp_path, "exit.py", "import sys\nsys.exit(5)\n")
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 5


# ---------------------------------------------------------------------- panics


PANIC_PROGRAM = """\
    import goroutines as gr

    async def boom(ch):
        await ch.recv()
        raise ValueError("bad value 42")

    async def main():
        print("before the panic", flush=True)
        ch = gr.Chan()
        gr.go(boom, ch)
        await ch.send(1)
        await gr.sleep(30)  # the panic ends the program long before this
"""


def test_panic_in_a_goroutine_exits_2_with_panic_traceback_and_goroutine_note(tmp_path: Path) -> None:
    prog = write(tmp_path, "panic.py", PANIC_PROGRAM)
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 2
    assert r.stdout == "before the panic\n"
    err = r.stderr
    assert err.startswith("panic: ValueError: bad value 42\n\n"), err
    assert "Traceback (most recent call last):" in err
    assert f'File "{prog}", line 5, in boom' in err
    assert "ValueError: bad value 42\n" in err
    assert "goroutine 2 panicked" in err
    assert "created by" in err and "in goroutine 1" in err
    # The runtime's frames are left out, as Go leaves out runtime frames.
    assert os.sep + "_core" + os.sep not in err
    assert os.sep + "_cli" not in err  # nor the command's (goroutines/_cli/)


def test_panic_traceback_modes(tmp_path: Path) -> None:
    prog = write(tmp_path, "panic.py", PANIC_PROGRAM)
    r = goroutines_cmd("run", str(prog), env={"GOTRACEBACK": "system"})
    assert r.returncode == 2
    assert os.sep + "_core" + os.sep in r.stderr  # runtime frames shown
    r = goroutines_cmd("run", str(prog), env={"GOTRACEBACK": "none"})
    assert r.returncode == 2
    assert r.stderr.startswith("panic: ValueError: bad value 42\n\n")
    assert "Traceback" not in r.stderr
    assert "goroutine 2 panicked" in r.stderr  # the note is part of the exception


def test_panic_in_main(tmp_path: Path) -> None:
    prog = write(
        tmp_path,
        "mainpanic.py",
        """\
        class Oops(Exception):
            pass

        async def main():
            raise Oops()
        """,
    )
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 2
    assert r.stderr.startswith("panic: Oops\n\n"), r.stderr  # no message: just the type
    assert "goroutine 1 panicked" in r.stderr
    assert f'File "{prog}", line 5, in main' in r.stderr


def test_panic_on_send_on_closed_channel_and_chained_exceptions(tmp_path: Path) -> None:
    prog = write(
        tmp_path,
        "closed.py",
        """\
        import goroutines as gr

        async def main():
            ch = gr.Chan(1)
            ch.close()
            try:
                await ch.send(1)
            except gr.ClosedChannelError as e:
                raise LookupError("while sending") from e
        """,
    )
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 2
    err = r.stderr
    assert err.startswith("panic: LookupError: while sending\n\n"), err
    assert "ClosedChannelError: send on closed channel" in err
    assert "The above exception was the direct cause of the following exception" in err
    assert "line 7, in main" in err  # the user's await, not the runtime's raise


def test_sys_exit_in_a_goroutine_is_the_exit_status(tmp_path: Path) -> None:
    prog = write(
        tmp_path,
        "exit3.py",
        """\
        import sys
        import goroutines as gr

        async def quitter(code):
            sys.exit(code)

        async def main():
            gr.go(quitter, int(sys.argv[1]) if sys.argv[1].isdigit() else sys.argv[1])
            await gr.sleep(30)
        """,
    )
    r = goroutines_cmd("run", str(prog), "3")
    assert r.returncode == 3
    assert "panic" not in r.stderr
    r = goroutines_cmd("run", str(prog), "giving up")
    assert r.returncode == 1
    assert r.stderr.strip() == "giving up"


# ---------------------------------------------------------------------- deadlock


def test_deadlock_exits_2_with_fatal_error_and_goroutine_dump(tmp_path: Path) -> None:
    prog = write(
        tmp_path,
        "deadlock.py",
        """\
        import goroutines as gr

        async def stuck(ch):
            await ch.recv()

        async def main():
            print("about to deadlock", flush=True)
            gr.go(stuck, gr.Chan())
            await gr.Chan().send(1)
        """,
    )
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 2
    assert r.stdout == "about to deadlock\n"
    err = r.stderr
    assert err.startswith("fatal error: all goroutines are asleep - deadlock!\n"), err
    assert "goroutine 1 [chan send]:" in err
    assert "goroutine 2 [chan receive]:" in err
    assert "created by" in err
    assert f"{prog}:9" in err  # main's line in the dump
    assert "Traceback" not in err
    assert "panic" not in err


def test_select_with_no_cases_deadlocks(tmp_path: Path) -> None:
    prog = write(
        tmp_path, "block.py", "import goroutines as gr\n\nasync def main():\n    await gr.select()\n"
    )
    r = goroutines_cmd("run", str(prog))
    assert r.returncode == 2
    assert "fatal error: all goroutines are asleep - deadlock!" in r.stderr
    assert "goroutine 1 [select (no cases)]:" in r.stderr


# ---------------------------------------------------------------------- signals and pipes


def test_ctrl_c_exits_130_quietly(tmp_path: Path) -> None:
    prog = write(
        tmp_path,
        "forever.py",
        """\
        import goroutines as gr

        async def spin():
            while True:
                await gr.sleep(0.01)

        async def main():
            gr.go(spin)
            print("ready", flush=True)
            await gr.sleep(60)
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "goroutines", "run", str(prog)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"  # main is running: the runtime is up
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert err == "signal: interrupt\n"


def test_stdout_closed_early_exits_141_without_a_panic(tmp_path: Path) -> None:
    prog = write(
        tmp_path,
        "chatty.py",
        """\
        import goroutines as gr

        async def main():
            for i in range(10_000_000):
                print("line", i, flush=True)
                if i % 100 == 0:
                    await gr.gosched()
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "goroutines", "run", str(prog)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline() == b"line 0\n"
        proc.stdout.close()  # like 'goroutines run chatty.py | head -1'
        err = proc.stderr.read()
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 141, err
    assert b"panic" not in err and b"Traceback" not in err


# ---------------------------------------------------------------------- in-process use


def test_main_can_be_called_in_process_and_restores_the_interpreter_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prog = ok_program(tmp_path)
    argv, path0, main_mod = sys.argv, sys.path[0], sys.modules["__main__"]
    try:
        status = _cli.main(["run", "--gomaxprocs", "2", str(prog), "in-process"])
    finally:
        sys.modules.pop("helper", None)
    assert status == 0
    out = capsys.readouterr().out
    assert "argv ['in-process']" in out
    assert "gomaxprocs 2" in out
    assert sys.argv is argv
    assert sys.path[0] == path0
    assert sys.modules["__main__"] is main_mod


def test_run_program_reports_a_deadlock_in_process(tmp_path: Path) -> None:
    import io

    prog = write(
        tmp_path, "dl.py", "import goroutines as gr\n\nasync def main():\n    await gr.Chan().recv()\n"
    )
    err = io.StringIO()
    with _cli.program_environment(str(prog), []):
        program = _cli.load_program(str(prog))
        status = _cli.run_program(program, gomaxprocs=1, stderr=err)
    assert status == 2
    assert err.getvalue().startswith("fatal error: all goroutines are asleep - deadlock!")
    assert "goroutine 1 [chan receive]:" in err.getvalue()
