"""Loading the optional C fast paths (_speedups.c) and what they provide.

``speedups`` is the C module or None: not built (no compiler at install),
a free-threaded build (the C code is written for a build with a GIL), or
``GOROUTINES_PURE=1`` in the environment. Every caller has a pure-Python
path for None; see docs/design.md, "The C fast paths".

``new_lock()`` makes the runtime's own locks (channel locks, Sched.lock): a
``_speedups.Lock`` (threading.Lock's API; a futex on Linux, which the C
code takes without a call) or a ``threading.Lock``. ``new_chan_buffer()``
makes a buffered channel's buffer: the C ring or a deque.
"""

from __future__ import annotations

import os
import sysconfig
import threading
from collections import deque
from collections.abc import Callable
from typing import Any


def _load() -> Any:
    if os.environ.get("GOROUTINES_PURE", "") not in ("", "0"):
        return None
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        return None
    try:
        from . import _speedups  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _speedups


speedups: Any = _load()
LockType: type = type(threading.Lock())
# The type of new_lock()'s locks (LockType on the pure paths).
CLockType: type = speedups.Lock if speedups is not None else LockType
new_lock: Callable[[], Any] = speedups.Lock if speedups is not None else threading.Lock
new_chan_buffer: Callable[[], Any] = speedups.Ring if speedups is not None else deque
