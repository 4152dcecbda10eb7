"""The execution tracer's output side: ``goroutines.trace`` and its file formats.

    with gr.trace("out.json"):      # or "out.html"
        ...                         # inside a goroutine: record while the block runs

    with gr.trace("out.html"):      # outside any run: record the run made in the block
        gr.run(main)

Recording is _core/_trace.py's Tracer; this module turns its events into

* **Chrome Trace Event JSON** (``.json``, or any name not ending in ``.html``)
  that Perfetto (ui.perfetto.dev) and chrome://tracing open: one process,
  one thread lane per M named ``M0``, ``M1``, ... (plus ``other threads``
  when a thread that is not an M did something worth showing, such as
  starting goroutine 1 or readying a goroutine); goroutine runs as complete
  events (``ph: X``, category ``goroutine``; ``syscall`` for the time
  inside ``gr.syscall``; ``blocking`` for the time inside a plain blocking
  call that sysmon found and retook the P of, until the goroutine is back
  in the runtime) named ``G7 module.func`` with args ``goroutine``,
  ``function``, ``ended`` (``blocked`` / ``yield`` / ``exit`` / ``panic`` /
  ``syscall`` / ``blocking call`` / ``trace end``) and ``blocked_on`` (the
  wait reason that ended it); instant events (``ph: i``) for create,
  unblock, syscall, sysexit, blocking, retake, timer, panic, mstart and
  gomaxprocs changes; a counter
  track ``goroutines``; metadata events naming the process and the lanes.
  The last run span of each goroutine still alive when recording stopped
  carries its stack in ``args.stack``.

* one **self-contained HTML page** (``.html``/``.htm``; _tracehtml.py) with
  the same JSON embedded and a timeline drawn by inline JS.

Times are microseconds since recording started. A goroutine already running
when recording starts gets a span from the start of the trace.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from ._core import (
    SYSCALL,
    Event,
    Sched,
    Tracer,
    current_frames,
    current_sched,
    in_blocking_call,
    now_ns,
    stacks,
    unwatch_runs,
    watch_runs,
)

PID = 1
OTHER_TID = 0  # the lane for threads that are not Ms
FORMAT_VERSION = 1

# Instant events kept in the output (mpark/mwake/start/block/... become spans).
_INSTANTS = {"create", "unblock", "syscall", "sysexit", "blocking", "retake", "timer", "panic", "mstart", "procs"}
_SPAN_SUFFIX = {"syscall": " (syscall)", "blocking": " (blocking call)"}


def _tid(mid: int) -> int:
    return OTHER_TID if mid < 0 else mid + 1


def _us(t_ns: int, t0: int) -> float:
    return round((t_ns - t0) / 1000.0, 3)


class TraceData:
    """What a finished recording holds, before it is formatted."""

    def __init__(
        self,
        events: list[Event],
        *,
        t0: int,
        t1: int,
        gomaxprocs: int,
        names: dict[int, str],
        alive_at_start: set[int],
        ms_at_start: Iterable[int],
        stacks: dict[int, str],
        title: str,
        running_at_start: dict[int, tuple[int, str]] | None = None,
    ) -> None:
        self.events = events
        self.t0 = t0
        self.t1 = t1
        self.gomaxprocs = gomaxprocs
        self.names = names
        self.alive_at_start = alive_at_start
        self.ms_at_start = set(ms_at_start)
        self.stacks = stacks
        self.title = title
        # M id -> (goroutine it ran when recording started, "goroutine" or "syscall")
        self.running_at_start = running_at_start or {}


# ---------------------------------------------------------------------- events -> Chrome JSON


class _Lane:
    """Per-M state while turning events into spans."""

    __slots__ = ("tid", "open_g", "open_ts", "open_cat", "seen")

    def __init__(self, tid: int) -> None:
        self.tid = tid
        self.open_g = 0
        self.open_ts = 0
        self.open_cat = ""
        self.seen = False


def to_chrome(data: TraceData) -> dict[str, Any]:
    """The Chrome Trace Event document (a dict ready for json.dump)."""
    t0, t1 = data.t0, data.t1
    names = dict(data.names)
    parents: dict[int, int] = {}
    for _, kind, _, gid, arg in data.events:
        if kind == "create" and isinstance(arg, tuple | list) and len(arg) == 2:
            parents[gid] = int(arg[0])
            names[gid] = str(arg[1])

    out: list[dict[str, Any]] = []
    lanes: dict[int, _Lane] = {}
    last_span: dict[int, dict[str, Any]] = {}  # gid -> its latest run span

    def lane(mid: int) -> _Lane:
        ln = lanes.get(mid)
        if ln is None:
            ln = lanes[mid] = _Lane(_tid(mid))
        return ln

    def span(ln: _Lane, gid: int, start: int, end: int, cat: str, ended: str, reason: str) -> None:
        fn = names.get(gid, "?")
        args: dict[str, Any] = {"goroutine": gid, "function": fn, "ended": ended}
        if reason:
            args["blocked_on"] = reason
        if parents.get(gid):
            args["created_by"] = parents[gid]
        name = f"G{gid} {fn}" + _SPAN_SUFFIX.get(cat, "")
        ev = {
            "name": name,
            "cat": cat,
            "ph": "X",
            "ts": _us(start, t0),
            "dur": round(max(0, end - start) / 1000.0, 3),
            "pid": PID,
            "tid": ln.tid,
            "args": args,
        }
        out.append(ev)
        if cat == "goroutine":
            last_span[gid] = ev

    def close(ln: _Lane, t: int, gid: int, ended: str, reason: str = "") -> None:
        """End the open span on ``ln`` (or back-fill one from t0 for the first event)."""
        if ln.open_g:
            span(ln, ln.open_g, ln.open_ts, t, ln.open_cat, ended, reason)
            ln.open_g = 0
        elif not ln.seen and gid:
            span(ln, gid, t0, t, "goroutine", ended, reason)

    def open_(ln: _Lane, t: int, gid: int, cat: str) -> None:
        if ln.open_g:
            close(ln, t, ln.open_g, "?")
        ln.open_g, ln.open_ts, ln.open_cat = gid, t, cat

    def instant(t: int, mid: int, name: str, args: dict[str, Any]) -> None:
        lane(mid)
        out.append(
            {
                "name": name,
                "cat": name,
                "ph": "i",
                "s": "t",
                "ts": _us(t, t0),
                "pid": PID,
                "tid": _tid(mid),
                "args": args,
            }
        )

    # goroutine count: the live set at the start, then replayed
    created = {gid for _, kind, _, gid, _ in data.events if kind == "create"}
    ended_ = {gid for _, kind, _, gid, _ in data.events if kind in ("end", "panic")}
    alive = (set(data.alive_at_start) | ended_) - created
    counter: list[dict[str, Any]] = []

    def count(t: int) -> None:
        counter.append(
            {
                "name": "goroutines",
                "ph": "C",
                "ts": _us(t, t0),
                "pid": PID,
                "tid": OTHER_TID,
                "args": {"goroutines": len(alive)},
            }
        )

    count(t0)
    for mid in data.ms_at_start:
        lane(mid)
    for mid, (gid, cat) in data.running_at_start.items():
        ln = lane(mid)
        ln.open_g, ln.open_ts, ln.open_cat, ln.seen = gid, t0, cat, True

    for t, kind, mid, gid, arg in data.events:
        if kind in ("start", "block", "yield", "end", "panic", "syscall", "sysexit", "blocking", "blockret") and mid >= 0:
            ln = lane(mid)
            if kind == "start":
                open_(ln, t, gid, "goroutine")
            elif kind == "block":
                close(ln, t, gid, "blocked", str(arg))
            elif kind == "yield":
                close(ln, t, gid, "yield")
            elif kind == "end":
                close(ln, t, gid, "exit")
            elif kind == "panic":
                close(ln, t, gid, "panic", "")
            elif kind == "syscall":
                close(ln, t, gid, "syscall")
                open_(ln, t, gid, "syscall")
            elif kind == "sysexit":
                if ln.open_g == gid and ln.open_cat == "syscall":
                    close(ln, t, gid, "sysexit")
                elif not ln.seen:
                    span(ln, gid, t0, t, "syscall", "sysexit", "")
                if arg != "requeue":
                    open_(ln, t, gid, "goroutine")
            elif kind == "blocking":
                # sysmon found the running G blocked in a plain call
                if ln.open_g == gid and ln.open_cat == "goroutine":
                    close(ln, t, gid, "blocking call")
                    open_(ln, t, gid, "blocking")
                elif not ln.seen:
                    span(ln, gid, t0, t, "goroutine", "blocking call", "")
                    open_(ln, t, gid, "blocking")
            elif kind == "blockret":
                if ln.open_g == gid and ln.open_cat == "blocking":
                    close(ln, t, gid, "returned")
                if arg != "requeue" and not ln.open_g:
                    open_(ln, t, gid, "goroutine")
            ln.seen = True
        elif kind == "mpark" and mid >= 0:
            ln = lane(mid)
            if ln.open_g:  # its goroutine's last trap went unrecorded
                close(ln, t, ln.open_g, "unknown")
            ln.seen = True
        if kind in _INSTANTS:
            iargs: dict[str, Any] = {}
            if kind == "create":
                iargs = {"goroutine": gid, "function": names.get(gid, "?"), "parent": parents.get(gid, 0)}
            elif kind in ("unblock", "syscall", "sysexit", "blocking"):
                iargs = {"goroutine": gid, "function": names.get(gid, "?")}
                if kind == "blocking":
                    iargs["held_us"] = arg
                if kind == "sysexit" and arg:
                    iargs["note"] = "no P free: goroutine requeued"
            elif kind == "retake":
                iargs = {"p": arg}
            elif kind == "timer":
                iargs = {"fired": arg}
            elif kind == "panic":
                iargs = {"goroutine": gid, "error": str(arg)}
            elif kind == "procs":
                iargs = {"gomaxprocs": arg}
            instant(t, mid, kind, iargs)
        if kind == "create":
            alive.add(gid)
            count(t)
        elif kind in ("end", "panic"):
            alive.discard(gid)
            count(t)
    for ln in lanes.values():
        if ln.open_g:
            span(ln, ln.open_g, ln.open_ts, t1, ln.open_cat, "trace end", "")
            ln.open_g = 0
    count(t1)

    for gid, stack in data.stacks.items():
        ev = last_span.get(gid)
        if ev is not None and stack:
            ev["args"]["stack"] = stack

    meta: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": PID, "tid": OTHER_TID, "args": {"name": data.title}},
    ]
    for mid in sorted(lanes):
        ln = lanes[mid]
        label = f"M{mid}" if mid >= 0 else "other threads"
        meta.append({"name": "thread_name", "ph": "M", "pid": PID, "tid": ln.tid, "args": {"name": label}})
        meta.append(
            {
                "name": "thread_sort_index",
                "ph": "M",
                "pid": PID,
                "tid": ln.tid,
                "args": {"sort_index": mid if mid >= 0 else 1 << 20},
            }
        )
    body = out + counter
    body.sort(key=lambda e: e["ts"])
    return {
        "traceEvents": meta + body,
        "displayTimeUnit": "ms",
        "otherData": {
            "producer": "goroutines",
            "format": f"goroutines-trace-{FORMAT_VERSION}",
            "title": data.title,
            "gomaxprocs": str(data.gomaxprocs),
            "duration_us": str(_us(t1, t0)),
        },
    }


# ---------------------------------------------------------------------- files


def is_html(path: str | os.PathLike[str]) -> bool:
    return os.fspath(path).lower().endswith((".html", ".htm"))


def write_trace(path: str | os.PathLike[str], doc: dict[str, Any]) -> None:
    """Write ``doc`` as JSON, or as the HTML page when ``path`` ends in .html/.htm."""
    if is_html(path):
        from ._tracehtml import render_html

        text = render_html(doc)
    else:
        text = json.dumps(doc, separators=(",", ":"))
    tmp = os.fspath(path) + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def load_trace(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a Chrome Trace Event JSON file (object or bare-array form)."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if isinstance(doc, list):
        doc = {"traceEvents": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        raise ValueError(f"{os.fspath(path)}: not a Chrome Trace Event file (no traceEvents list)")
    return doc


# ---------------------------------------------------------------------- the context manager


class trace:
    """``with goroutines.trace(path):`` records the scheduler's events while the block runs.

    Inside a running program (a goroutine, or any thread while ``run`` is
    active) recording starts at once. Outside one, the block is expected to
    call ``run``: that run is recorded from its first goroutine to its end,
    panics and deadlocks included (only the first run in the block is).
    The file is written when the block exits, even if it raised; its format
    follows the name: ``.html``/``.htm`` gives the timeline page, anything
    else Chrome Trace Event JSON. One trace at a time per run.

    Recording costs each scheduling event one tuple appended to a per-thread
    list; ``events`` holds the number recorded once the block has exited.
    """

    def __init__(self, path: str | os.PathLike[str], *, title: str | None = None) -> None:
        self.path = path
        self.title = title or f"goroutines: {os.path.basename(os.fspath(path))}"
        self.events = 0
        self._tracer: Tracer | None = None
        self._sched: Sched | None = None
        self._data: TraceData | None = None
        self._armed = False
        self._names: dict[int, str] = {}
        self._alive: set[int] = set()
        self._ms: list[int] = []
        self._running: dict[int, tuple[int, str]] = {}

    # -- recording

    def _start(self, sched: Sched) -> None:
        tr = Tracer()
        tr.start(sched)
        with sched.lock:
            self._names = {g.id: g.entry for g in sched.allgs.values()}
            self._alive = set(self._names)
            self._ms = [m.id for m in sched.allm]
            frames = current_frames()
            for m in sched.allm:
                g = m.curg
                if g is not None:
                    cat = "syscall" if g.status == SYSCALL else "blocking" if in_blocking_call(m, frames) else "goroutine"
                    self._running[m.id] = (g.id, cat)
        self._tracer, self._sched = tr, sched

    def _finish(self) -> None:
        tr, sched = self._tracer, self._sched
        if tr is None or sched is None or self._data is not None:
            return
        events = tr.stop()
        final = stacks(sched)  # the goroutines are all still there: the run has not shut down
        self._data = TraceData(
            events,
            t0=tr.t0,
            t1=tr.t1,
            gomaxprocs=tr.gomaxprocs,
            names=self._names,
            alive_at_start=self._alive,
            ms_at_start=self._ms,
            stacks=final,
            title=self.title,
            running_at_start=self._running,
        )

    # run watcher (the block runs a whole program)

    def run_started(self, sched: Sched) -> None:
        if self._tracer is None:
            self._start(sched)

    def run_ending(self, sched: Sched) -> None:
        if sched is self._sched:
            self._finish()

    # -- context manager

    def __enter__(self) -> trace:
        sched = current_sched()
        if sched is not None:
            self._start(sched)
        else:
            self._armed = True
            watch_runs(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._armed:
            unwatch_runs(self)
            self._armed = False
        self._finish()
        data = self._data
        if data is None:  # no run happened inside the block
            t = now_ns()
            data = TraceData(
                [],
                t0=t,
                t1=t,
                gomaxprocs=0,
                names={},
                alive_at_start=set(),
                ms_at_start=(),
                stacks={},
                title=self.title,
            )
        self.events = len(data.events)
        write_trace(self.path, to_chrome(data))
