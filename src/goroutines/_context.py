"""context: cancellation, deadlines and request-scoped values (Go's package context).

A context forms a tree: ``background()`` is the root, ``with_cancel``,
``with_timeout``, ``with_deadline`` and ``with_value`` derive children.
Cancelling a context (its cancel function, its deadline, or its parent's
cancellation) closes its ``done()`` channel, sets ``err()``, and cancels
every context derived from it.

Causes (Go 1.21's ``WithCancelCause`` and ``Cause``): a context made by
``with_cancel_cause`` is cancelled with ``cancel(cause)``; ``cause(ctx)``
reads the cause of the nearest cancellable context at or above ``ctx``
(Go walks to it with ``Value(&cancelCtxKey)``; ``_lookup`` answers the
private ``_CANCEL_CTX_KEY`` the same way). A cancellation hands its cause
down to the contexts it cancels with it, so a child reports its parent's
cause; a context cancelled with no cause given (a plain cancel function, a
deadline) reports its own ``err()``. Only the first cancellation counts.

Locks: each cancellable context's ``_lock`` guards its ``_err``, ``_cause``,
``_done``, ``_children`` and ``_timer``. Lock order: a context's lock, then its done
channel's lock (close), then Sched.lock (timer disarm, waking goroutines).
A context never holds two context locks at once: cancelling a subtree
detaches the children under the parent's lock, then cancels them one by one
(iteratively, so a deep chain cannot overflow the stack). Channel and
runtime code never call into contexts, so the order has no cycle.

A context with a deadline owns one runtime timer, armed in the run that
created it (which must be running: ``RuntimeError`` otherwise); it is
disarmed and released as soon as the context is cancelled some other way.
While that timer is pending the runtime is not deadlocked, so a goroutine
waiting on ``ctx.done()`` is woken by the clock, never reported. Deadlines
are times of the run's clock (time.monotonic, or a synctest bubble's).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

from ._chan import Chan
from ._core import RANK_CONTEXT, Sched, current_sched, go, lock_kind, locked_by
from ._core import Timer as _RTimer
from ._errors import Canceled, ClosedChannelError, DeadlineExceeded

__all__ = [
    "CancelCauseFunc",
    "CancelFunc",
    "Context",
    "background",
    "cause",
    "todo",
    "with_cancel",
    "with_cancel_cause",
    "with_deadline",
    "with_timeout",
    "with_value",
]

CancelFunc = Callable[[], None]


# Ranked first (docs/design.md, "Locks"): cancelling closes the done channel under it.
_new_context_lock = lock_kind("context lock", RANK_CONTEXT)


class CancelCauseFunc(Protocol):
    """What ``with_cancel_cause`` returns beside the context: ``cancel(cause=None)``."""

    def __call__(self, cause: BaseException | None = None) -> None: ...


class _CancelCtxKey:
    """The private key whose value is the nearest cancellable context (Go's
    ``&cancelCtxKey``): how ``cause`` finds it even through a context type of
    the user's own that delegates ``value`` to one of ours."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<cancelCtxKey>"


_CANCEL_CTX_KEY: Any = _CancelCtxKey()

# Further than this (seconds, ~31 years) counts as "never": the timer is
# clamped so that thread waits stay within the platform's limits.
_MAX_DELAY = 1e9


class Context:
    """The interface every context offers (Go's context.Context).

    ``done()``: a channel closed when the context is cancelled (for a
    context that can never be cancelled, a channel that is never closed).
    ``err()``: None until cancelled, then a ``Canceled`` or
    ``DeadlineExceeded`` instance. ``value(key)``: the value bound to
    ``key`` here or in an ancestor, else None. ``deadline()``: the
    ``time.monotonic()`` time at which the context will be cancelled, or
    None.

    Subclass it to write your own; cancellation then propagates from it to
    derived contexts through a goroutine watching its ``done()`` channel.
    """

    __slots__ = ()

    def done(self) -> Chan[Any]:
        raise NotImplementedError

    def err(self) -> Exception | None:
        raise NotImplementedError

    def value(self, key: Any) -> Any:
        raise NotImplementedError

    def deadline(self) -> float | None:
        raise NotImplementedError

    def _cancel_ctx(self) -> _CancelCtx | _Foreign | None:
        """The nearest cancellable context of ours at or above this one:
        None when none can ever be cancelled, FOREIGN for a user's own
        context type (whose cancellation a goroutine must watch)."""
        return FOREIGN


