"""Reading every thread's innermost frame (``sys._current_frames``), safely.

sysmon samples the Ms' frames on every pass (a plain blocking call is the
same frame at the same instruction twice), and dumps and schedtrace read
them too. On CPython 3.11 before 3.11.9 and 3.12 before 3.12.3 that call can
deadlock the process (CPython gh-106883): it builds its dict while holding
the runtime's thread-list lock; an allocation there may start a garbage
collection, whose weakref callbacks and finalizers may wait for the GIL,
held by a thread that is starting or ending a thread and so waits for the
thread-list lock. CPython's fix was to keep the collector off during the
call; on those versions ``current_frames`` does the same.

Lock: ``_lock`` serialises this module's own calls, so one call never turns
the collector back on while another is inside; it is a leaf (nothing is
taken while holding it). A program that itself calls ``gc.disable()`` or
``gc.enable()`` from another thread at the same instant may have that call
undone (the window is one ``_current_frames`` call); a program that keeps
the collector off keeps it off: the dance is skipped when it is already off.
"""

from __future__ import annotations

import gc
import sys
import threading
from types import FrameType

# True where sys._current_frames can deadlock against the collector.
AFFECTED = (3, 11) <= sys.version_info[:3] < (3, 11, 9) or (3, 12) <= sys.version_info[:3] < (3, 12, 3)

_lock = threading.Lock()


def current_frames() -> dict[int, FrameType]:
    """``sys._current_frames()``, with the collector kept off during the call
    where CPython needs it (see the module docstring)."""
    if not AFFECTED:
        return sys._current_frames()
    with _lock:
        if not gc.isenabled():
            return sys._current_frames()
        gc.disable()
        try:
            return sys._current_frames()
        finally:
            gc.enable()
