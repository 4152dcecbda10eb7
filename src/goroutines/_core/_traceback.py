"""Goroutine stacks and dumps, in the shape of Go's traceback.

    goroutine 7 [chan receive, 3 minutes]:
    app.stage(...)
        /src/app.py:12
    app.worker(...)
        /src/app.py:20
    created by app.main in goroutine 1
        /src/app.py:31

(each FILE:LINE line starts with a tab, as in Go).

A goroutine that sysmon found blocked in a plain (unannotated) call, and
whose P it handed off, is shown as in a system call (``[syscall]``, state
``syscall``), as one inside ``gr.syscall`` is, until it next enters the
runtime (see in_blocking_call below).

A waiting or runnable goroutine's stack is its coroutine chain: the frame of
its entry coroutine, then what it awaits (``cr_await``), down to the
innermost frame; a running goroutine's stack (or one in a blocking call) is
its M thread's current frame walked outwards. Frames inside this package are
the runtime's own and are left out, as Go leaves out runtime frames.
Innermost call first, as Go prints them.

The header's status is the wait reason of a waiting goroutine, else its
status name; ``, N minutes`` follows once a waiting goroutine (or one in a
blocking call) has been there a minute or more. ``G.waitsince`` is the
scheduler's coarse clock at park time and the formatter reads ``clock()``
(time.monotonic; tests patch ``_traceback.clock`` to fake the passing of
minutes). Go prints "minutes" even for one; so do we, so tools that parse
Go's dumps parse ours.

Taking a dump from any thread while the program runs: the goroutines'
fields (status, wait reason, coroutine, where created) and the running
threads' frames are copied under Sched.lock, which is then released; the
stacks are formatted afterwards, so the scheduler waits only for the copy.
A goroutine that moves meanwhile may show a moment-stale stack, as in Go.

On a free-threaded build another thread's frames are never read: CPython
does not make reading a frame that another thread is executing safe (it
crashes, or returns another object). There:
  * a suspended coroutine chain is read under its G's ``stacklock``, taken
    without blocking (see _g.py); held means the G runs right now;
  * a goroutine running on another thread shows its entry function and Go's
    ``goroutine running on other thread; stack unavailable``;
  * a goroutine in a blocking call shows the stack its M recorded on its own
    thread on the way in (``M.sysstack``, Go's saved syscall PC/SP), the
    blocking function innermost, at its first line;
  * the goroutine calling dump() reads its own frames.
Lock order: an M takes ``stacklock`` before Sched.lock; a dump may hold
Sched.lock (the deadlock report) when it takes a ``stacklock``, but never
blocks on one, so the two orders cannot deadlock.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass
from types import CodeType, FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from ._check import locked_by
from ._frames import current_frames
from ._g import DEAD, FREE_THREADED_BUILD, IDLE, RUNNING, STATUS_NAMES, SYSCALL, WAIT_SYSCALL, WAITING, G

if TYPE_CHECKING:
    from ._sched import M, Sched


def in_blocking_call(m: M, frames: dict[int, Any] | None) -> bool:
    """Is ``m``'s goroutine in a plain blocking call that sysmon found?

    True from the retake of its P (the M was blocked in the same frame at
    the same instruction on two looks) for as long as the M's innermost
    frame (in ``frames``, from sys._current_frames(); None: not readable) is still at that
    call, and at most until the goroutine next enters the runtime
    (preempted() clears the mark) -- Go's ``[syscall]``, for a call nobody
    annotated with gr.syscall. A goroutine that was held up only briefly
    (a lock) and runs on without a P shows as running. Sched.lock held (or
    a racy read, for a display).
    """
    g = m.curg
    if not (m.blocked and m.p is None and g is not None and g.status == RUNNING):
        return False
    if frames is None:
        # The caller cannot read other threads' frames (a free-threaded
        # build): the mark alone, cleared when the goroutine re-enters.
        return True
    f = frames.get(m.ident)
    return f is not None and (id(f), f.f_lasti) == m.blockedat


_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_paths = sysconfig.get_paths()
_STDLIB_DIRS = tuple({os.path.join(_paths[k], "") for k in ("stdlib", "platstdlib") if k in _paths})
_SITE_DIRS = tuple({os.path.join(_paths[k], "") for k in ("purelib", "platlib") if k in _paths})

# The formatter's clock, comparable with G.waitsince (see the module docstring).
clock = time.monotonic

# (module, qualname, file, line) of one frame.
Entry = tuple[str, str, str, int]


@dataclass(frozen=True)
class GoroutineInfo:
    """One goroutine in a snapshot (``goroutines.goroutines()``).

    ``created_by`` is ``MODULE.FUNC in goroutine N`` (empty for goroutine 1),
    ``created_at`` the ``FILE:LINE`` of that go() call, ``stack`` the
    goroutine's frames as in the dump (innermost first), ``waiting_seconds``
    how long a waiting goroutine has waited (coarse: about 10 ms).
    """

    id: int
    state: str
    wait_reason: str
    created_by: str
    stack: str
    waiting_seconds: float = 0.0
    created_at: str = ""


class _GCopy:
    """What a dump needs of one G, copied under Sched.lock."""

    __slots__ = (
        "id",
        "status",
        "waitreason",
        "waitsince",
        "coro",
        "entry",
        "code",
        "line",
        "module",
        "creator",
        "frame",
        "tb",
        "stacklock",
        "sysstack",
        "elsewhere",
    )

    def __init__(self, g: G, frame: FrameType | None) -> None:
        self.id = g.id
        self.status = g.status
        self.waitreason = g.waitreason
        self.waitsince = g.waitsince
        self.coro: Any = g.coro
        self.entry = g.entry
        self.code: CodeType | None = g.created_code
        self.line = g.created_line
        self.module: str = getattr(g, "created_module", "") or ""
        self.creator = g.creator_id
        # The innermost frame of the thread running the G (running/syscall).
        self.frame = frame
        # For a panicking G: the traceback of its exception.
        self.tb: TracebackType | None = None
        # Free-threaded builds (see the module docstring): the G's stacklock,
        # the entries its M saved entering a blocking call, and whether it
        # runs on another thread (its frames are not to be read).
        self.stacklock: Any = g.stacklock
        self.sysstack: tuple[Entry, ...] | None = None
        self.elsewhere = False


def _is_runtime_file(filename: str) -> bool:
    return filename.startswith(_PKG_DIR)


# ---------------------------------------------------------------------- copying (Sched.lock held)


@locked_by("lock", "Sched.lock")
def _copy_locked(sched: Sched) -> list[_GCopy]:
    """Copy every live G, sorted by id. Sched.lock held; cheap (no formatting)."""
    running: dict[int, Any] = {}
    for mm in list(sched.allm):
        cg = mm.curg
        if cg is not None and mm.ident:
            running[id(cg)] = mm
    frames: dict[int, FrameType]
    if not running:
        frames = {}
    elif FREE_THREADED_BUILD:
        frames = {threading.get_ident(): sys._getframe()}  # our own thread's only
    else:
        frames = current_frames()
    blocked: dict[int, float] = {}  # G in a plain blocking call -> since when
    me = threading.get_ident()
    for gid, mm in running.items():
        # Free-threaded builds cannot read another thread's frames: the
        # sysmon mark alone says it (None), cleared when the G re-enters.
        # Our own thread is running this dump, whatever the mark says.
        own = not FREE_THREADED_BUILD or mm.ident == me
        if in_blocking_call(mm, frames if own else None):
            blocked[gid] = mm.blockedsince
    out = []
    for g in sorted(sched.allgs.values(), key=lambda g: g.id):
        st = g.status
        if st == DEAD:
            continue  # panicking: gopanic marks it dead before removing it
        f = None
        m = running.get(id(g)) if st in (RUNNING, SYSCALL) else None
        if m is not None:
            f = frames.get(m.ident)
        c = _GCopy(g, f)
        c.status = st  # the status the frame choice above was made for
        if m is not None and f is None and FREE_THREADED_BUILD:
            if st == SYSCALL:
                c.sysstack = m.sysstack
            c.elsewhere = True
        since = blocked.get(id(g))
        if since is not None and c.status == RUNNING:
            # Shown as Go shows a goroutine in a system call: sysmon found
            # it blocked in a call nobody annotated and handed its P off.
            c.status, c.waitreason, c.waitsince = SYSCALL, WAIT_SYSCALL, since
        out.append(c)
    return out


# ---------------------------------------------------------------------- frames


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


def _is_stdlib_file(filename: str) -> bool:
    return filename.startswith(_STDLIB_DIRS) and not filename.startswith(_SITE_DIRS)


def _thread_frames(top: FrameType) -> list[FrameType]:
    """A running G's frames, outermost first: ``top`` out to the M's loop.

    The standard library frames the runtime itself calls into (starting a
    thread for a new M, say) are the runtime's work, not the goroutine's:
    they are cut off, except below the syscall trap, which calls the
    goroutine's own blocking function (``syscall(event.wait)``).
    """
    frames: list[FrameType] = []
    f: FrameType | None = top
    depth = 0
    while f is not None and depth < 1000:
        depth += 1
        code = f.f_code
        if code.co_name == "schedule" and _is_runtime_file(code.co_filename):
            break
        frames.append(f)
        f = f.f_back
    frames.reverse()
    for i in range(1, len(frames)):
        caller = frames[i - 1].f_code
        if (
            _is_runtime_file(caller.co_filename)
            and caller.co_qualname != "Syscall.__await__"
            and _is_stdlib_file(frames[i].f_code.co_filename)
        ):
            return frames[:i]
    return frames


def _frame_lines(entries: list[Entry]) -> list[str]:
    """(module, qualname, file, line) outermost first -> Go-style lines, innermost first."""
    lines: list[str] = []
    for mod, qualname, filename, lineno in reversed(entries):
        if _is_runtime_file(filename):
            continue
        lines.append(f"{mod}.{qualname}(...)")
        lines.append(f"\t{filename}:{lineno}")
    return lines


def _entries_of_frames(frames: list[FrameType]) -> list[Entry]:
    out = []
    for f in frames:
        code = f.f_code
        out.append((f.f_globals.get("__name__", "?"), code.co_qualname, code.co_filename, f.f_lineno or 0))
    return out


def _entries_of_tb(tb: TracebackType | None) -> list[Entry]:
    out = []
    while tb is not None:
        f = tb.tb_frame
        code = f.f_code
        out.append((f.f_globals.get("__name__", "?"), code.co_qualname, code.co_filename, tb.tb_lineno))
        tb = tb.tb_next
    return out


def _coro_entries(c: _GCopy) -> list[Entry]:
    """The entries of ``c``'s suspended coroutine chain ([] if it is running).

    Free-threaded builds: read under the G's stacklock, never waiting for it
    (see the module docstring); the frames are dropped before it is released.
    """
    sl = c.stacklock
    if sl is None:
        return _entries_of_frames(_coro_frames(c.coro))
    if not sl.acquire(False):
        return []  # running right now: its chain is changing
    try:
        return _entries_of_frames(_coro_frames(c.coro))
    finally:
        sl.release()


def own_stack(top: FrameType, fn: Any) -> tuple[Entry, ...]:
    """The calling thread's goroutine stack from ``top`` outwards, with the
    blocking function ``fn`` about to be called innermost (at its first
    line): what a dump shows of a goroutine in a blocking call on a
    free-threaded build (``M.sysstack``). Called on the M's own thread."""
    entries = _entries_of_frames(_thread_frames(top))
    f = getattr(fn, "__func__", fn)  # a bound method: its function
    code = getattr(f, "__code__", None)
    if isinstance(code, CodeType):
        mod = getattr(f, "__module__", None) or "?"
        entries.append((mod, getattr(f, "__qualname__", code.co_qualname), code.co_filename, code.co_firstlineno))
    return tuple(entries)