class _Foreign:
    __slots__ = ()


FOREIGN = _Foreign()


def _lookup(c: Context, key: Any) -> Any:
    """``c.value(key)``, walking our own contexts without recursion."""
    while True:
        t = type(c)
        if t is _ValueCtx:
            assert isinstance(c, _ValueCtx)
            k = c._key
            if k is key or k == key:
                return c._val
            c = c._parent
        elif t is _CancelCtx or t is _TimerCtx:
            assert isinstance(c, _CancelCtx)
            if key is _CANCEL_CTX_KEY:
                return c
            c = c._parent
        elif t is _Background:
            return None
        else:
            return c.value(key)


def _deadline_of(c: Context) -> float | None:
    """``c.deadline()``, walking our own contexts without recursion."""
    while True:
        t = type(c)
        if t is _TimerCtx:
            assert isinstance(c, _TimerCtx)
            return c._deadline
        if t is _ValueCtx or t is _CancelCtx:
            assert isinstance(c, (_ValueCtx, _CancelCtx))
            c = c._parent
        elif t is _Background:
            return None
        else:
            return c.deadline()


class _Background(Context):
    """The root context: never cancelled, no values, no deadline."""

    __slots__ = ("_done", "_name")

    def __init__(self, name: str) -> None:
        self._done: Chan[Any] = Chan()
        self._name = name

    def done(self) -> Chan[Any]:
        return self._done

    def err(self) -> Exception | None:
        return None

    def value(self, key: Any) -> Any:
        return None

    def deadline(self) -> float | None:
        return None

    def _cancel_ctx(self) -> _CancelCtx | _Foreign | None:
        return None

    def __repr__(self) -> str:
        return f"context.{self._name}"


_BACKGROUND = _Background("Background")
_TODO = _Background("TODO")


def background() -> Context:
    """The root context: never cancelled; its ``done()`` is never closed."""
    return _BACKGROUND


def todo() -> Context:
    """Like ``background()``; marks code not yet given a real context (Go's TODO)."""
    return _TODO


