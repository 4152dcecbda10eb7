"""G: one goroutine, its status, and why it waits.

Status transitions (who may make each one):

    idle -> runnable     go(): the creator, before the G is published on a
                         run queue.
    runnable -> running  the M that took the G off a run queue.
    running -> waiting   the M running it, in the park trap, *before* it
                         releases the lock(s) the G yielded (Go's gopark
                         with an unlock function). No waker can see the G's
                         waiter entry until that release, so no wake-up is
                         lost.
    waiting -> runnable  the one waker that dequeued the G's waiter entry
                         (under the channel lock), claimed its select token,
                         or owns its timer. Exactly one waker wins.
    running -> syscall   the M running it, in entersyscall (sched.lock).
    syscall -> running   the same M, in exitsyscall, when it gets a P back.
    syscall -> runnable  the same M, when no P is free (G goes on runq).
    running -> runnable  gosched / preemption: the M running it.
    running -> dead      goexit (or a panic): the M running it; a dead G sits
                         on the free list with no reference to its function
                         or coroutine.
    dead -> runnable     go() reusing a G from the free list.

Every write of ``status`` is ``casgstatus(g, old, new)`` (Go's casgstatus:
the writer says what it believes the status is): a plain store, and in
debug mode (_check.py) a check that the status is ``old`` and the change
is one of the above (``G_TRANSITIONS``). On the paths every goroutine
switch or spawn takes (execute, park, gosched, ready, newproc, goexit) it
is written inline, ``if DEBUG: casgstatus(...) else: g.status = new``: the
call alone cost 8% of a W1 round trip on the pure-Python paths (~470
instructions each, six per round trip), the test of DEBUG costs a few. The C fast paths write it too
(RUNNABLE in ready, RUNNING and WAITING in run_fast): they are off in debug
mode. A G record made without __init__ (newproc) has no status yet: Go's
_Gidle.

``status`` and ``waitreason`` are written only by the G's current owner, as
above, and read without a lock by dumps (a snapshot may be a moment stale).

Reading a G's stack from another thread (Go's _Gscan bit): on a
free-threaded build nothing serialises a dump's walk of a coroutine chain
(``cr_frame``/``cr_await``) with an M resuming that coroutine, and CPython
does not make such concurrent reads safe (they crash). So there each G has
a ``stacklock``: the M running the G holds it from resume to the next trap
(every ``coro.send``, and shutdown's ``coro.close``), and a dump reads a
chain only while holding it, taken without blocking (held: the G is running
right now, and its chain is not read). A dump thus blocks an M only for the
walk of one suspended chain, and never waits for a running goroutine. With
the GIL the walk is serialised with the M anyway: ``stacklock`` is None.
"""

from __future__ import annotations

import sysconfig
import weakref
from collections.abc import Callable
from types import CodeType
from typing import Any

from ._cext import lock_kind
from ._check import DEBUG, RANK_STACK, check_transition

# A build that can run without the GIL (3.13t and later): see ``stacklock``.
FREE_THREADED_BUILD = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))

# G statuses (Go's _Gidle.._Gdead). Ints on the hot path; names for display.
IDLE = 0
RUNNABLE = 1
RUNNING = 2
SYSCALL = 3
WAITING = 4
DEAD = 6

STATUS_NAMES = {
    IDLE: "idle",
    RUNNABLE: "runnable",
    RUNNING: "running",
    SYSCALL: "syscall",
    WAITING: "waiting",
    DEAD: "dead",
}

# The legal status changes (the module docstring says who makes each).
G_TRANSITIONS = frozenset(
    {
        (IDLE, RUNNABLE),
        (DEAD, RUNNABLE),
        (RUNNABLE, RUNNING),
        (RUNNING, WAITING),
        (RUNNING, RUNNABLE),
        (RUNNING, SYSCALL),
        (RUNNING, DEAD),
        (WAITING, RUNNABLE),
        (SYSCALL, RUNNING),
        (SYSCALL, RUNNABLE),
    }
)

# A G's stacklock (free-threaded builds; see the module docstring).
new_stacklock = lock_kind("G.stacklock", RANK_STACK)

# Wait reasons: exactly the contract's strings (Go's waitReasonStrings).
WAIT_CHAN_RECEIVE = "chan receive"
WAIT_CHAN_SEND = "chan send"
WAIT_SELECT = "select"
WAIT_SELECT_NO_CASES = "select (no cases)"
WAIT_SLEEP = "sleep"
WAIT_IO = "IO wait"
WAIT_SYSCALL = "syscall"
WAIT_MUTEX = "sync.Mutex"
WAIT_RWMUTEX = "sync.RWMutex"
WAIT_WAITGROUP = "sync.WaitGroup"
WAIT_ONCE = "sync.Once"
# Go's x/sync and sync.Cond (the contract's "…": named after the Go type,
# plus the method where one type has two ways to wait).
WAIT_COND = "sync.Cond"
WAIT_SEMAPHORE = "semaphore.Weighted"
WAIT_ERRGROUP_WAIT = "errgroup.Group.Wait"
WAIT_ERRGROUP_GO = "errgroup.Group.Go"


