"""run() and go(): starting and ending the one run of the process.

The run in progress is ``_runctx.current`` (a leaf, so lower layers can
find it); run() sets it and clears it. The only other module-level mutable
state is ``_last_seed``, the run's seed, kept after it ends so that a
failure can be reported with it, and the settings for the next run; all
are guarded by ``_runctx.current_lock`` (taken before, never under,
Sched.lock). One run at a time per process.
"""

from __future__ import annotations

import inspect
import os
import random
import signal
import sys
import sysconfig
import threading
import time
import types
from collections.abc import Callable
from typing import Any

from .._errors import Deadlock
from . import _runctx
from ._cext import new_lock, speedups
from ._cpus import available_cpus
from ._debug import RunHooks
from ._g import DEAD, RUNNING, SYSCALL, WAITING, G
from ._lifecycle import GFREE_MAX, newproc
from ._mstart import _tls, current_g, current_m, mstart
from ._plain import mark_runtime_thread
from ._runctx import current_sched
from ._sched import LOCAL_RUNQ, Sched
from ._schedule import unhook
from ._sysmon import sysmon
from ._timers import Clock
from ._traceback import GoroutineInfo, snapshot
from ._traceback import dump as _dump

# The seed of the run in progress or the last one (guarded by _runctx.current_lock).
_last_seed: int | None = None

# Process-wide settings for the next run (guarded by _runctx.current_lock).
_default_procs: int | None = None
_max_threads = 10_000

_CO_COROUTINE = inspect.CO_COROUTINE
_CO_ASYNC_GEN = inspect.CO_ASYNC_GENERATOR
_MAX_PROCS = 1024
_FunctionType = types.FunctionType
_getframe = sys._getframe


def free_threaded() -> bool:
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED")) and not getattr(
        sys, "_is_gil_enabled", lambda: True
    )()


def default_gomaxprocs() -> int:
    """The documented default: 1 under the GIL; without it, the CPUs this
    process may use (affinity mask and cgroup CPU limit, as Go 1.25; see
    _cpus.py).

    Under the GIL only one thread runs Python at a time, so a second M
    running goroutines only adds lock hand-offs (bench/: W1 and W2 are
    slower at 2); blocking calls are covered at any setting by the hand-off
    to other threads. On a free-threaded build Ms run in parallel.
    """
    if free_threaded():
        return min(available_cpus(), _MAX_PROCS)
    return 1


def _procs_from_env() -> int | None:
    raw = os.environ.get("GOMAXPROCS")
    if raw is None or raw.strip() == "":
        return None
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(
            f"GOMAXPROCS={raw!r} is not a whole number; set it to a count such as 2, or unset it"
        ) from None
    if n < 1:
        return None
    return min(n, _MAX_PROCS)


