"""The package is typed: awaiting operations gives the channel's element type.

Runs mypy (a test extra) over a small program and the examples, as a user
of the package would.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = textwrap.dedent(
    """
    import goroutines as gr

    async def main() -> None:
        ch: gr.Chan[int] = gr.Chan(1)
        await ch.send(1)
        v = await ch.recv()
        reveal_type(v)
        x, ok = await ch.recv_ok()
        reveal_type(x)
        reveal_type(ok)
        i, w, ok2 = await gr.select(ch.recv(), None, default=True)
        reveal_type(i)
        async for y in ch:
            reveal_type(y)
    """
)


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--strict", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=170,
    )


@pytest.mark.timeout(180)
def test_awaited_operations_have_the_element_type(tmp_path: Path) -> None:
    prog = tmp_path / "typed_prog.py"
    prog.write_text(PROGRAM)
    r = _mypy(str(prog))
    out = r.stdout
    ints = out.count('Revealed type is "int"') + out.count('Revealed type is "builtins.int"')
    assert ints == 4, out
    assert 'Revealed type is "bool"' in out or 'Revealed type is "builtins.bool"' in out, out
    assert r.returncode == 0, out


@pytest.mark.timeout(180)
def test_examples_type_check() -> None:
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*.py"))
    r = _mypy(*examples)
    assert r.returncode == 0, r.stdout + r.stderr
