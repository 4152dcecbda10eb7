"""Time: sleep, after, Timer and Ticker, on the scheduler's timer heap.

No thread per timer: every timer is a runtime timer (``_core.Timer``, armed,
stopped and re-armed only through its start/stop/reset); an M with nothing
to run waits exactly until the earliest one (see _findrunnable.findrunnable).

Timer and Ticker channels follow Go 1.23's rule: once ``stop()`` or
``reset()`` returns, no value prepared before the call is received. The
channel has one buffer slot (so a tick is never lost to a busy receiver and
the runtime never blocks on it); stop/reset drain it, and a firing that
races with them is recognised as stale by its arming's ``seq`` and dropped.

Lock order here: the timer channel's lock, then Sched.lock (both taken by
stop/reset and by a firing). A timer's ``_TimerState.armed`` (the seq of the
live arming, or -1) is guarded by the channel's lock.

As in Go 1.23, a Timer or Ticker that is no longer referenced (neither it nor
its channel) can be collected without stop(): see _TimerState.

``after_func(seconds, fn, *args)`` is Go's time.AfterFunc: a Timer with no
channel (``c`` is None, as Go's ``C`` is nil) whose firing starts ``fn(*args)``
as a new goroutine. Its arming state lives in a _FuncTimerState guarded by
that state's own lock (the firing and stop/reset race on it exactly as on a
channel timer's lock); the runtime timer holds the state strongly, so the
function runs even if nobody keeps the Timer (a pending call is not garbage).

Times come from the run's clock (``sched.clock.now()``): time.monotonic, or
a synctest bubble's fake clock (see _core/_timers.py).
"""

from __future__ import annotations

import contextvars
import inspect
import math
import weakref
from collections.abc import Callable, Generator
from typing import Any

from ._chan import Chan
from ._core import (
    RANK_SYNC,
    WAIT_SLEEP,
    Commit,
    G,
    M,
    Sched,
    _tls,
    current,
    current_sched,
    go,
    lock_kind,
    locked_by,
    ready,
)
from ._core import (
    Timer as _RTimer,
)

# Longer than this (seconds, ~31 years) counts as "never": durations are
# clamped so that an M waiting for the timer stays within the platform's
# limit on thread waits (threading.TIMEOUT_MAX; beyond it the wait raises).
MAX_DELAY = 1e9


def _check_seconds(seconds: Any, who: str) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{who}: seconds must be a number, not {type(seconds).__name__} ({seconds!r})")
    s = float(seconds)
    if math.isnan(s):
        raise ValueError(f"{who}: seconds is NaN")
    return min(s, MAX_DELAY)


def _need_sched(who: str) -> Sched:
    s = current_sched()
    if s is None or s.stopping:
        raise RuntimeError(
            f"{who} needs a running goroutines runtime; create timers inside goroutines.run(...)"
        )
    return s


def _wake_sleeper(g: G, seq: int) -> None:
    ready(g, getattr(_tls, "m", None))


class _Sleep:
    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __await__(self) -> Generator[Any, Any, None]:
        m0 = current("sleep()")
        d = self.seconds
        if d <= 0:
            yield None  # sleep(0): yield the thread
            return
        when = m0.sched.clock.now() + d

        def arm(m: M, g: G) -> None:
            _RTimer(m.sched, _wake_sleeper, g).start(when)

        yield Commit(arm, WAIT_SLEEP)


def sleep(seconds: float) -> _Sleep:
    """``await sleep(seconds)``: park this goroutine; 0 or less just yields."""
    return _Sleep(_check_seconds(seconds, "sleep"))


class _TimerState:
    """What a firing needs, shared by a Timer/Ticker and its runtime timer.

    It holds the channel only weakly: the runtime timer (in the heap)
    references this state, never the Timer or its channel, so a timer that
    nobody references any more (neither the Timer nor its channel) is
    collected without stop(), as in Go 1.23; a periodic one then leaves the
    heap at its next tick, so a dropped Ticker neither ticks forever nor
    hides a deadlock. (A Chan refers to itself through its cached receive
    operations, so it is freed by Python's cyclic GC, not at once.)
    ``armed`` and ``period`` are guarded by the channel's lock; ``rt`` (and
    with it the run, ``rt.sched``) changes only under it too (reset in a new
    run).
    """

    __slots__ = ("cref", "armed", "period", "rt")

    def __init__(self, c: Chan[float], period: float, sched: Sched) -> None:
        self.cref = weakref.ref(c)
        self.armed = -1  # the seq of the live arming, or -1
        self.period = period
        self.rt = _new_rt(self, sched, period)  # rt.sched: the run it is armed in


