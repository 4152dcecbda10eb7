"""goroutines: Go's goroutines, channels and select for Python, on an M:N scheduler.

    import goroutines as gr

    async def main():
        ch = gr.Chan()
        gr.go(producer, ch)
        async for v in ch:
            print(v)

    gr.run(main)

The public API is exactly this module's ``__all__``; see the README and
docs/ for the contract.
"""

from . import net
from ._aio import aio
from ._blocking import select_blocking
from ._chan import Chan, RecvOp, SendOp
from ._cond import Cond
from ._context import (
    Context,
    background,
    cause,
    todo,
    with_cancel,
    with_cancel_cause,
    with_deadline,
    with_timeout,
    with_value,
)
from ._core import (
    GoroutineInfo,
    dump,
    go,
    gomaxprocs,
    goroutines,
    gosched,
    num_goroutine,
    run,
    set_max_threads,
    syscall,
)
from ._errgroup import ErrGroup
from ._errors import Canceled, ClosedChannelError, DeadlineExceeded, Deadlock
from ._future import wait_future
from ._logging import GoroutineFilter
from ._select import select
from ._semaphore import Semaphore
from ._sync import Mutex, Once, RWMutex, WaitGroup
from ._time import Ticker, Timer, after, after_func, sleep
from ._tracefmt import trace
from .net import wait_readable, wait_writable

__version__ = "0.1.0"

__all__ = [
    "Canceled",
    "Chan",
    "ClosedChannelError",
    "Context",
    "DeadlineExceeded",
    "Deadlock",
    "GoroutineFilter",
    "GoroutineInfo",
    "Mutex",
    "Once",
    "RWMutex",
    "RecvOp",
    "SendOp",
    "Ticker",
    "Timer",
    "WaitGroup",
    "after",
    "aio",
    "background",
    "dump",
    "go",
    "gomaxprocs",
    "goroutines",
    "gosched",
    "net",
    "num_goroutine",
    "run",
    "select",
    "select_blocking",
    "set_max_threads",
    "sleep",
    "syscall",
    "todo",
    "trace",
    "wait_future",
    "wait_readable",
    "wait_writable",
    "with_cancel",
    "with_deadline",
    "with_timeout",
    "with_value",
    # More sync and context (Go's x/sync, sync.Cond, context causes, time.AfterFunc)
    "Cond",
    "ErrGroup",
    "Semaphore",
    "after_func",
    "cause",
    "with_cancel_cause",
]
