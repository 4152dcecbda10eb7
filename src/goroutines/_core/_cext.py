"""Loading the optional C fast paths (_speedups.c) and what they provide.

``speedups`` is the C module or None: not built (no compiler at install),
``GOROUTINES_PURE=1`` in the environment, or a stale build (below). Every
caller has a pure-Python path for None; see docs/design.md, "The C fast
paths". The module is built and used on both builds, with a GIL and
free-threaded (where it declares that it does not need the GIL).

A stale build: the extension records the SHA-256 of the _speedups.c it was
compiled from. When that source sits beside it (an in-tree or editable
install) and has changed since, the old binary is not loaded -- it would
run code that no longer matches its source -- with a warning saying how to
rebuild; with ``GOROUTINES_REQUIRE_SPEEDUPS=1`` (CI) the import fails
instead, as it does when the extension is missing.

``new_lock()`` makes a lock of the runtime's own: a ``_speedups.Lock``
(threading.Lock's API; a futex on Linux, which the C code takes without a
call) or a ``threading.Lock``. Each kind of lock in the lock order is made
by a maker from ``lock_kind(name, rank)``: ``new_lock`` itself, or in debug
mode (_check.py) a maker of checked locks around one; ``new_lock()``
directly only makes locks outside the order (a select's token, which is
claimed and never waited for). ``new_chan_buffer()`` makes a buffered
channel's buffer: the C ring or a deque.

Debug mode switches the C fast paths off at import (they would take locks
and write statuses that no check sees): see _check.py.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._check import DEBUG, CheckedLock, make_lock_kind

_SOURCE = Path(__file__).with_name("_speedups.c")


def _required() -> bool:
    return os.environ.get("GOROUTINES_REQUIRE_SPEEDUPS", "") not in ("", "0")


def stale_reason(mod: Any, source: Path | None = None, *, trust_mtime: bool = False) -> str | None:
    """Why the built module ``mod`` does not match ``source`` (default: the
    _speedups.c beside this file), or None.

    ``trust_mtime``: a binary newer than its source was built after the
    last edit; skip hashing it (importing hashlib costs milliseconds).
    """
    if source is None:
        source = _SOURCE
    try:
        st = source.stat()
    except OSError:
        return None  # an installed wheel: no source beside it to compare
    built = getattr(mod, "SOURCE_SHA256", "")
    if not built:
        return f"{mod.__file__} records no source hash (built by an older setup.py)"
    if trust_mtime:
        try:
            if os.stat(mod.__file__).st_mtime > st.st_mtime:
                return None
        except (OSError, TypeError):
            pass
    import hashlib

    if hashlib.sha256(source.read_bytes()).hexdigest() != built:
        return f"{mod.__file__} was built from an older {source.name}"
    return None


def unloadable_reason(exc: ImportError, where: Path) -> str | None:
    """The warning for an extension that is built but does not load (a bad
    build: an undefined symbol, the wrong interpreter's ABI), or None when
    none is built for this interpreter (no compiler at install: the
    documented, silent fallback). Without it a broken build would quietly
    run every program on the pure-Python paths."""
    import importlib.machinery

    built = [where / ("_speedups" + sfx) for sfx in importlib.machinery.EXTENSION_SUFFIXES]
    found = [f for f in built if f.exists()]
    if not found:
        return None
    return (
        f"goroutines: the C fast paths in {found[0]} do not load ({exc}); rebuild them with "
        "`pip install -e . --no-deps` or `python setup.py build_ext --inplace`; "
        "running on the pure-Python paths"
    )


def _load() -> Any:
    if os.environ.get("GOROUTINES_PURE", "") not in ("", "0"):
        return None
    try:
        from . import _speedups  # type: ignore[attr-defined]
    except ImportError as e:
        if _required():
            raise
        why = unloadable_reason(e, Path(__file__).parent)
        if why is not None:
            warnings.warn(why, RuntimeWarning, stacklevel=2)
        return None
    why = stale_reason(_speedups, trust_mtime=True)
    if why is not None:
        msg = (
            f"goroutines: not loading the C fast paths: {why}; rebuild them with "
            "`pip install -e . --no-deps` or `python setup.py build_ext --inplace`"
        )
        if _required():
            raise ImportError(msg + " (GOROUTINES_REQUIRE_SPEEDUPS=1)")
        warnings.warn(msg + "; running on the pure-Python paths", RuntimeWarning, stacklevel=2)
        return None
    return _speedups


speedups: Any = _load()
if DEBUG and speedups is not None:
    speedups.set_fast(False)
LockType: type = type(threading.Lock())
# The type of the locks a goroutine may yield to park (lock_kind's):
# new_lock()'s (LockType on the pure paths), or debug mode's CheckedLock.
CLockType: type = CheckedLock if DEBUG else speedups.Lock if speedups is not None else LockType
new_lock: Callable[[], Any] = speedups.Lock if speedups is not None else threading.Lock


def lock_kind(name: str, rank: int) -> Callable[[], Any]:
    """The maker of one kind of lock in the lock order (rank: _check.RANK_*)."""
    return make_lock_kind(new_lock, name, rank)


new_chan_buffer: Callable[[], Any] = speedups.Ring if speedups is not None else deque