def _dropped(st: _TimerState) -> bool:
    """A Ticker's next tick would be dropped: its channel is full or gone
    (the runtime Timer's ``inert``). Read without the channel's lock: it is
    asked only while no goroutine runs (a bubble's clock jump)."""
    if st.period <= 0:
        return False
    c = st.cref()
    return c is None or len(c._buf) >= c._cap


def _new_rt(st: _TimerState, sched: Sched, period: float) -> _RTimer:
    rt = _RTimer(sched, _fire, st, period=period)
    rt.inert = _dropped
    return rt


def _fire(st: _TimerState, seq: int) -> None:
    """A Timer/Ticker fired: put the time in its channel unless stale or full."""
    c = st.cref()
    if c is None:
        # Nobody can receive any more. A ticker stops itself.
        if st.period > 0:
            st.rt.stop()
        return
    lock = c._lock
    lock.acquire()
    if st.armed != seq or c._closed:
        lock.release()
        return
    if st.period == 0:
        st.armed = -1
    st_, wg = c._poll_send(st.rt.sched.clock.now())  # st_ == 0: full, the tick is dropped
    lock.release()
    # Drop the channel before readying the receiver: the receiver may run at
    # once on another M (in parallel on a free-threaded build) and let go of
    # the channel; a strong reference held here meanwhile would let a
    # gc.collect() there find the channel alive, and a dropped Ticker would
    # then tick forever instead of leaving the heap (and hide a deadlock).
    c = None
    if wg is not None:
        ready(wg, getattr(_tls, "m", None))


def _first_arm(st: _TimerState, d: float) -> None:
    """Arm a new timer. Nothing else can see it yet but its firing, which
    takes the channel's lock before it reads ``armed``: so arm it and set
    ``armed`` under that lock."""
    c = st.cref()
    assert c is not None
    rt = st.rt
    with c._lock:
        rt.start(rt.sched.clock.now() + max(d, 0.0))
        st.armed = rt.seq


class Timer:
    """Go's time.Timer: ``t.c`` receives the firing time once, after ``seconds``."""

    __slots__ = ("c", "_st", "__weakref__")

    def __init__(self, seconds: float, *, _who: str = "Timer") -> None:
        d = _check_seconds(seconds, _who)
        sched = _need_sched(_who)
        self.c: Chan[float] = Chan(1)
        self._st = st = _TimerState(self.c, 0.0, sched)
        _first_arm(st, d)

    def _arm(self, d: float, period: float = 0.0) -> bool:
        """(Re-)arm after ``d`` seconds (a Ticker: with a new ``period``);
        True if a pending firing was cancelled."""
        c = self.c
        st = self._st
        with c._lock:
            rt = st.rt
            sched = rt.sched
            if sched.stopping:
                # Made in a run that has ended: move to the one running now.
                sched = _need_sched(f"{type(self).__name__}.reset")
                rt = st.rt = _new_rt(st, sched, rt.period)
            # A one-shot arming not yet delivered is pending, even when its
            # firing is already under way on another M (Go 1.23 counts a
            # send that this call prevents as stopped).
            inflight = st.armed != -1 and st.period == 0
            drained = bool(c._buf)
            c._buf.clear()
            if period > 0:
                st.period = period
            was = rt.reset(sched.clock.now() + max(d, 0.0), period if period > 0 else None)
            st.armed = rt.seq
        return was or drained or inflight

    def stop(self) -> bool:
        """Stop the timer; True if it was pending (its value not yet received).

        After stop returns, no stale value can be received from ``c``.
        """
        c = self.c
        st = self._st
        with c._lock:
            inflight = st.armed != -1 and st.period == 0
            drained = bool(c._buf)
            c._buf.clear()
            st.armed = -1
            was = st.rt.stop()
        return was or drained or inflight

    def reset(self, seconds: float) -> bool:
        """Re-arm to fire after ``seconds``; True if it was pending before."""
        d = _check_seconds(seconds, "Timer.reset")
        return self._arm(d)


class Ticker(Timer):
    """Go's time.Ticker: ``tk.c`` receives every ``seconds``; a slow reader
    misses ticks (they are dropped, never queued)."""

    __slots__ = ()

    def __init__(self, seconds: float) -> None:
        d = _check_seconds(seconds, "Ticker")
        if d <= 0:
            raise ValueError(f"Ticker: period must be positive, got {seconds!r} (non-positive interval for NewTicker)")
        sched = _need_sched("Ticker")
        self.c = Chan(1)
        self._st = st = _TimerState(self.c, d, sched)
        _first_arm(st, d)

    def reset(self, seconds: float) -> bool:
        """Stop the ticker and restart it with period ``seconds``."""
        d = _check_seconds(seconds, "Ticker.reset")
        if d <= 0:
            raise ValueError(f"Ticker.reset: period must be positive, got {seconds!r}")
        return self._arm(d, d)


