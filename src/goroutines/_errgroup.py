"""ErrGroup: Go's errgroup.WithContext (golang.org/x/sync/errgroup).

    g = gr.ErrGroup(parent)
    for url in urls:
        g.go(fetch, g.ctx, url)
    await g.wait()          # None, or raises the first exception

A goroutine of the group "returns an error" by raising an ``Exception``:
the first one is kept, and cancels ``g.ctx`` with it as the cause
(``gr.cause(g.ctx) is exc``); later ones are dropped, as Go drops later
errors. ``await g.wait()`` waits for every goroutine started with ``go`` or
``try_go``, then cancels ``g.ctx`` (cause: the first exception, or none) and
raises that first exception object, or returns None. A ``BaseException``
that is not an ``Exception`` (KeyboardInterrupt, SystemExit) is not an error
return: it escapes the goroutine and ends the program, as a Go panic does.

The limit. ``g.set_limit(n)`` allows at most ``n`` goroutines of the group
to be active; Go's ``g.Go`` then blocks its caller until a slot is free.
A call cannot block a goroutine in Python without ``await``, so ``g.go``
returns an awaitable, and:

* with no limit set, ``g.go(...)`` starts the goroutine at once, in the
  call; awaiting what it returns is allowed and does nothing;
* with a limit set, ``g.go(...)`` starts nothing by itself: ``await
  g.go(...)`` waits (FIFO, wait reason ``errgroup.Group.Go``) for a slot and
  then starts the goroutine. The rule does not depend on whether a slot
  happens to be free, so a forgotten ``await`` fails every time, not only
  under load: the un-awaited call, once dropped, warns (RuntimeWarning) and
  makes ``g.wait()`` raise ``RuntimeError`` naming it instead of waiting
  without it. (An op merely not awaited *yet* is not an error: another
  goroutine may call ``wait`` between a ``g.go(...)`` call and its ``await``.)

``g.try_go(...)`` never waits: it starts the goroutine if a slot is free
(always, with no limit) and says whether it did. ``set_limit`` while
goroutines hold slots raises ``RuntimeError`` (Go panics); a negative ``n``
removes the limit; 0 would block every ``go`` forever and is a
``ValueError``. As in Go, ``set_limit`` is meant to be called before the
group is used, not concurrently with ``go``.

Locks: ``_lock`` (from ``lock_kind()``) guards ``_err`` and the writes of
``_sem``; it is a leaf (cancelling ``ctx`` and starting goroutines happen
after its release). ``go`` and ``try_go`` read ``_sem`` without it: one
attribute read sees the old or the new semaphore, and ``set_limit``, as in
Go, is not meant to run concurrently with them. ``_lost`` is appended to by finalisers, which must take no lock
(one may run while this thread holds ``_lock``): a list's append is atomic
on both builds. The slots are a ``Semaphore`` (its own lock), the
count of goroutines a ``WaitGroup`` (its own lock).
"""

from __future__ import annotations

import inspect
import types
import warnings
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from ._context import CancelCauseFunc, Context, background, with_cancel_cause
from ._core import RANK_SYNC, WAIT_ERRGROUP_GO, WAIT_ERRGROUP_WAIT, current, go, lock_kind
from ._errors import check_int
from ._semaphore import Semaphore, _Acquire
from ._sync import WaitGroup, _WaitGroupWait

__all__ = ["ErrGroup"]


def _check_fn(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], who: str) -> None:
    if type(fn) is types.FunctionType:
        return
    if isinstance(fn, types.CoroutineType):
        if args or kwargs:
            raise TypeError(f"{who}: got a coroutine object and arguments; pass the function and its arguments instead")
        return
    if not callable(fn):
        raise TypeError(
            f"{who}: {fn!r} ({type(fn).__name__}) is not callable; pass an async def function "
            "and its arguments, e.g. g.go(fetch, url)"
        )