def check_procs(n: Any, who: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{who}: gomaxprocs must be an int, not {type(n).__name__} ({n!r})")
    if n > _MAX_PROCS:
        raise ValueError(f"{who}: gomaxprocs={n} is more than the limit of {_MAX_PROCS}")
    return n


def _is_coro_fn(fn: Any) -> bool:
    code = getattr(fn, "__code__", None)
    if code is None:
        func = getattr(fn, "__func__", None)
        code = getattr(func, "__code__", None)
    if code is not None:
        if code.co_flags & _CO_ASYNC_GEN:
            raise TypeError(
                f"{getattr(fn, '__qualname__', fn)!r} is an async generator function; a "
                "goroutine runs an async def function (use 'async for' inside one instead)"
            )
        return bool(code.co_flags & _CO_COROUTINE)
    return False


async def _call_plain(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    # A plain function that returns an awaitable meant it to run: Go's
    # ``go func() { ch <- x }()`` is ``go(lambda: ch.send(x))`` here, and
    # ``go(lambda: worker(x))`` returns the coroutine. Dropping it would
    # lose the send (or the whole goroutine) without a word, so the
    # goroutine awaits it: a coroutine, an operation object, a select.
    result = fn(*args, **kwargs)
    if isinstance(result, types.CoroutineType) or hasattr(type(result), "__await__"):
        return await result
    return result


def make_coro(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], who: str) -> tuple[Any, str]:
    """The coroutine a goroutine runs, and the name of its entry function."""
    if isinstance(fn, types.CoroutineType):
        if args or kwargs:
            raise TypeError(f"{who}: got a coroutine object and arguments; pass the function and its arguments instead")
        if fn.cr_frame is None or fn.cr_running or fn.cr_frame.f_lasti >= 0 and fn.cr_await is not None:
            raise RuntimeError(f"{who}: coroutine {fn.__qualname__} has already started or finished")
        return fn, fn.__qualname__
    if not callable(fn):
        raise TypeError(
            f"{who}: {fn!r} ({type(fn).__name__}) is not callable; pass an async def "
            "function (or a coroutine object), e.g. go(worker, ch)"
        )
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    if _is_coro_fn(fn):
        coro = fn(*args, **kwargs)
        if isinstance(coro, types.CoroutineType):
            return coro, name
        return _call_plain(lambda: coro, (), {}), name
    return _call_plain(fn, args, kwargs), name


class Goroutine:
    """The handle go() returns. go() sets ``id`` itself: an __init__ call
    would be a measurable part of a spawn."""

    __slots__ = ("id",)
    id: int

    def __repr__(self) -> str:
        return f"<goroutine {self.id}>"


# The C getter of the current M (what _tls.m holds), a tenth of the cost.
_c_current_m: Callable[[], Any] | None = speedups.current_m if speedups is not None else None


def go(fn: Any, /, *args: Any, **kwargs: Any) -> Goroutine:
    """Start ``fn(*args, **kwargs)`` as a new goroutine; return at once."""
    if _c_current_m is not None:
        m = _c_current_m()
    else:
        try:
            m = _tls.m
        except AttributeError:
            m = None
    sched = m.sched if m is not None else _runctx.current
    if sched is None or sched.stopping:
        raise RuntimeError(
            "go: no goroutines runtime is running; start one with goroutines.run(main) "
            "and call go() from inside it"
        )
    if type(fn) is _FunctionType and fn.__code__.co_flags & _CO_COROUTINE:
        # An async def function (the usual case): what make_coro would do.
        # (A call with **kwargs copies the dict even when it is empty.)
        coro = fn(*args, **kwargs) if kwargs else fn(*args)
        entry = fn.__qualname__ or "function"
    else:
        coro, entry = make_coro(fn, args, kwargs, "go")
    f = _getframe(1)
    g = newproc(sched, m, coro, entry, f.f_code, f.f_lasti, f.f_globals.get("__name__", ""))
    h = Goroutine()
    h.id = g.id
    return h


if speedups is not None:
    # go() in C for its common case (an async def function, on an M); it
    # calls the go() above for everything else, and newproc for whatever
    # its own newproc step does not do (see _speedups.c, "spawn and exit").
    speedups.setup_spawn(Sched, G, Goroutine, go, newproc, new_lock, DEAD, LOCAL_RUNQ, GFREE_MAX)
    go = speedups.go  # noqa: F811


def check_seed(seed: Any, who: str) -> int:
    """``seed`` as given to run(), else GOROUTINES_SEED, else a fresh one."""
    if seed is None:
        raw = os.environ.get("GOROUTINES_SEED")
        if raw is None or raw.strip() == "":
            # Recorded (last_seed) so that a failure can be rerun with it.
            return random.SystemRandom().getrandbits(63)
        try:
            return int(raw.strip(), 0)
        except ValueError:
            raise ValueError(
                f"GOROUTINES_SEED={raw!r} is not a whole number; set it to the seed a failing "
                "run printed (e.g. GOROUTINES_SEED=12345), or unset it"
            ) from None
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{who}: seed must be an int or None, not {type(seed).__name__} ({seed!r})")
    return seed


def last_seed() -> int | None:
    """The seed of the run in progress, else of the last run that started."""
    with _runctx.current_lock:
        return _last_seed


def run(main: Any, /, *args: Any, gomaxprocs: int | None = None, seed: int | None = None) -> Any:
    """Run ``main(*args)`` as goroutine 1 on a new runtime; return its result.

    ``seed`` (else GOROUTINES_SEED, else a random one, see last_seed())
    seeds every random choice the runtime makes (select's), so that at
    gomaxprocs=1 a program with no I/O and no unannotated blocking runs the
    same interleaving every time.
    """
    return start(main, args, gomaxprocs, seed, None, 2)


def start(main: Any, args: tuple[Any, ...], gomaxprocs: int | None, seed: int | None, clock: Clock | None,
          depth: int) -> Any:
    """run() and goroutines.testing.synctest(): ``clock`` None is the real
    clock; ``depth`` is how many frames up the caller of the public
    function is (goroutine 1's "created by")."""
    global _last_seed
    if gomaxprocs is not None:
        n = check_procs(gomaxprocs, "run")
        if n < 1:
            raise ValueError(f"run: gomaxprocs={n} must be at least 1")
    else:
        n = _procs_from_env() or _default_procs or default_gomaxprocs()
    s = check_seed(seed, "run")
    coro, entry = make_coro(main, args, {}, "run")
    with _runctx.current_lock:
        if _runctx.current is not None or current_m() is not None:
            coro.close()
            raise RuntimeError(
                "run: a goroutines runtime is already running in this process; "
                "start more goroutines with go() instead of calling run() again"
            )
        sched = Sched(n, _max_threads, s, clock, mstart)
        _runctx.current = sched
        _last_seed = s
    f = sys._getframe(depth)
    hooks = RunHooks(sched)  # SIGQUIT dump, schedtrace, tracer (see _debug.py)
    try:
        try:
            hooks.start()
            newproc(sched, None, coro, entry, f.f_code, f.f_lasti)
            if os.environ.get("GOROUTINES_SYSMON", "1") != "0":
                # GOROUTINES_SYSMON=0 turns the monitor off (for measuring
                # what it costs); unannotated blocking calls then stall.
                mon = threading.Thread(
                    target=sysmon, args=(sched,), name="goroutines-sysmon", daemon=True
                )
                mark_runtime_thread(mon)
                sched.sysmon_thread = mon
                mon.start()
            _wait_done(sched)
        except BaseException as e:  # KeyboardInterrupt on the main thread, even at start
            with sched.lock:
                sched.stop_locked(exc=e)
    finally:
        hooks.stop()
        _shutdown(sched)
        with _runctx.current_lock:
            _runctx.current = None
    out = sched.outcome
    if out.exc is not None:
        raise out.exc
    if out.deadlock is not None:
        raise Deadlock(out.deadlock)
    return out.result


def _wait_done(sched: Sched) -> None:
    """Wait until stop_locked() releases ``sched.done``; on the main thread,
    run the program's signal handlers (SIGQUIT's dump, SIGINT) meanwhile.

    CPython's C-level handler only marks a signal pending; the Python
    handler runs when the main thread next executes bytecode, or when the
    signal interrupts the call it blocks in. A signal that lands while the
    main thread is on its way back to sleep (just after running an earlier
    handler, say) interrupts nothing: blocked in ``done.acquire()`` the
    thread would sleep with the handler unrun until something else woke
    it. So the main thread sleeps in read() on a pipe that is at once
    signal.set_wakeup_fd()'s (the C handler writes the signal number to it
    after marking the signal pending, whenever and on whichever thread the
    signal lands) and ``sched.done_fd`` (stop_locked() writes a 0 after
    releasing done). Bytes that are signal numbers are passed on to the
    wakeup fd the program had set, if any, which is put back afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        sched.done.acquire()  # no Python signal handler runs on this thread
        return
    r, w = os.pipe()
    try:
        os.set_blocking(w, False)  # set_wakeup_fd() demands it; a full pipe drops bytes
        try:
            prev = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        except ValueError:  # the main thread of another interpreter
            sched.done.acquire()
            return
        try:
            with sched.lock:
                sched.done_fd = w
            # Checked before every read: a release before done_fd was set
            # is seen here, one after it leaves a byte in the pipe.
            while not sched.done.acquire(False):
                got = os.read(r, 512)  # pending handlers run as this call returns
                sigs = got.replace(b"\0", b"")
                if sigs and prev >= 0:
                    try:
                        os.write(prev, sigs)
                    except OSError:  # full or closed: what the C handler does then too
                        pass
        finally:
            with sched.lock:
                sched.done_fd = -1
            signal.set_wakeup_fd(prev)
    finally:
        os.close(r)
        os.close(w)


def _shutdown(sched: Sched) -> None:
    """Stop every M and sysmon; unhook abandoned goroutines from channels."""
    with sched.lock:
        sched.stop_locked()
        abandoned = [g for g in sched.allgs.values() if g.status == WAITING]
        ms = list(sched.allm)
    for g in abandoned:
        unhook(g)
    mon = sched.sysmon_thread
    if mon is not None and mon.ident is not None:
        mon.join(1.0)
    # Ms in the scheduler exit at once; an M inside a goroutine's own code (a
    # blocking call, an endless loop) cannot be stopped: it gets a short
    # grace and is then left behind as a daemon thread that exits when that
    # code returns to the scheduler.
    t0 = time.monotonic()
    for m in ms:
        budget = (2.0 if m.curg is None else 0.05) - (time.monotonic() - t0)
        if not m.started.is_set():
            # On allm but not started yet: its waker starts it right after
            # releasing Sched.lock, and it exits at once (the run stopped).
            # (Joining a thread before it has started is an error.)
            m.started.wait(max(0.0, budget))
            if not m.started.is_set():
                continue
        t = m.thread
        if t is None or t is threading.current_thread():
            continue
        t.join(max(0.0, budget))
    with sched.lock:
        atstop = list(sched.atstop)
        sched.atstop.clear()
    for fn in atstop:
        # The asyncio loop thread (_aio.py): its tasks are cancelled and it
        # is joined before the goroutines waiting on them are closed below.
        try:
            fn()
        except Exception:  # noqa: BLE001, S110 - shutting down regardless
            pass
    with sched.lock:
        leftover = [g for g in sched.allgs.values() if g.status not in (RUNNING, SYSCALL)]
        sched.allgs.clear()
        sched.gfree.clear()
        sched.runq.clear()
        for p in sched.allp:
            p.runnext.clear()
            p.runq.clear()
        np = sched.netpoll
    # Abandoned goroutines end here, on this thread, as Go's end when main
    # returns: one that never started runs nothing (and no "never awaited"
    # warning); one parked gets GeneratorExit so its finally blocks run, and
    # whatever they raise is dropped. One still running on an M is left be.
    for g in leftover:
        coro = g.coro
        ctx = g.ctx
        g.coro = None
        g.ctx = None
        if coro is not None:
            sl = g.stacklock  # close() runs the G's code (see _g.py)
            if sl is not None:
                sl.acquire()
            try:
                # Its finally blocks see the goroutine's context variables.
                if ctx is not None:
                    ctx.run(coro.close)
                else:
                    coro.close()
            except BaseException:  # noqa: BLE001, S110 - abandoned, as in Go
                pass
            finally:
                if sl is not None:
                    sl.release()
        # G records are not GC-tracked (_lifecycle): drop what could lead back.
        g.param = None
        g.waitchan = None
    if np is not None:
        np.close()


# ---------------------------------------------------------------------- introspection


def gomaxprocs(n: int | None = None) -> int:
    """Read, or set and return the previous, GOMAXPROCS (``n < 1`` reads)."""
    global _default_procs
    if n is not None:
        check_procs(n, "gomaxprocs")
    sched = current_sched()
    if sched is None:
        with _runctx.current_lock:
            prev = _procs_from_env() or _default_procs or default_gomaxprocs()
            if n is not None and n >= 1:
                _default_procs = n
        return prev
    from ._sched import wake_m

    with sched.lock:
        prev = sched.gomaxprocs
        towake = sched.set_gomaxprocs_locked(n) if n is not None and n >= 1 and n != prev else []
    for m in towake:
        wake_m(m)
    return prev


def set_max_threads(n: int) -> int:
    """Set the cap on runtime threads for later runs; returns the previous one."""
    global _max_threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_max_threads: need a positive int, got {n!r}")
    with _runctx.current_lock:
        prev = _max_threads
        _max_threads = n
        s = _runctx.current
    if s is not None:
        with s.lock:
            s.max_threads = n
    return prev


def num_goroutine() -> int:
    sched = current_sched()
    return 0 if sched is None else sched.num_goroutine()


def goroutines() -> list[GoroutineInfo]:
    sched = current_sched()
    if sched is None:
        return []
    return snapshot(sched)


def dump() -> str:
    sched = current_sched()
    if sched is None:
        return ""
    g = current_g()
    return _dump(sched, current=g.id if g is not None else 0)
