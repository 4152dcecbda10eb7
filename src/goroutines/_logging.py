"""logging: records from a goroutine can carry its id.

logging fills ``LogRecord.taskName`` (3.12+) from asyncio's current task;
for goroutines the same job is a :class:`logging.Filter` (logging's
documented way to add contextual information to records), attached to a
handler so that it sees the records of every logger that reaches it. A
filter runs on the thread that made the logging call, which for a goroutine
is its M, where the runtime knows the goroutine (also inside
``gr.syscall``).
"""

from __future__ import annotations

import logging

from ._core import current_g


class GoroutineFilter(logging.Filter):
    """Adds ``record.goroutine``: the id of the goroutine that logged, or
    ``None`` outside goroutines. On Python 3.12+ it also fills
    ``record.taskName`` with ``"goroutine-<id>"`` when logging left it
    ``None`` (no asyncio task), so ``%(taskName)s`` names asyncio tasks and
    goroutines alike; ``%(goroutine)s`` works on every version.

        handler.addFilter(gr.GoroutineFilter())
        handler.setFormatter(logging.Formatter("[g%(goroutine)s] %(message)s"))

    It never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        g = current_g()
        gid = g.id if g is not None else None
        record.goroutine = gid
        if gid is not None and getattr(record, "taskName", 0) is None:
            record.taskName = f"goroutine-{gid}"
        return True


__all__ = ["GoroutineFilter"]