async def _member(grp: ErrGroup, sem: Semaphore | None, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """The body of each goroutine of the group."""
    try:
        if type(fn) is types.CoroutineType:
            r = fn
        else:
            r = fn(*args, **kwargs) if kwargs else fn(*args)
        if type(r) is types.CoroutineType or inspect.isawaitable(r):
            await r
    except Exception as e:  # an error return; a BaseException is a panic
        grp._fail(e)
    finally:
        if sem is not None:
            sem.release(1)
        grp._wg.done()


_new_errgroup_lock = lock_kind("ErrGroup lock", RANK_SYNC)


class _Started:
    """What ``g.go`` returns when it started the goroutine in the call."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, Any, None]:
        return
        yield  # pragma: no cover - makes this a generator

    def __repr__(self) -> str:
        return "<ErrGroup.go: started>"


_STARTED = _Started()

# _GoOp states
_PENDING = 0  # made, never awaited
_WAITING = 1  # awaited: waiting for a slot
_DONE = 2  # started its goroutine, or gave up (abandoned, failed to start)


class _GoOp:
    """``await g.go(...)`` with a limit set: wait for a slot, then start.

    ``state`` is touched only by the goroutine awaiting the op (and its
    finaliser once nothing references it).
    """

    __slots__ = ("grp", "sem", "fn", "args", "kwargs", "state")

    def __init__(self, grp: ErrGroup, sem: Semaphore, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.grp = grp
        self.sem = sem
        # Dropped once awaited: the op keeps no reference to what it started.
        self.fn: Any = fn
        self.args: tuple[Any, ...] | None = args
        self.kwargs: dict[str, Any] | None = kwargs
        self.state = _PENDING

    def _name(self) -> str:
        fn = self.fn
        return getattr(fn, "__qualname__", None) or repr(fn)

    def __await__(self) -> Generator[Any, Any, None]:
        if self.state != _PENDING:
            return  # already started (or given up): nothing more to do
        current("ErrGroup.go()")
        grp = self.grp
        self.state = _WAITING
        fn, args, kwargs = self.fn, self.args, self.kwargs
        self.fn = self.args = self.kwargs = None
        try:
            if not self.sem.try_acquire(1):  # a slot free and nobody queued: no park
                yield from _Acquire(self.sem, 1, WAIT_ERRGROUP_GO).__await__()
        finally:
            self.state = _DONE
        assert args is not None and kwargs is not None
        grp._start(self.sem, fn, args, kwargs)

    def __del__(self) -> None:
        if self.state == _PENDING:
            fn = self.fn
            if isinstance(fn, types.CoroutineType):
                fn.close()  # no second "never awaited" warning for it
            self.grp._lost.append(self._name())  # no lock: see the module docstring
            warnings.warn(
                f"ErrGroup.go({self._name()}) was never awaited, so its goroutine never started; "
                "with a limit set, write `await g.go(...)`",
                RuntimeWarning,
                stacklevel=1,
            )

    def __repr__(self) -> str:
        state = ("pending (not awaited)", "waiting for a slot", "done")[self.state]
        return f"<ErrGroup.go op {state}>"


class ErrGroup:
    """Go's ``errgroup.WithContext``: goroutines working on one task, the
    first failure cancelling the rest (see the module docstring).

    ``g.ctx`` is derived from ``parent`` (default ``background()``) with
    ``with_cancel_cause``. A plain object: it may be created anywhere, but
    ``go`` starts goroutines, so needs a running runtime.
    """

    __slots__ = ("ctx", "_cancel", "_lock", "_wg", "_sem", "_err", "_lost")

    def __init__(self, parent: Context | None = None) -> None:
        if parent is None:
            parent = background()
        elif not isinstance(parent, Context):
            raise TypeError(
                f"ErrGroup: parent must be a context (goroutines.background() or one derived "
                f"from it) or None, not {type(parent).__name__} ({parent!r})"
            )
        self.ctx: Context
        self._cancel: CancelCauseFunc
        self.ctx, self._cancel = with_cancel_cause(parent)
        self._lock = _new_errgroup_lock()
        self._wg = WaitGroup()
        self._sem: Semaphore | None = None  # the slots, when a limit is set
        self._err: Exception | None = None  # the first error
        self._lost: list[str] = []  # go() ops made with a limit, dropped unawaited

    # -- starting goroutines

    def go(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Awaitable[None]:
        """Run ``fn(*args, **kwargs)`` in a new goroutine of the group.

        With no limit it starts now (awaiting the result does nothing); with
        a limit, ``await g.go(...)`` waits for a slot and then starts it.
        """
        _check_fn(fn, args, kwargs, "ErrGroup.go")
        sem = self._sem  # read without the lock: see the module docstring
        if sem is None:
            self._start(None, fn, args, kwargs)
            return _STARTED
        return _GoOp(self, sem, fn, args, kwargs)

    def try_go(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> bool:
        """Start ``fn(*args, **kwargs)`` in the group if a slot is free now
        (always, with no limit); whether it did. Never waits."""
        _check_fn(fn, args, kwargs, "ErrGroup.try_go")
        sem = self._sem  # read without the lock: see the module docstring
        if sem is not None and not sem.try_acquire(1):
            return False
        self._start(sem, fn, args, kwargs)
        return True

    def _start(self, sem: Semaphore | None, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Start a member holding one slot of ``sem`` (if any)."""
        self._wg.add(1)
        try:
            go(_member, self, sem, fn, args, kwargs)
        except BaseException:
            self._wg.done()
            if sem is not None:
                sem.release(1)
            if isinstance(fn, types.CoroutineType):
                fn.close()
            raise

    def _fail(self, e: Exception) -> None:
        with self._lock:
            if self._err is not None:
                return
            self._err = e
        self._cancel(e)

    # -- limit

    def set_limit(self, n: int) -> None:
        """At most ``n`` goroutines of the group active at once; ``n < 0``: no limit.

        ``RuntimeError`` while goroutines hold slots of the current limit
        (Go panics); ``ValueError`` for 0, which would block every ``go``.
        """
        check_int(n, "ErrGroup.set_limit", "n")
        if n == 0:
            raise ValueError(
                "ErrGroup.set_limit(0) would make every go() wait forever; "
                "give a positive limit, or a negative n for no limit"
            )
        with self._lock:
            sem = self._sem
            if sem is not None and sem.held:
                raise RuntimeError(
                    f"errgroup: modify limit while {sem.held} goroutines in the group are still active; "
                    "call set_limit before starting goroutines, or after wait()"
                )
            self._sem = Semaphore(n) if n > 0 else None

    # -- waiting

    async def wait(self) -> None:
        """Wait for every goroutine of the group; raise the first exception
        one of them raised (that object), else return None. Cancels ``ctx``."""
        lost = self._lost
        if lost:
            raise RuntimeError(
                f"ErrGroup.wait: {len(lost)} go() call(s) made while a limit was set were never awaited, "
                f"so their goroutines never started ({', '.join(sorted(set(lost)))}); write `await g.go(...)`"
            )
        await _WaitGroupWait(self._wg, WAIT_ERRGROUP_WAIT)
        with self._lock:
            err = self._err
        self._cancel(err)
        if err is not None:
            raise err

    def __repr__(self) -> str:
        sem = self._sem
        limit = f" limit={sem.size} active={sem.held}" if sem is not None else ""
        return f"<ErrGroup goroutines={self._wg.count}{limit} err={self._err!r}>"
