"""Goroutine stacks and dumps, in the shape of Go's traceback.

A waiting or runnable goroutine's stack is its coroutine chain: the frame of
its entry coroutine, then what it awaits (``cr_await``), down to the
innermost frame; a running goroutine's stack is its M thread's current frame
walked outwards. Frames inside this package are the runtime's own and are
left out, as Go leaves out runtime frames.

Reading another thread's suspended coroutine frames is safe; a snapshot of a
goroutine that is moving may be a moment stale, as in Go.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

from ._g import RUNNING, STATUS_NAMES, SYSCALL, WAITING, G

if TYPE_CHECKING:
    from ._sched import Sched

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class GoroutineInfo:
    """One goroutine in a snapshot (``goroutines.goroutines()``)."""

    id: int
    state: str
    wait_reason: str
    created_by: str
    stack: str
    waiting_seconds: float = 0.0


def _is_runtime_file(filename: str) -> bool:
    return filename.startswith(_PKG_DIR)


def _coro_frames(coro: Any) -> list[FrameType]:
    """Frames of a suspended coroutine chain, outermost first."""
    frames: list[FrameType] = []
    obj = coro
    depth = 0
    while obj is not None and depth < 1000:
        depth += 1
        f = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None)
        if f is not None:
            frames.append(f)
        nxt = getattr(obj, "cr_await", None)
        if nxt is None:
            nxt = getattr(obj, "gi_yieldfrom", None)
        obj = nxt
    return frames


def _running_frames(g: G) -> list[FrameType]:
    from ._proc import running_frame

    f = running_frame(g)
    frames: list[FrameType] = []
    while f is not None:
        if f.f_code.co_name == "schedule" and _is_runtime_file(f.f_code.co_filename):
            break
        frames.append(f)
        f = f.f_back
    frames.reverse()
    return frames


def format_stack(g: G) -> str:
    """The goroutine's Python stack, innermost call first, Go-style."""
    coro = g.coro
    if g.status in (RUNNING, SYSCALL):
        frames = _running_frames(g)
    elif coro is not None:
        frames = _coro_frames(coro)
    else:
        frames = []
    lines: list[str] = []
    for f in reversed(frames):
        code = f.f_code
        if _is_runtime_file(code.co_filename):
            continue
        mod = f.f_globals.get("__name__", "?")
        lines.append(f"{mod}.{code.co_qualname}(...)")
        lines.append(f"\t{code.co_filename}:{f.f_lineno}")
    if not lines and g.entry:
        lines.append(f"{g.entry}(...)")
    return "\n".join(lines)


def describe_creation(g: G) -> str:
    """``created by FUNC in goroutine N at FILE:LINE`` (or main's note)."""
    code = g.created_code
    if g.id == 1 or code is None:
        return "the main goroutine" if g.id == 1 else "created outside a goroutine"
    return (
        f"created by {code.co_qualname} in goroutine {g.creator_id} "
        f"at {code.co_filename}:{g.created_line}"
    )


def _created_by(g: G) -> str:
    code = g.created_code
    if g.id == 1 or code is None:
        return ""
    return f"{code.co_qualname} in goroutine {g.creator_id}"


def status_text(g: G, now: float) -> tuple[str, float]:
    st = g.status
    waited = 0.0
    if st == WAITING and g.waitreason:
        text = g.waitreason
        waited = max(0.0, now - g.waitsince)
    elif st == SYSCALL:
        text = "syscall"
    else:
        text = STATUS_NAMES.get(st, "?")
    return text, waited


def header(g: G, now: float) -> str:
    text, waited = status_text(g, now)
    if waited >= 60.0:
        mins = int(waited // 60)
        text += f", {mins} minute" + ("s" if mins != 1 else "")
    return f"goroutine {g.id} [{text}]:"


def format_g(g: G, now: float) -> str:
    parts = [header(g, now)]
    stack = format_stack(g)
    if stack:
        parts.append(stack)
    code = g.created_code
    if g.id != 1 and code is not None:
        parts.append(f"created by {code.co_qualname} in goroutine {g.creator_id}")
        parts.append(f"\t{code.co_filename}:{g.created_line}")
    return "\n".join(parts)


def dump_locked(sched: Sched) -> str:
    """Every goroutine, Go-style, separated by blank lines. Sched.lock held."""
    now = time.monotonic()
    gs = sorted(sched.allgs.values(), key=lambda g: g.id)
    return "\n\n".join(format_g(g, now) for g in gs) + "\n"


def snapshot_locked(sched: Sched) -> list[GoroutineInfo]:
    now = time.monotonic()
    out = []
    for g in sorted(sched.allgs.values(), key=lambda g: g.id):
        st = g.status
        state = STATUS_NAMES.get(st, "?")
        if state not in ("runnable", "running", "waiting", "syscall"):
            state = "runnable" if state == "idle" else state
        _, waited = status_text(g, now)
        out.append(
            GoroutineInfo(
                id=g.id,
                state=state,
                wait_reason=g.waitreason if st in (WAITING, SYSCALL) else "",
                created_by=_created_by(g),
                stack=format_stack(g),
                waiting_seconds=waited,
            )
        )
    return out
