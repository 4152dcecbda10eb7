"""The runtime core: G, M, Sched, the schedule loop, timers, the wait queue and sysmon.

This is the internal API the outer modules (_chan, _select, _time, _sync,
_context) may use; they import ``goroutines._core`` and never its
submodules. Inside the core, a module imports only modules before it in the
layer order, written once as ``ORDER`` in tests/test_layering.py (which
also counts imports inside functions and fails on any cycle); see
docs/design.md, "Module dependencies".
"""

from . import _fork  # noqa: F401 - registers the os.fork() child hook
from ._cext import lock_kind, new_chan_buffer, new_lock, speedups
from ._check import DEBUG, RANK_CHAN, RANK_COND, RANK_CONTEXT, RANK_SYNC, locked_by
from ._debug import unwatch_runs, watch_runs
from ._g import (
    CLOSED,
    RUNNABLE,
    RUNNING,
    SYSCALL,
    WAIT_CHAN_RECEIVE,
    WAIT_CHAN_SEND,
    WAIT_COND,
    WAIT_ERRGROUP_GO,
    WAIT_ERRGROUP_WAIT,
    WAIT_MUTEX,
    WAIT_ONCE,
    WAIT_RWMUTEX,
    WAIT_SELECT,
    WAIT_SELECT_NO_CASES,
    WAIT_SEMAPHORE,
    WAIT_SLEEP,
    WAIT_WAITGROUP,
    WAITING,
    G,
)
from ._mstart import _tls, current_g, current_m
from ._netpoll import EVICTED, INF, READ, READY, TIMEOUT, WRITE, PollDesc, WaitFD, WaitPD, close_pd, evict_fd, get_netpoll, yield_to_network
from ._plain import enter_blocking, leave_blocking, mark_runtime_thread
from ._ready import preempted, ready, ready_external
from ._runtime import (
    Goroutine,
    check_seed,
    current_sched,
    default_gomaxprocs,
    dump,
    go,
    gomaxprocs,
    goroutines,
    last_seed,
    num_goroutine,
    run,
    set_max_threads,
    start,
)
from ._sched import M, Sched, wake_m
from ._schedule import REQUEUE, Commit
from ._timer import Timer
from ._timers import FakeClock
from ._trace import Event, Tracer, now_ns
from ._traceback import GoroutineInfo, in_blocking_call, stacks
from ._traps import (
    Syscall,
    block_forever,
    current,
    gosched,
    lock_os_thread,
    no_goroutine,
    syscall,
    unlock_os_thread,
)
from ._waitq import GRANTED, HANDOFF, WOKEN, WaitQueue, wake, wake_all

__all__ = [
    "GRANTED",
    "HANDOFF",
    "WOKEN",
    "WaitQueue",
    "wake",
    "wake_all",
    "EVICTED",
    "READ",
    "READY",
    "TIMEOUT",
    "WRITE",
    "WaitFD",
    "WaitPD",
    "close_pd",
    "PollDesc",
    "INF",
    "get_netpoll",
    "yield_to_network",
    "evict_fd",
    "CLOSED",
    "Commit",
    "G",
    "GoroutineInfo",
    "Goroutine",
    "M",
    "REQUEUE",
    "RUNNABLE",
    "RUNNING",
    "SYSCALL",
    "Sched",
    "Syscall",
    "Timer",
    "WAITING",
    "WAIT_CHAN_RECEIVE",
    "WAIT_CHAN_SEND",
    "WAIT_COND",
    "WAIT_ERRGROUP_GO",
    "WAIT_ERRGROUP_WAIT",
    "WAIT_MUTEX",
    "WAIT_ONCE",
    "WAIT_RWMUTEX",
    "WAIT_SELECT",
    "WAIT_SELECT_NO_CASES",
    "WAIT_SEMAPHORE",
    "WAIT_SLEEP",
    "WAIT_WAITGROUP",
    "_tls",
    "block_forever",
    "current",
    "current_g",
    "current_m",
    "in_blocking_call",
    "current_sched",
    "default_gomaxprocs",
    "dump",
    "enter_blocking",
    "leave_blocking",
    "mark_runtime_thread",
    "go",
    "gomaxprocs",
    "goroutines",
    "gosched",
    "lock_os_thread",
    "no_goroutine",
    "num_goroutine",
    "new_chan_buffer",
    "new_lock",
    "lock_kind",
    "locked_by",
    "DEBUG",
    "RANK_CHAN",
    "RANK_COND",
    "RANK_CONTEXT",
    "RANK_SYNC",
    "preempted",
    "ready",
    "ready_external",
    "run",
    "set_max_threads",
    "speedups",
    "syscall",
    "unlock_os_thread",
    "wake_m",
    "Event",
    "FakeClock",
    "check_seed",
    "last_seed",
    "start",
    "Tracer",
    "now_ns",
    "stacks",
    "unwatch_runs",
    "watch_runs",
]