def after(seconds: float) -> Chan[float]:
    """A channel that receives ``time.monotonic()`` once, after ``seconds``.

    (Inside a synctest bubble: the bubble's clock, goroutines.testing.now().)
    """
    return Timer(seconds, _who="after").c


# ---------------------------------------------------------------------- after_func


_new_func_timer_lock = lock_kind("after_func timer lock", RANK_SYNC)


class _FuncTimerState:
    """An after_func timer's arming. ``lock`` guards ``armed`` and ``rt``
    (whose ``sched`` is the run it is armed in; lock order: ``lock``, then
    Sched.lock); ``fn``, ``args`` and
    ``ctx`` (the context variables of the after_func call) are immutable."""

    __slots__ = ("lock", "armed", "rt", "fn", "args", "ctx")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], sched: Sched) -> None:
        self.lock = _new_func_timer_lock()
        self.armed = -1  # the seq of the live arming, or -1
        self.rt = _RTimer(sched, _fire_func, self)  # rt.sched: the run it is armed in
        self.fn = fn
        self.args = args
        self.ctx = contextvars.copy_context()


def _fire_func(st: _FuncTimerState, seq: int) -> None:
    """An after_func timer fired (a runtime thread, no lock held): start
    ``fn`` in its own goroutine unless a stop or reset got there first."""
    with st.lock:
        if st.armed != seq:
            return  # stale: stopped or re-armed after this firing was due
        st.armed = -1
    try:
        # go() copies the context it is called in: fn's goroutine starts
        # from the after_func caller's context, as a goroutine from its
        # go() caller's (asyncio's call_later does the same). A fresh copy
        # per firing: two firings may overlap, and a Context is entered once.
        st.ctx.copy().run(go, st.fn, *st.args)
    except RuntimeError:
        pass  # the run is stopping: its goroutines are abandoned anyway


class _FuncTimer(Timer):
    """The Timer ``after_func`` returns: no channel (``c`` is None, as Go's
    ``C`` is nil); ``stop`` keeps ``fn`` from starting, ``reset`` schedules
    it (again)."""

    __slots__ = ("_fst",)

    def __init__(self, seconds: float, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        d = _check_seconds(seconds, "after_func")
        sched = _need_sched("after_func")
        self.c = None  # type: ignore[assignment]
        self._fst = st = _FuncTimerState(fn, args, sched)
        with st.lock:
            self._arm_locked(d)

    @locked_by("_fst.lock", "the after_func timer's lock")
    def _arm_locked(self, d: float) -> bool:
        """(Re-)arm to fire in ``d`` seconds; True if it was pending. st.lock held."""
        st = self._fst
        sched = st.rt.sched
        if sched.stopping:
            # Made in a run that has ended: move to the one running now.
            sched = _need_sched("Timer.reset")
            st.rt = _RTimer(sched, _fire_func, st)
        rt = st.rt
        was = st.armed != -1
        rt.reset(sched.clock.now() + max(d, 0.0))
        st.armed = rt.seq
        return was

    def stop(self) -> bool:
        """Keep ``fn`` from starting; True if it was pending, False if it had
        already been started (or stopped). Does not wait for a running ``fn``."""
        st = self._fst
        with st.lock:
            was = st.armed != -1
            st.armed = -1
            st.rt.stop()
        return was

    def reset(self, seconds: float) -> bool:
        """Start ``fn`` after ``seconds`` from now (again, if it already ran);
        True if it was pending."""
        d = _check_seconds(seconds, "Timer.reset")
        st = self._fst
        with st.lock:
            return self._arm_locked(d)

    def __repr__(self) -> str:
        st = self._fst
        state = "pending" if st.armed != -1 else "stopped or fired"
        return f"<Timer after_func({getattr(st.fn, '__qualname__', st.fn)!r}) {state}>"


def after_func(seconds: float, fn: Callable[..., Any], *args: Any) -> Timer:
    """Go's time.AfterFunc: start ``fn(*args)`` in its own goroutine after ``seconds``.

    ``fn`` is an ``async def`` function or a plain function, as for ``go``
    (a plain one runs as a goroutine with no scheduling points), started in
    a copy of the context variables of this call; an exception it raises
    ends the program, as any goroutine's. Returns a
    ``Timer`` with no channel (``c`` is None): ``stop()`` keeps ``fn`` from
    starting and returns True if it did so; ``reset(seconds)`` schedules
    ``fn`` again, even after it ran. Needs a running runtime.
    """
    if inspect.iscoroutine(fn):
        raise TypeError(
            "after_func: got a coroutine object; pass the function and its arguments "
            "(after_func(1.0, fn, x), not after_func(1.0, fn(x))): a timer may run it more than once"
        )
    if not callable(fn):
        raise TypeError(f"after_func: fn {fn!r} ({type(fn).__name__}) is not callable; pass a function")
    return _FuncTimer(seconds, fn, args)