def _stack_of(c: _GCopy) -> str:
    if c.tb is not None:
        lines = _frame_lines(_entries_of_tb(c.tb))
    else:
        lines = []
        if c.frame is not None:
            lines = _frame_lines(_entries_of_frames(_thread_frames(c.frame)))
        elif c.sysstack is not None:
            lines = _frame_lines(list(c.sysstack))
        if not lines and c.coro is not None and not (c.elsewhere and c.status == RUNNING):
            # Not found on a thread (or caught inside the runtime between two
            # steps): the coroutine chain still says where the goroutine is.
            # (Free-threaded: not while another thread runs it, whatever its
            # stacklock says: the C fast paths resume without taking it.)
            lines = _frame_lines(_coro_entries(c))
        if not lines and c.elsewhere and c.entry:
            # Free-threaded: on another thread, whose frames are not read.
            lines = [f"{c.entry}(...)", "\tgoroutine running on other thread; stack unavailable"]
    if not lines and c.entry:
        # Only runtime frames (a plain function run as a goroutine).
        lines = [f"{c.entry}(...)", "\t<unknown>:0"]
    return "\n".join(lines)


# ---------------------------------------------------------------------- header and creation


def _status(c: _GCopy, now: float) -> tuple[str, float]:
    st = c.status
    if st == WAITING:
        return (c.waitreason or "waiting"), max(0.0, now - c.waitsince)
    if st == SYSCALL:
        return "syscall", max(0.0, now - c.waitsince) if c.waitsince else 0.0
    return STATUS_NAMES.get(st, "?"), 0.0