class G:
    """One goroutine.

    Fields and who guards them:
      id, created_*, entry  immutable while the G is alive (set in go()).
      coro                  the goroutine's stack: touched only by the M
                            running it (or by go() before publication).
      status, waitreason,   see the module docstring.
      waitsince
      param                 the value the G resumes with. While the G waits
                            as a plain channel sender it holds the value being
                            sent; the waker that dequeued the G replaces it
                            with the resume value before readying the G.
      waitchan              the channel (or channels, for select) the G is
                            queued on while waiting; written by the G under
                            that channel's lock, used by shutdown cleanup.
      lockedm               the M this G is wired to (lock_os_thread), or
                            None: see _lockos.py.
      stacklock             free-threaded builds: held while the G's
                            coroutine runs, or while a dump reads its
                            chain (module docstring); None with the GIL.
                            Made once per G record, kept when it is reused.
      ctx                   the goroutine's contextvars.Context (a copy of
                            its creator's, made by go()): entered by the M
                            around every resume of ``coro`` and by nobody
                            else, so it is never entered on two threads.
                            Set with ``coro``, cleared with it.

    Where the G was created is kept as the go() call's frame's code object
    and instruction offset (``f_lasti``); ``created_line`` turns them into
    the line only when a dump asks, because the frame's ``f_lineno`` scans
    the line table from the start of the function at every go().

    When no dead G is free, newproc makes one without calling __init__ (the
    Python call is a measurable part of a spawn) and sets every slot itself:
    a slot added here must be set there too. Keep the slots few: the cyclic
    GC visits each one whenever it passes over a live G, and with many
    goroutines alive it passes over them often.
    """

    __slots__ = (
        "id",
        "coro",
        "status",
        "waitreason",
        "waitsince",
        "param",
        "waitchan",
        "ctx",
        "created_code",
        "created_lasti",
        "creator_id",
        "created_module",
        "entry",
        "stacklock",
        "lockedm",
        "__weakref__",
    )

    def __init__(self) -> None:
        self.id = 0
        self.coro: Any = None
        self.status = IDLE
        self.waitreason = ""
        self.waitsince = 0.0
        self.param: Any = None
        self.waitchan: Any = None
        self.ctx: Any = None
        self.created_code: CodeType | None = None
        self.created_lasti = -1
        self.creator_id = 0
        self.created_module = ""
        self.entry = ""
        self.stacklock: Any = new_stacklock() if FREE_THREADED_BUILD else None
        self.lockedm: Any = None

    @property
    def created_line(self) -> int | None:
        """The line of the go() call that created this G (0: no record)."""
        code = self.created_code
        return 0 if code is None else line_at(code, self.created_lasti)

    def __repr__(self) -> str:
        st = getattr(self, "status", IDLE)  # a record newproc is still filling in: idle
        return f"<goroutine {getattr(self, 'id', 0)} [{STATUS_NAMES.get(st, '?')}]>"


def _casgstatus(g: G, old: int, new: int) -> None:
    g.status = new


def _casgstatus_checked(g: G, old: int, new: int) -> None:
    try:
        cur = g.status
    except AttributeError:
        cur = IDLE  # a record newproc made without __init__
    check_transition("G", g, cur, old, new, G_TRANSITIONS, STATUS_NAMES)
    g.status = new


# casgstatus(g, old, new): set ``g``'s status from ``old`` to ``new`` (the
# one way to write it; see the module docstring).
casgstatus: Callable[[G, int, int], None] = _casgstatus_checked if DEBUG else _casgstatus


# The last answer of line_at(): a dump of many goroutines started by one
# go() call asks for the same line once per goroutine. The code object is
# held weakly; the tuple is replaced whole, so any thread may read it.
_line_memo: tuple[Any, int, int | None] = (None, -1, None)


def line_at(code: CodeType, lasti: int) -> int | None:
    """The line of ``code`` at instruction offset ``lasti``: what a frame's
    ``f_lineno`` is while its ``f_lasti`` is ``lasti`` (None: no line)."""
    global _line_memo
    ref, at, line = _line_memo
    if at == lasti and ref is not None and ref() is code:
        return line
    if lasti < 0:
        line = code.co_firstlineno
    else:
        line = None
        for start, end, ln in code.co_lines():
            if start <= lasti < end:
                line = ln
                break
    _line_memo = (weakref.ref(code), lasti, line)
    return line


# The sentinel a closing channel leaves in a waiter's ``param``.
class _Closed:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<closed>"


CLOSED: Any = _Closed()
