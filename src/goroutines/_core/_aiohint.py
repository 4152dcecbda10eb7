"""What a goroutine awaited that it cannot, and asyncio code run in one.

Two messages, for the two ways asyncio meets a goroutine: it awaits an
asyncio awaitable (or anything else that is not a goroutines operation:
the schedule loop's "unknown trap", `unknown_trap_message`), or asyncio's
own code raises inside it, finding no event loop (a goroutine runs on an
M's thread, which has none: `asyncio_hint`, a note gopanic adds). Pure
functions of their arguments; no state, no locks.
"""

from __future__ import annotations

import os
from typing import Any

from ._g import G

# Where asyncio's code lives: an exception raised there, in a goroutine, is
# almost always asyncio finding no event loop (a goroutine runs on an M's
# thread, which has none).
_ASYNCIO_DIR = os.path.join(os.path.dirname(os.__file__), "asyncio") + os.sep
_AIO_HINT = (
    "asyncio awaitables need an asyncio event loop, and a goroutine does not run on one: "
    "use `await goroutines.aio(awaitable)` to run it on the runtime's asyncio loop "
    "(`await goroutines.wait_future(f)` for a concurrent.futures.Future; `await goroutines.sleep(s)` "
    "instead of asyncio.sleep)"
)


_NOT_AIO = (RecursionError, NotImplementedError)


def _is_asyncio_future(obj: Any) -> bool:
    # asyncio.isfuture without importing asyncio: the duck-type flag every
    # asyncio-compatible Future (asyncio's, uvloop's) carries.
    return getattr(type(obj), "_asyncio_future_blocking", None) is not None or (
        getattr(obj, "_asyncio_future_blocking", None) is not None
    )


def unknown_trap_message(g: G, trap: Any) -> str:
    """Why ``g`` cannot await what it yielded (the "unknown thing" site)."""
    if _is_asyncio_future(trap):
        return f"goroutine {g.id} awaited {trap!r}, which is an asyncio awaitable; {_AIO_HINT}"
    return (
        f"goroutine {g.id} awaited {trap!r} ({type(trap).__qualname__}), which is not a goroutines "
        "operation: a goroutine can await goroutines operations (channel send/recv, select, "
        "gr.sleep, sync, gr.syscall) and coroutines made of them; asyncio awaitables run "
        "with `await goroutines.aio(awaitable)`, other event loops' awaitables cannot be awaited in a goroutine"
    )


def asyncio_hint(exc: BaseException) -> str | None:
    """A note for a panic raised inside asyncio's own code ("no running
    event loop" and its relatives), else None."""
    if not isinstance(exc, (RuntimeError, AttributeError)) or isinstance(exc, _NOT_AIO):
        return None
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None or not last.tb_frame.f_code.co_filename.startswith(_ASYNCIO_DIR):
        return None
    msg = str(exc)
    if "event loop" in msg or (isinstance(exc, AttributeError) and "'NoneType'" in msg):
        return f"this is asyncio code running in a goroutine: {_AIO_HINT}"
    return None
