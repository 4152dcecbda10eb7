"""select: perform exactly one of several channel operations.

Go's selectgo, in three passes:

  1. Lock every channel of the select in one global order (by ``id``, each
     channel once), so two selects never deadlock on each other's locks.
  2. Find the cases that can proceed now; pick one uniformly at random and
     perform it. With none ready: ``default`` returns (-1, None, False).
     Random numbers come from the run's seeded source (the P's ``rand``),
     never the random module's global one: see gr.run(seed=).
  3. Otherwise queue a SelWaiter on every case's channel, in a random order
     when two cases share a channel (so source order gives no priority),
     all sharing one token, and park releasing all locks. The first channel
     operation to claim the token completes the select and leaves its result
     in ``G.param`` as ``(case, value, ok)``; the other waiters are stale and
     fall away (see _chan.py), so a woken select re-locks nothing.

With the C fast paths, ``await sel`` runs these steps in C (_speedups.c,
"select"; the same draws from the same generator) for the common shapes and
calls selectgo, from scratch, for the rest: selectgo is the reference, and
with ``_speedups.set_fast(False)`` the only definition in use.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

from ._chan import RecvOp, SendOp, _enq, _peek_live, _send_closed
from ._core import (
    CLOSED,
    WAIT_SELECT,
    M,
    _tls,
    block_forever,
    new_lock,
    no_goroutine,
    preempted,
    ready,
    speedups,
)

_random = random.random  # a plain thread's select only: not seeded


class _PySelectBase:
    """A select's fields, when the C fast paths are not there (with them:
    _speedups.SelectBase, the same fields as a C struct, whose ``await``
    runs selectgo's algorithm in C for the common shapes and calls
    selectgo below for the rest)."""

    __slots__ = ("ops", "active", "default")


if TYPE_CHECKING or speedups is None:
    _SelectBase = _PySelectBase
else:
    _SelectBase = speedups.SelectBase


class Select(_SelectBase):
    """The awaitable returned by :func:`select`."""

    __slots__ = ()

    def __init__(self, ops: tuple[Any, ...], active: Sequence[int], default: bool) -> None:
        self.ops = ops
        # Indices of the non-None cases, never mutated: a list here, a tuple
        # from the C select() (one shared tuple when no case is None).
        self.active = active
        self.default = default

    if TYPE_CHECKING:

        def __await__(self) -> Generator[Any, Any, tuple[int, Any, bool]]: ...

    # At run time ``await sel`` calls selectgo(sel) (set below): the
    # generator itself, no extra frame. With the C fast paths, SelectBase's
    # await does (see the end of this module).


def selectgo(sel: Select, waiter: Any = None) -> Generator[Any, Any, tuple[int, Any, bool]]:
    """The select algorithm: ``Select.__await__`` for the goroutine running
    on this thread, or, given a plain thread's ``waiter`` (``_blocking.py``
    drives it), for that thread: when it would park, the tuple of held
    locks it yields is then the thread's to release before it waits on its
    waiter."""
    m: M | None
    if waiter is None:
        try:
            m = _tls.m
        except AttributeError:
            raise no_goroutine("select()") from None
        if m.p is None:
            preempted(m)
        g = m.curg
        if g is None:
            raise no_goroutine("select()")
    else:
        m = None
        g = waiter
    ops = sel.ops
    active = sel.active
    default = sel.default
    if not active:
        if default:
            return -1, None, False
        # Go: a select with only nil cases blocks with reason "select";
        # one with no cases at all is "select (no cases)".
        yield from block_forever(WAIT_SELECT if ops else "select (no cases)")
        raise AssertionError("unreachable")  # pragma: no cover

    # The channels, each once, in lock order (by id).
    chans = []
    for i in active:
        ch = ops[i].chan
        if ch not in chans:
            chans.append(ch)
    if len(chans) > 1:
        chans.sort(key=id)
    locks = []
    for ch in chans:
        lk = ch._lock
        lk.acquire()
        locks.append(lk)

    # Pass 1: which cases can proceed? A send: the channel is closed (it
    # raises), a live receiver waits, or the buffer has room; a receive: a
    # value is buffered, the channel is closed, or a live sender waits.
    ready_cases = []
    for i in active:
        op = ops[i]
        ch = op.chan
        if type(op) is SendOp:
            if ch._closed or len(ch._buf) < ch._cap or _peek_live(ch, False):
                ready_cases.append(i)
        elif ch._buf or ch._closed or _peek_live(ch, True):
            ready_cases.append(i)
    while ready_cases:
        if len(ready_cases) == 1:
            k = 0
        else:
            k = int(_rand_of(m)() * len(ready_cases))
        i = ready_cases[k]
        op = ops[i]
        if type(op) is SendOp:
            st, wg = op.chan._poll_send(op.value)
            if st == 0:
                # Its only receivers were selects completed meanwhile.
                del ready_cases[k]
                continue
            _unlock(locks)
            if st < 0:
                raise _send_closed()
            if wg is not None:
                ready(wg, m)
            return i, None, True
        done, v, ok, wg = op.chan._poll_recv()
        if not done:
            del ready_cases[k]
            continue
        _unlock(locks)
        if wg is not None:
            ready(wg, m)
        return i, v, ok
    if default:
        _unlock(locks)
        return -1, None, False

    # Pass 2: queue on every case, in random order, and park.
    token = new_lock()
    active = list(active)  # a copy: shuffled below, and Select may be awaited again
    if len(chans) < len(active):
        # Two cases share a channel: which of them queues first there
        # must be random too (for distinct channels the order is moot).
        _shuffle(m, active)
    waits = []
    for i in active:
        op = ops[i]
        ch = op.chan
        send = type(op) is SendOp
        w = (g, i, op.value if send else None, token)
        _enq(ch, send, w)
        waits.append((ch, w))
    g.waitreason = WAIT_SELECT
    g.waitchan = tuple(waits)
    locks.reverse()
    i, v, ok = yield tuple(locks)
    if v is CLOSED:
        raise _send_closed()
    return i, v, ok


if speedups is None or TYPE_CHECKING:
    Select.__await__ = selectgo  # type: ignore[method-assign,assignment]


def _rand_of(m: M | None) -> Any:
    """The random source for this select: the P's, or, for an M whose P was
    just retaken, the run's shared one under its lock. Both are seeded from
    the run's seed (see _sched.P.rand), so a seeded run at GOMAXPROCS=1
    makes the same choices every time. A plain thread (``m`` None), which
    no seed makes deterministic, uses the random module's."""
    if m is None:
        return _random
    p = m.p
    if p is not None:
        return p.rand.random
    sched = m.sched

    def locked() -> float:
        with sched.rand_lock:
            return sched.rand.random()

    return locked