def _header(c: _GCopy, now: float) -> str:
    text, waited = _status(c, now)
    if waited >= 60.0:
        text += f", {int(waited // 60)} minutes"
    return f"goroutine {c.id} [{text}]:"


def _creator_name(c: _GCopy) -> str:
    code = c.code
    if code is None:
        return ""
    return f"{c.module}.{code.co_qualname}" if c.module else code.co_qualname


def _created_by(c: _GCopy) -> str:
    """``MODULE.FUNC in goroutine N`` (empty for goroutine 1)."""
    if c.id == 1 or c.code is None:
        return ""
    name = _creator_name(c)
    return f"{name} in goroutine {c.creator}" if c.creator else name


def _created_at(c: _GCopy) -> str:
    if c.id == 1 or c.code is None:
        return ""
    return f"{c.code.co_filename}:{c.line}"


def _format(c: _GCopy, now: float) -> str:
    parts = [_header(c, now)]
    stack = _stack_of(c)
    if stack:
        parts.append(stack)
    by = _created_by(c)
    if by:
        parts.append(f"created by {by}")
        parts.append(f"\t{_created_at(c)}")
    return "\n".join(parts)


def describe_creation(g: G) -> str:
    """``created by MODULE.FUNC in goroutine N at FILE:LINE`` (or main's note)."""
    c = _GCopy(g, None)
    if g.id == 1:
        return "the main goroutine"
    by = _created_by(c)
    if not by:
        return "created outside a goroutine"
    return f"created by {by} at {_created_at(c)}"