class _CancelCtx(Context):
    """A context that can be cancelled (with_cancel), parent of its children."""

    __slots__ = ("_parent", "_lock", "_done", "_err", "_cause", "_children", "__weakref__")

    def __init__(self, parent: Context) -> None:
        self._parent = parent
        self._lock = _new_context_lock()
        self._done: Chan[Any] | None = None  # made on first done() or cancel
        self._err: Exception | None = None
        # The cause given to the cancellation that set _err (or handed down
        # from the parent's); None when none was given: cause() is then _err.
        self._cause: BaseException | None = None
        self._children: dict[_CancelCtx, None] | None = {}  # None once cancelled

    def done(self) -> Chan[Any]:
        d = self._done
        if d is not None:
            return d
        with self._lock:
            if self._done is None:
                self._done = Chan()
            return self._done

    def err(self) -> Exception | None:
        with self._lock:
            return self._err

    def value(self, key: Any) -> Any:
        if key is _CANCEL_CTX_KEY:
            return self
        return _lookup(self._parent, key)

    def deadline(self) -> float | None:
        return _deadline_of(self._parent)

    def _cancel_ctx(self) -> _CancelCtx | _Foreign | None:
        return self

    def _cause_now(self) -> BaseException | None:
        """What ``cause(self)`` is: the cause, else the err, else None."""
        with self._lock:
            return self._cause if self._cause is not None else self._err

    # -- cancellation

    def _cancel_one(self, err: Exception, cause: BaseException | None) -> list[_CancelCtx] | None:
        """Cancel this context alone; return its children to cancel next.

        None when it was already cancelled (its subtree was handled then).
        """
        with self._lock:
            if self._err is not None:
                return None
            self._err = err
            self._cause = cause
            d = self._done
            if d is None:
                self._done = d = Chan()
            # Closed under our lock: whoever sees err() set sees done() closed.
            try:
                d.close()
            except ClosedChannelError:
                pass  # the user closed done() by hand
            kids = self._children
            self._children = None
            self._release_timer_locked()
        return list(kids) if kids else []

    @locked_by("_lock", "the context's lock")
    def _release_timer_locked(self) -> None:
        """A deadline context disarms its timer here (self._lock held)."""

    def _cancel(self, remove_from_parent: bool, err: Exception, cause: BaseException | None = None) -> None:
        """Cancel this context and its whole subtree, handing ``cause`` down."""
        kids = self._cancel_one(err, cause)
        if kids is None:
            return
        errtype = type(err)
        stack = kids
        while stack:
            c = stack.pop()
            more = c._cancel_one(errtype(), cause)
            if more:
                stack.extend(more)
        if remove_from_parent:
            p = self._parent._cancel_ctx()
            if isinstance(p, _CancelCtx):
                p._remove_child(self)

    def _remove_child(self, child: _CancelCtx) -> None:
        with self._lock:
            if self._children is not None:
                self._children.pop(child, None)

    def _attach(self, child: _CancelCtx) -> tuple[Exception, BaseException | None] | None:
        """Register ``child`` to be cancelled with us; or our (err, cause) if
        we already are."""
        with self._lock:
            if self._err is not None:
                return self._err, self._cause
            assert self._children is not None
            self._children[child] = None
            return None

    def _name(self) -> str:
        return "WithCancel"

    def __repr__(self) -> str:
        return f"{self._parent!r}.{self._name()}"


class _TimerCtx(_CancelCtx):
    """A cancellable context that its runtime timer cancels at ``_deadline``."""

    __slots__ = ("_deadline", "_timer", "_sched")

    def __init__(self, parent: Context, deadline: float, sched: Sched) -> None:
        super().__init__(parent)
        self._deadline = deadline
        self._timer: _RTimer | None = None
        self._sched = sched

    def deadline(self) -> float | None:
        return self._deadline

    @locked_by("_lock", "the context's lock")
    def _release_timer_locked(self) -> None:
        t = self._timer
        if t is None:
            return
        self._timer = None
        t.stop()
        t.arg = None  # a firing already under way then cancels nothing (_deadline_fired)

    def _name(self) -> str:
        return f"WithDeadline(in {self._deadline - self._sched.clock.now():.6g}s)"


def _deadline_fired(ctx: _TimerCtx | None, seq: int) -> None:
    """Runtime timer callback (a runtime thread, no lock held)."""
    if ctx is not None:
        ctx._cancel(True, DeadlineExceeded())


class _ValueCtx(Context):
    """A context carrying one key/value pair."""

    __slots__ = ("_parent", "_key", "_val")

    def __init__(self, parent: Context, key: Any, val: Any) -> None:
        self._parent = parent
        self._key = key
        self._val = val

    def done(self) -> Chan[Any]:
        return self._parent.done()

    def err(self) -> Exception | None:
        return self._parent.err()

    def deadline(self) -> float | None:
        return _deadline_of(self._parent)

    def value(self, key: Any) -> Any:
        return _lookup(self, key)

    def _cancel_ctx(self) -> _CancelCtx | _Foreign | None:
        c: Context = self._parent
        while isinstance(c, _ValueCtx):
            c = c._parent
        return c._cancel_ctx()

    def __repr__(self) -> str:
        return f"{self._parent!r}.WithValue({self._key!r}, {self._val!r})"


