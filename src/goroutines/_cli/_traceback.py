"""The traceback of a panic as Go prints one: the program's frames only.

``GOTRACEBACK`` works as in Go for panics: unset or ``single``/``all``
prints the program's frames, ``system``/``crash`` also the runtime's own
frames, ``none`` no traceback. A frame is the runtime's when its file lies
in the installed ``goroutines`` package (this command's modules included)
or in importlib's frozen loader.
"""

from __future__ import annotations

import os
import traceback

import goroutines as gr

_PKG_DIR = os.path.dirname(os.path.abspath(gr.__file__)) + os.sep


def _traceback_mode() -> str:
    return os.environ.get("GOTRACEBACK", "single").strip().lower()


def describe_exception(exc: BaseException) -> str:
    """``ExcType: message`` (just ``ExcType`` when the message is empty)."""
    name = type(exc).__qualname__
    msg = str(exc)
    return f"{name}: {msg}" if msg else name


def _is_runtime_frame(filename: str) -> bool:
    return filename.startswith(_PKG_DIR) or filename.startswith("<frozen importlib")


def format_panic_traceback(exc: BaseException, *, keep_runtime_only: bool = True) -> list[str]:
    """The traceback and notes of ``exc``, without the runtime's and this command's frames.

    As Go's traceback leaves out runtime frames; ``GOTRACEBACK=system`` keeps
    them, ``GOTRACEBACK=none`` prints only the exception and its notes.
    """
    mode = _traceback_mode()
    if mode in ("none", "0"):
        return traceback.format_exception_only(exc)
    te = traceback.TracebackException.from_exception(exc)
    if mode not in ("system", "crash", "2"):
        _drop_runtime_frames(te, keep_runtime_only)
    return list(te.format())


def _drop_runtime_frames(te: traceback.TracebackException, keep_runtime_only: bool) -> None:
    seen: set[int] = set()
    todo = [te]
    while todo:
        t = todo.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        kept = [f for f in t.stack if not _is_runtime_frame(f.filename)]
        # An error raised inside the runtime itself keeps every frame, unless
        # told otherwise (a SyntaxError in the program has no frame of its own).
        if kept or not keep_runtime_only:
            t.stack = traceback.StackSummary.from_list(kept)
        for nxt in (t.__cause__, t.__context__):
            if nxt is not None:
                todo.append(nxt)
        todo.extend(getattr(t, "exceptions", None) or ())
