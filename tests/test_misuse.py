"""Ordinary mistakes are caught and explained, never silent.

* asyncio code in a goroutine (which runs on no asyncio event loop): the
  panic says to use ``await gr.aio(...)``.
* a forgotten ``await`` on a channel operation warns as a forgotten
  coroutine does; a plain-function goroutine's returned operation is
  performed (see test_plain_function_goroutine_*).
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

import pytest

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
    assert "await gr.aio(" in notes, notes


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
    assert "await gr.aio(" in msg, msg


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
