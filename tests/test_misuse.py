"""Ordinary mistakes are caught and explained, never silent.

* asyncio code in a goroutine (which runs on no asyncio event loop): the
  panic says to use ``await gr.aio(...)``.
* a forgotten ``await`` on a channel operation warns as a forgotten
  coroutine does; a plain-function goroutine's returned operation is
  performed (see test_plain_function_goroutine_*).
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Generator
from typing import Any

import pytest
from helpers import run_python

import goroutines as gr

# ---------------------------------------------------------------------- asyncio inside a goroutine


def _panic_of(main: Any) -> BaseException:
    with pytest.raises(BaseException) as ei:
        gr.run(main)
    return ei.value


def _notes(exc: BaseException) -> str:
    return "\n".join(getattr(exc, "__notes__", []))


async def _asyncio_sleep() -> None:
    await asyncio.sleep(0.01)


async def _asyncio_event() -> None:
    await asyncio.Event().wait()


async def _asyncio_wrap_future() -> None:
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        await asyncio.wrap_future(ex.submit(int))


@pytest.mark.parametrize("main", [_asyncio_sleep, _asyncio_event, _asyncio_wrap_future])
def test_asyncio_code_in_a_goroutine_says_to_use_aio(main: Any) -> None:
    # Before: "RuntimeError: no running event loop" (or "There is no current
    # event loop", or an AttributeError on None) and nothing more.
    exc = _panic_of(main)
    assert isinstance(exc, (RuntimeError, AttributeError)), exc
    notes = _notes(exc)
    assert "goroutine 1 panicked" in notes
    assert "asyncio code running in a goroutine" in notes, notes
    assert "await goroutines.aio(" in notes, notes


def test_awaiting_an_asyncio_future_names_it_and_says_to_use_aio() -> None:
    loop = asyncio.new_event_loop()
    try:

        async def main() -> None:
            await loop.create_future()

        exc = _panic_of(main)
    finally:
        loop.close()
    assert isinstance(exc, TypeError)
    msg = str(exc)
    assert msg.startswith("goroutine 1 awaited <Future pending>, which is an asyncio awaitable"), msg
    assert "await goroutines.aio(" in msg, msg


class _Foreign:
    """An awaitable of some other framework: it yields its own trap object."""

    def __await__(self) -> Generator[Any, Any, None]:
        yield 42


def test_awaiting_a_foreign_awaitable_says_what_a_goroutine_can_await() -> None:
    async def main() -> None:
        await _Foreign()

    exc = _panic_of(main)
    assert isinstance(exc, TypeError)
    msg = str(exc)
    assert "awaited 42 (int), which is not a goroutines operation" in msg, msg
    assert "asyncio awaitable;" not in msg


def test_a_program_runtime_error_gets_no_asyncio_hint() -> None:
    async def main() -> None:
        raise RuntimeError("no running event loop, says my own code")

    exc = _panic_of(main)
    assert "gr.aio" not in _notes(exc)


# ---------------------------------------------------------------------- a forgotten await


def _line_of(fn: Any, text: str) -> int:
    import inspect

    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, s in enumerate(lines) if text in s)


async def _forgets(ch: gr.Chan[int]) -> None:
    ch.send(1)  # the mistake: no await, nothing is sent
    ch.close()


def test_a_forgotten_await_on_a_send_warns_where_it_was_made() -> None:
    # Before: silent; the program "worked" and sent nothing.
    async def main() -> list[int]:
        ch: gr.Chan[int] = gr.Chan(1)
        await _forgets(ch)
        return [v async for v in ch]

    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        assert gr.run(main) == []
    ours = [w for w in got if issubclass(w.category, RuntimeWarning) and "never awaited" in str(w.message)]
    assert len(ours) == 1, [str(w.message) for w in got]
    w = ours[0]
    msg = str(w.message)
    assert msg.startswith("channel operation <send 1 on <Chan cap=1 len=0>> was never awaited"), msg
    assert "await ch.send(v)" in msg and "select" in msg
    assert w.filename == __file__ and w.lineno == _line_of(_forgets, "ch.send(1)"), (w.filename, w.lineno)


def test_awaited_selected_and_reused_sends_do_not_warn() -> None:
    async def main() -> int:
        ch: gr.Chan[int] = gr.Chan(4)
        await ch.send(1)
        op = ch.send(2)
        for _ in range(2):
            await op  # reused: performed afresh each time
        other: gr.Chan[int] = gr.Chan()
        await gr.select(other.send(3), default=True)  # passed to select, not chosen
        await gr.select(other.send(4), ch.recv())  # not chosen either
        return len(ch)

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert gr.run(main) == 2


def test_a_forgotten_send_in_a_reference_cycle_warns_when_collected() -> None:
    import gc

    ch: gr.Chan[int] = gr.Chan()
    cycle: list[Any] = [ch.send(9)]
    cycle.append(cycle)
    del cycle
    with pytest.warns(RuntimeWarning, match=r"channel operation <send 9 on <Chan cap=0"):
        gc.collect()


def test_a_plain_function_goroutine_that_returns_an_operation_performs_it() -> None:
    # Go's `go func() { ch <- x }()` is `gr.go(lambda: ch.send(x))`: a lambda
    # cannot await, so the goroutine awaits what it returns (an operation, a
    # select, a coroutine). Before: the send was dropped without a word.
    async def send_it(ch: gr.Chan[int], v: int) -> None:
        await ch.send(v)

    async def main() -> list[int]:
        ch: gr.Chan[int] = gr.Chan()
        gr.go(lambda: ch.send(1))
        gr.go(lambda: gr.select(ch.send(2)))
        gr.go(lambda: send_it(ch, 3))
        return sorted([await ch.recv() for _ in range(3)])

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert gr.run(main) == [1, 2, 3]


def test_the_pure_python_send_warns_in_development_mode(tmp_path: Any) -> None:
    # Without the C fast paths the check is a __del__, a Python call per
    # send: it is on in Python's development mode (-X dev) only.
    from pathlib import Path

    prog = Path(tmp_path) / "forget.py"
    prog.write_text(
        "import goroutines as gr\n"
        "async def main():\n"
        "    ch = gr.Chan(1)\n"
        "    ch.send(1)\n"
        "    ch.close()\n"
        "gr.run(main)\n"
    )
    r = run_python("-X", "dev", str(prog), env={"GOROUTINES_PURE": "1"})
    assert r.returncode == 0, r.stderr
    assert f"{prog}:4: RuntimeWarning: channel operation <send 1 on <Chan cap=1 len=0>> was never awaited" in r.stderr