# ---------------------------------------------------------------------- constructors


def _check_parent(parent: Any, who: str) -> Context:
    if not isinstance(parent, Context):
        raise TypeError(
            f"{who}: parent must be a context (goroutines.background() or one derived "
            f"from it), not {type(parent).__name__} ({parent!r})"
        )
    return parent


async def _watch(parent: Context, child: _CancelCtx) -> None:
    """Propagate a foreign parent's cancellation to ``child`` (Go does the same)."""
    from ._select import select

    i, _, _ = await select(parent.done().recv(), child.done().recv())
    if i == 0:
        perr = parent.err()
        child._cancel(False, DeadlineExceeded() if isinstance(perr, DeadlineExceeded) else Canceled(), _given_cause(parent))


def _propagate(parent: Context, child: _CancelCtx) -> None:
    """Arrange for ``child`` to be cancelled when ``parent`` is."""
    p = parent._cancel_ctx()
    if p is None:
        return  # the parent can never be cancelled
    if isinstance(p, _CancelCtx):
        done = p._attach(child)
        if done is not None:
            err, cause_ = done
            child._cancel(False, type(err)(), cause_)
        return
    # A context type of the user's own.
    d = parent.done()
    if d is None:
        return
    perr = parent.err()
    if perr is not None:
        child._cancel(False, DeadlineExceeded() if isinstance(perr, DeadlineExceeded) else Canceled(), _given_cause(parent))
        return
    try:
        go(_watch, parent, child)
    except RuntimeError:
        raise RuntimeError(
            f"context: {type(parent).__name__} is not a goroutines context; deriving from it "
            "needs a running goroutines runtime (a goroutine watches its done() channel)"
        ) from None


def _canceller(c: _CancelCtx) -> CancelFunc:
    def cancel() -> None:
        """Cancel the context and everything derived from it (idempotent)."""
        c._cancel(True, Canceled())

    return cancel


def with_cancel(parent: Context) -> tuple[Context, CancelFunc]:
    """A child of ``parent`` and the function that cancels it.

    ``cancel()`` closes ``ctx.done()``, sets ``ctx.err()`` to ``Canceled()``
    and cancels every context derived from ``ctx``; calling it again does
    nothing. Cancelling ``parent`` cancels ``ctx`` too. Works anywhere (no
    runtime needed).
    """
    _check_parent(parent, "with_cancel")
    c = _CancelCtx(parent)
    _propagate(parent, c)
    return c, _canceller(c)


def with_cancel_cause(parent: Context) -> tuple[Context, CancelCauseFunc]:
    """As ``with_cancel``, with a cancel function that records why.

    ``cancel(cause=None)`` cancels ``ctx`` (``ctx.err()`` is ``Canceled()``,
    as for ``with_cancel``) and records ``cause``, an exception instance,
    for ``cause(ctx)`` and for every context the cancellation reaches. With
    no cause, ``cause(ctx)`` is ``ctx.err()``. Only the first cancellation
    counts: a later ``cancel(other)`` changes nothing (Go's rule).
    """
    _check_parent(parent, "with_cancel_cause")
    c = _CancelCtx(parent)
    _propagate(parent, c)

    def cancel(cause: BaseException | None = None) -> None:
        """Cancel the context with ``cause`` (an exception, or None); idempotent."""
        if cause is not None and not isinstance(cause, BaseException):
            raise TypeError(
                f"cancel: cause must be an exception instance or None, not {type(cause).__name__} "
                f"({cause!r}); e.g. cancel(ValueError('bad input'))"
            )
        c._cancel(True, Canceled(), cause)

    return c, cancel


def _given_cause(ctx: Context) -> BaseException | None:
    """The cause to hand down from ``ctx``'s cancellation: the one given to
    it, or None (then each context cancelled with it reports its own err)."""
    cc = ctx.value(_CANCEL_CTX_KEY)
    if isinstance(cc, _CancelCtx):
        with cc._lock:
            return cc._cause
    return None


