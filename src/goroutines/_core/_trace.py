"""The execution tracer's recording side: per-M event buffers.

While tracing is on, ``Sched.trace`` is a Tracer and the scheduler records
one tuple per event at the points listed below; while it is off,
``Sched.trace`` is None and each point costs one attribute test.

Each M appends to its own buffer (``M.tbuf``), so recording takes no lock;
events from threads that are not Ms (sysmon, a foreign thread closing a
channel) go to ``Tracer.shared`` under ``Tracer.lock``. ``stop()`` collects
every buffer, merged by time.

An event is ``(t_ns, kind, mid, gid, arg)``: ``t_ns`` from
time.perf_counter_ns(), ``mid`` the M (-1: not an M), ``gid`` the goroutine
(0: none), ``arg`` depends on the kind:

    kind        recorded by                 arg
    create      go()/newproc                (parent gid, entry function name)
    start       schedule: G starts running  ""
    block       schedule: G parked          wait reason
    yield       schedule: gosched/requeue   ""
    unblock     ready()                     "" (mid/gid: the waker's M, woken G)
    end         goexit                      ""
    panic       gopanic                     exception text
    syscall     entersyscall                ""
    sysexit     exitsyscall                 "" or "requeue" (no P free)
    mstart      new M thread starts         ""
    mpark       M goes idle                 "poll" (poller, timed) or "idle"
    mwake       M resumes after parking     ""
    retake      sysmon hands a P off        P id
    blocking    sysmon: the G is blocked    microseconds the P was held
                in a plain (unannotated)    (mid: the blocked M; recorded
                call; its P is retaken      with its retake)
    blockret    the G is back from that     "" or "requeue" (no P free: it
                call (enters the runtime)   waits for one, mpark follows)
    timer       an M runs due timers        number fired
    procs       gomaxprocs changed          new value
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from ._runctx import current_sched

if TYPE_CHECKING:
    from ._sched import Sched

Event = tuple[int, str, int, int, Any]

now_ns = time.perf_counter_ns


class Tracer:
    """Recording state of one trace; attach with start(), detach with stop()."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # guards shared and bufs
        self.shared: list[Event] = []
        self.bufs: list[list[Event]] = []
        self.t0 = now_ns()
        self.t1 = 0
        self.sched: Sched | None = None
        self.gomaxprocs = 0

    def start(self, sched: Sched) -> None:
        """Attach to ``sched``: give every M a buffer, then publish."""
        with sched.lock:
            if sched.trace is not None:
                raise RuntimeError("trace: a trace is already being recorded")
            self.sched = sched
            self.gomaxprocs = sched.gomaxprocs
            for m in sched.allm:
                self.attach_m(m)
            sched.trace = self

    def attach_m(self, m: Any) -> None:
        buf: list[Event] = []
        with self.lock:
            self.bufs.append(buf)
        m.tbuf = buf

    def stop(self) -> list[Event]:
        """Detach and return every event recorded, in time order."""
        sched = self.sched
        if sched is not None:
            with sched.lock:
                if sched.trace is self:
                    sched.trace = None
                for m in sched.allm:
                    m.tbuf = None
        self.t1 = now_ns()
        with self.lock:
            events = list(self.shared)
            for b in self.bufs:
                events.extend(b)
        events.sort(key=lambda e: e[0])
        return events

    def emit_shared(self, kind: str, mid: int, gid: int, arg: Any = "") -> None:
        with self.lock:
            self.shared.append((now_ns(), kind, mid, gid, arg))


def emit(m: Any, kind: str, gid: int, arg: Any = "") -> None:
    """Record an event from M ``m`` (or from a non-M thread when m is None)."""
    if m is not None:
        buf = m.tbuf
        if buf is not None:
            buf.append((now_ns(), kind, m.id, gid, arg))
            return
        tr = m.sched.trace
        if tr is not None:
            tr.attach_m(m)
            m.tbuf.append((now_ns(), kind, m.id, gid, arg))
        return
    s = current_sched()
    tr = s.trace if s is not None else None
    if tr is not None:
        tr.emit_shared(kind, -1, gid, arg)