def _shuffle(m: M | None, xs: list[int]) -> None:
    """Shuffle ``xs`` with this select's random source (Fisher-Yates)."""
    rand = _rand_of(m)
    for i in range(len(xs) - 1, 0, -1):
        j = int(rand() * (i + 1))
        xs[i], xs[j] = xs[j], xs[i]


def _unlock(locks: list[Any]) -> None:
    for lk in reversed(locks):
        lk.release()


def select(*ops: SendOp[Any] | RecvOp[Any] | None, default: bool = False) -> Select:
    """Perform exactly one ready operation: ``i, v, ok = await select(...)``.

    Each argument is ``ch.send(v)``, ``ch.recv()``, ``ch.recv_ok()`` or None
    (a case that is never ready). With ``default=True`` and nothing ready it
    returns ``(-1, None, False)`` at once.
    """
    active = []
    for k, op in enumerate(ops):
        t = type(op)
        if t is SendOp:
            op._used = True  # type: ignore[union-attr]  # handed to select: not a forgotten await
            active.append(k)
        elif t is RecvOp:
            active.append(k)
        elif op is not None:
            raise TypeError(
                f"select: case {k} is {op!r} ({t.__name__}); each case must be an "
                "operation such as ch.send(v), ch.recv() or ch.recv_ok(), or None"
            )
    if type(default) is not bool:
        raise TypeError(f"select: default must be True or False, not {default!r}")
    return Select(ops, active, default)


if speedups is not None and not TYPE_CHECKING:
    # The same algorithm in C (_speedups.c, "select"): SelectBase's await
    # runs it for the common shapes and hands the rest to selectgo, from
    # scratch; the C select() makes a Select without a Python __init__ and
    # leaves every other call (and every error message) to this one.
    speedups.setup_select(selectgo, WAIT_SELECT, Select, select)
    select = speedups.select  # noqa: F811