def cause(ctx: Context) -> BaseException | None:
    """Why ``ctx`` was cancelled (Go 1.21's ``context.Cause``).

    The cause given to ``cancel(cause)`` of the ``with_cancel_cause``
    context whose cancellation reached ``ctx`` (a context derived from it
    reports the same); else ``ctx.err()`` (``Canceled()``, or
    ``DeadlineExceeded()`` for a deadline); ``None`` while ``ctx`` is not
    cancelled. Any context works: one of ours is read at the nearest
    cancellable context at or above it, a context type of your own gives
    its ``err()``.
    """
    if not isinstance(ctx, Context):
        raise TypeError(f"cause: ctx must be a context, not {type(ctx).__name__} ({ctx!r})")
    cc = ctx.value(_CANCEL_CTX_KEY)
    if isinstance(cc, _CancelCtx):
        return cc._cause_now()
    return ctx.err()


def _need_sched(who: str) -> Sched:
    s = current_sched()
    if s is None or s.stopping:
        raise RuntimeError(
            f"{who} needs a running goroutines runtime (its deadline is a runtime timer); "
            "call it inside goroutines.run(...)"
        )
    return s


def _check_number(x: Any, who: str, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{who}: {what} must be a number, not {type(x).__name__} ({x!r})")
    f = float(x)
    if math.isnan(f):
        raise ValueError(f"{who}: {what} is NaN")
    return f


def with_deadline(parent: Context, deadline: float) -> tuple[Context, CancelFunc]:
    """As ``with_cancel``, and cancelled with ``DeadlineExceeded()`` at
    ``deadline`` (a ``time.monotonic()`` time; inside a synctest bubble, a
    time of its clock, goroutines.testing.now()).

    If ``parent``'s deadline is earlier, this is just ``with_cancel(parent)``.
    A deadline already past gives a context that is cancelled at once.
    Needs a running runtime (``RuntimeError`` otherwise).
    """
    return _with_deadline(parent, _check_number(deadline, "with_deadline", "deadline"), "with_deadline")


def with_timeout(parent: Context, seconds: float) -> tuple[Context, CancelFunc]:
    """``with_deadline(parent, time.monotonic() + seconds)`` (inside a
    synctest bubble: its clock, goroutines.testing.now(), + seconds)."""
    s = _check_number(seconds, "with_timeout", "seconds")
    _check_parent(parent, "with_timeout")
    return _with_deadline(parent, _need_sched("with_timeout").clock.now() + s, "with_timeout")


def _with_deadline(parent: Context, d: float, who: str) -> tuple[Context, CancelFunc]:
    _check_parent(parent, who)
    sched = _need_sched(who)
    cur = parent.deadline()
    if cur is not None and cur < d:
        # The parent's deadline comes first and cancels this one anyway.
        return with_cancel(parent)
    c = _TimerCtx(parent, d, sched)
    _propagate(parent, c)
    now = sched.clock.now()
    if d <= now:
        c._cancel(True, DeadlineExceeded())
        return c, _canceller(c)
    with c._lock:
        if c._err is None:  # not already cancelled by the parent
            t = _RTimer(sched, _deadline_fired, c)
            c._timer = t
            t.start(min(d, now + _MAX_DELAY))
    return c, _canceller(c)


def with_value(parent: Context, key: Any, value: Any) -> Context:
    """A child of ``parent`` in which ``ctx.value(key)`` is ``value``.

    ``key`` must be hashable and not None; use a private object or class as
    the key so that packages do not collide.
    """
    _check_parent(parent, "with_value")
    if key is None:
        raise TypeError("with_value: key is None; use a private object as the key")
    try:
        hash(key)
    except TypeError:
        raise TypeError(f"with_value: key {key!r} ({type(key).__name__}) is not hashable") from None
    return _ValueCtx(parent, key, value)