# ---------------------------------------------------------------------- dumps


def _first(copies: list[_GCopy], gid: int) -> list[_GCopy]:
    """``copies`` with goroutine ``gid`` moved to the front (Go prints the current G first)."""
    head = [c for c in copies if c.id == gid]
    return head + [c for c in copies if c.id != gid]


def _join(copies: list[_GCopy]) -> str:
    if not copies:
        return ""
    now = clock()
    return "\n\n".join(_format(c, now) for c in copies) + "\n"


@locked_by("lock", "Sched.lock")
def dump_locked(sched: Sched) -> str:
    """Every goroutine, Go-style, separated by blank lines. Sched.lock held.

    Formats under the lock: for callers that stop the world anyway (the
    deadlock report). Everyone else uses :func:`dump`.
    """
    return _join(_copy_locked(sched))


@locked_by("lock", "Sched.lock")
def panic_dump_locked(sched: Sched, g: G, exc: BaseException) -> str:
    """The dump at the moment ``g`` panicked with ``exc``: ``g`` first, its
    stack taken from the exception's traceback. Sched.lock held."""
    me = _GCopy(g, None)  # gopanic has marked it dead already: not in the copy
    me.tb = exc.__traceback__
    me.status = RUNNING
    return _join([me] + [c for c in _copy_locked(sched) if c.id != g.id])


def _copy(sched: Sched, lock_timeout: float) -> list[_GCopy] | None:
    lock = sched.lock
    if lock_timeout < 0:
        lock.acquire()
    elif not lock.acquire(True, lock_timeout):
        return None
    try:
        return _copy_locked(sched)
    finally:
        lock.release()


def dump(sched: Sched, *, current: int = 0, lock_timeout: float = -1) -> str:
    """Every goroutine of ``sched``, Go-style; goroutine ``current`` first.

    Holds Sched.lock only to copy. With ``lock_timeout`` >= 0 (a signal
    handler, which may have interrupted a holder of the lock on its own
    thread) it gives up after that many seconds and copies without it.
    """
    copies = _copy(sched, lock_timeout)
    if copies is None:
        copies = _copy_locked(sched)  # racy, but better than no dump
    if current:
        copies = _first(copies, current)
    return _join(copies)


def stacks(sched: Sched) -> dict[int, str]:
    """Goroutine id -> its stack text, for every live goroutine (the tracer's final stacks)."""
    copies = _copy(sched, -1) or []
    return {c.id: _stack_of(c) for c in copies}


def _infos(copies: list[_GCopy]) -> list[GoroutineInfo]:
    now = clock()
    return [
        GoroutineInfo(
            id=c.id,
            state="runnable" if c.status == IDLE else STATUS_NAMES.get(c.status, "?"),
            wait_reason=c.waitreason if c.status in (WAITING, SYSCALL) else "",
            created_by=_created_by(c),
            stack=_stack_of(c),
            waiting_seconds=_status(c, now)[1],
            created_at=_created_at(c),
        )
        for c in copies
    ]


def snapshot(sched: Sched) -> list[GoroutineInfo]:
    """``goroutines.goroutines()``: one GoroutineInfo per live goroutine, by id."""
    return _infos(_copy(sched, -1) or [])


@locked_by("lock", "Sched.lock")
def attach_panic_dump_locked(sched: Sched, g: G, exc: BaseException) -> None:
    """Store the dump at the moment ``g`` panicked on ``exc.__goroutine_dump__``
    (the ``goroutines`` command prints it, as Go prints the goroutines of a
    crashed program). Sched.lock held, ``g`` not yet removed from allgs."""
    try:
        exc.__goroutine_dump__ = panic_dump_locked(sched, g, exc)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - an exception object that refuses attributes
        pass
