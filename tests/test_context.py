"""Issue 4 (context): background, with_cancel, with_timeout, with_deadline, with_value.

The contract: cancelling a context cancels its whole subtree; ``err()`` is
None until cancelled, then a ``gr.Canceled`` or ``gr.DeadlineExceeded``
instance; ``done()`` is a ``gr.Chan`` closed on cancel (background's never);
a context's timer is released when it is cancelled early; with_deadline
takes a ``time.monotonic()`` deadline; a goroutine waiting on a context with
a pending deadline is not deadlocked; contexts with a deadline need a
running runtime, the others work anywhere.

Time bounds are generous (a loaded two-core machine): a deadline must not
fire early, and must fire within seconds, never "exactly on time". Tests of
the rules rather than of real waiting run in a synctest bubble
(``@pytest.mark.goroutines(synctest=True)``), where times are exact.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from typing import Any

import pytest

import goroutines as gr
from goroutines import _context
from goroutines import testing as grt
from goroutines._core import current_sched
from goroutines._sync import WaitGroup

try:  # the public names, once goroutines/__init__.py exports them
    from goroutines import (  # type: ignore[attr-defined]
        Context,
        background,
        with_cancel,
        with_deadline,
        with_timeout,
        with_value,
    )
except ImportError:  # pragma: no cover - until the exports land
    from goroutines._context import (
        Context,
        background,
        with_cancel,
        with_deadline,
        with_timeout,
        with_value,
    )

pytestmark = [pytest.mark.usefixtures("no_leaked_runtime_threads"), pytest.mark.timeout(60)]

PROCS = [1, 4]
SYNC_PROCS = [pytest.param(p, marks=pytest.mark.goroutines(synctest=True, gomaxprocs=p), id=str(p)) for p in PROCS]
SLACK = 5.0  # seconds a deadline may be late on a loaded machine


def is_closed(ch: gr.Chan[Any]) -> bool:
    return ch.closed


def test_public_exports() -> None:
    names = ["Context", "background", "with_cancel", "with_timeout", "with_deadline", "with_value"]
    missing = [n for n in names if not hasattr(gr, n)]
    if missing:
        pytest.skip(f"goroutines/__init__.py does not export {missing} yet")
    for n in names:
        assert getattr(gr, n) is getattr(_context, n)


# ====================================================================== background


def test_background_is_never_cancelled() -> None:
    bg = background()
    assert isinstance(bg, Context)
    assert bg is background()
    assert bg.err() is None
    assert bg.value("anything") is None
    assert bg.deadline() is None
    assert isinstance(bg.done(), gr.Chan)
    assert bg.done() is bg.done()
    assert not is_closed(bg.done())

    async def main() -> tuple[int, Any, bool]:
        return await gr.select(bg.done().recv(), default=True)

    assert gr.run(main) == (-1, None, False)


def test_waiting_on_background_done_alone_is_a_deadlock() -> None:
    async def main() -> None:
        await background().done().recv()

    with pytest.raises(gr.Deadlock) as ei:
        gr.run(main)
    assert "goroutine 1 [chan receive]" in str(ei.value)


# ====================================================================== with_cancel


def test_with_cancel_outside_a_run() -> None:
    ctx, cancel = with_cancel(background())
    assert ctx.err() is None
    d = ctx.done()
    assert not is_closed(d)
    cancel()
    assert is_closed(d)
    assert ctx.done() is d
    err = ctx.err()
    assert isinstance(err, gr.Canceled)
    assert not isinstance(err, gr.DeadlineExceeded)
    assert str(err) == "context canceled"
    cancel()  # idempotent
    assert ctx.err() is err


def test_cancel_before_done_is_called_gives_a_closed_channel() -> None:
    ctx, cancel = with_cancel(background())
    cancel()
    assert is_closed(ctx.done())


@pytest.mark.parametrize("procs", PROCS)
def test_cancel_wakes_goroutines_waiting_on_done(procs: int, wait: Any) -> None:
    async def main() -> list[Any]:
        ctx, cancel = with_cancel(background())
        out = gr.Chan(5)

        async def waiter() -> None:
            v, ok = await ctx.done().recv_ok()
            await out.send((ok, type(ctx.err()).__name__))

        ids = [gr.go(waiter).id for _ in range(5)]
        await wait.all_parked(ids, "chan receive")
        assert ctx.err() is None
        cancel()
        return [await out.recv() for _ in range(5)]

    assert gr.run(main, gomaxprocs=procs) == [(False, "Canceled")] * 5


def test_cancel_cancels_the_subtree_only() -> None:
    root, cancel_root = with_cancel(background())
    a, cancel_a = with_cancel(root)
    a1, _ = with_cancel(a)
    a1v = with_value(a1, "k", 1)
    a2, _ = with_cancel(a1v)
    b, _ = with_cancel(root)

    cancel_a()
    for c in (a, a1, a1v, a2):
        assert isinstance(c.err(), gr.Canceled), c
        assert is_closed(c.done())
    for c in (root, b):
        assert c.err() is None
        assert not is_closed(c.done())
    cancel_root()
    assert isinstance(b.err(), gr.Canceled)


def test_each_context_has_its_own_error_instance() -> None:
    root, cancel = with_cancel(background())
    kids = [with_cancel(root)[0] for _ in range(3)]
    cancel()
    errs = [root.err()] + [k.err() for k in kids]
    assert all(isinstance(e, gr.Canceled) for e in errs)
    assert len({id(e) for e in errs}) == 4  # raising one never alters another's traceback


def test_child_of_a_cancelled_parent_is_cancelled_at_once() -> None:
    parent, cancel = with_cancel(background())
    cancel()
    child, _ = with_cancel(parent)
    assert isinstance(child.err(), gr.Canceled)
    assert is_closed(child.done())


def test_cancelled_child_is_dropped_by_its_parent() -> None:
    parent, _ = with_cancel(background())
    cancels = [with_cancel(parent)[1] for _ in range(100)]
    assert len(parent._children) == 100  # type: ignore[attr-defined]
    for c in cancels:
        c()
    assert len(parent._children) == 0  # type: ignore[attr-defined]


def test_deep_chain_cancels_and_looks_up_without_recursion() -> None:
    root, cancel = with_cancel(background())
    ctx: Context = with_value(root, "top", "found")
    n = sys.getrecursionlimit() * 3
    for i in range(n):
        ctx = with_cancel(ctx)[0] if i % 2 else with_value(ctx, i, i)
    assert ctx.value("top") == "found"
    assert ctx.deadline() is None
    cancel()
    assert isinstance(ctx.err(), gr.Canceled)


def test_cancel_from_a_plain_thread_wakes_a_goroutine() -> None:
    async def main() -> str:
        ctx, cancel = with_cancel(background())
        t = threading.Thread(target=cancel)

        async def keep_alive() -> None:
            t.start()
            await gr.syscall(t.join)

        gr.go(keep_alive)
        await ctx.done().recv()
        return type(ctx.err()).__name__

    assert gr.run(main, gomaxprocs=2) == "Canceled"


def test_parent_must_be_a_context() -> None:
    for fn in (with_cancel, lambda p: with_value(p, "k", "v")):
        with pytest.raises(TypeError, match="parent must be a context"):
            fn(None)  # type: ignore[operator]


# ====================================================================== tree of goroutines


@pytest.mark.parametrize("procs", SYNC_PROCS)
async def test_cancel_reaches_a_tree_of_50_goroutines_in_selects(procs: int) -> None:
    """50 goroutines, each with its own derived context (cancel, value,
    far-off timeout, nested), loop in a select with other channels; one
    cancel of the root ends them all, each seeing Canceled."""
    t0 = grt.now()
    root, cancel = with_cancel(background())
    work = gr.Chan()
    results = gr.Chan(100)
    wg = WaitGroup()
    handled = [0]
    lock = threading.Lock()

    async def node(ctx: Context, depth: int, idx: int) -> None:
        own, own_cancel = with_cancel(ctx)
        if idx % 3 == 0:
            own = with_value(own, "idx", idx)
        elif idx % 3 == 1:
            own, own_cancel = with_timeout(own, 3600)  # far off: the root's cancel wins
        for k in range(2):  # a binary tree of 50 nodes, 6 levels
            child = idx * 2 + k + 1
            if child < 50:
                wg.add(1)
                gr.go(node, own, depth + 1, child)
        other = gr.Chan()
        while True:
            i, v, ok = await gr.select(own.done().recv(), work.recv(), other.recv())
            if i == 0:
                break
            with lock:
                handled[0] += 1
        await results.send(type(own.err()).__name__)
        own_cancel()
        wg.done()

    wg.add(1)
    gr.go(node, root, 0, 0)
    # Feed some work while the tree grows, then cancel the root.
    for i in range(200):
        await work.send(i)
    await grt.wait()  # every node is parked in its select: the tree is complete
    assert gr.num_goroutine() == 51
    cancel()
    await wg.wait()
    names = set()
    n = 0
    while len(results):
        names.add(await results.recv())
        n += 1
    assert n == 50
    assert names == {"Canceled"}
    assert handled[0] == 200
    assert grt.now() == t0  # the clock never moved: the hour-long timeouts were cancelled


@pytest.mark.parametrize("procs", PROCS)
def test_cancel_reaches_50_goroutines_sharing_one_context(procs: int, wait: Any) -> None:
    async def main() -> int:
        ctx, cancel = with_cancel(background())
        ticks = gr.Chan()
        done = gr.Chan(50)
        ids = []

        async def worker(i: int) -> None:
            mine = with_value(ctx, "worker", i)
            other = gr.Chan(1)
            while True:
                k, _, _ = await gr.select(ticks.recv(), mine.done().recv(), other.send(i) if i % 2 else None)
                if k == 1:
                    break
                if k == 2:
                    await other.recv()
            await done.send(mine.value("worker"))

        for i in range(50):
            ids.append(gr.go(worker, i).id)
        await wait.all_parked([x for j, x in enumerate(ids) if j % 2 == 0], "select")
        cancel()
        got = sorted([await done.recv() for _ in range(50)])
        assert got == list(range(50))
        return len(got)

    assert gr.run(main, gomaxprocs=procs) == 50


@pytest.mark.parametrize("procs", PROCS)
def test_children_derived_while_the_parent_is_cancelled_all_end_cancelled(procs: int) -> None:
    """Deriving races with cancelling: no child may miss its parent's cancel."""

    async def derive(parent: Context, kids: list[Context], lock: threading.Lock, wg: WaitGroup) -> None:
        for i in range(30):
            if i % 3 == 0:
                k, _ = with_timeout(with_value(parent, "i", i), 3600)
            else:
                k, _ = with_cancel(parent)
            with lock:
                kids.append(k)
            await gr.gosched()
        wg.done()

    async def main() -> int:
        total = 0
        for _ in range(20):
            parent, cancel = with_cancel(background())
            kids: list[Context] = []
            lock = threading.Lock()
            wg = WaitGroup()
            for _ in range(4):
                wg.add(1)
                gr.go(derive, parent, kids, lock, wg)
            await gr.gosched()
            cancel()
            await wg.wait()
            assert all(isinstance(k.err(), gr.Canceled) for k in kids)
            assert all(k.done().closed for k in kids)
            total += len(kids)
        sched = current_sched()
        assert sched is not None and sched.timers.nlive == 0  # every child's timer released
        return total

    assert gr.run(main, gomaxprocs=procs) == 20 * 4 * 30


# ====================================================================== values


def test_with_value_lookup_and_shadowing() -> None:
    class Key:
        pass

    k1, k2 = Key(), Key()
    bg = background()
    a = with_value(bg, k1, "a")
    b = with_value(a, k2, "b")
    c, cancel = with_cancel(b)
    d = with_value(c, k1, "shadowed")
    assert d.value(k1) == "shadowed"
    assert d.value(k2) == "b"
    assert c.value(k1) == "a"
    assert d.value(Key()) is None
    assert with_value(bg, ("t", 1), 5).value(("t", 1)) == 5  # equal keys match
    cancel()
    assert isinstance(d.err(), gr.Canceled)  # a value context shares its parent's fate
    assert d.done() is c.done()


def test_with_value_rejects_bad_keys() -> None:
    with pytest.raises(TypeError, match="key is None"):
        with_value(background(), None, 1)
    with pytest.raises(TypeError, match="not hashable"):
        with_value(background(), [1], 1)


# ====================================================================== deadlines


def test_with_timeout_outside_a_run_is_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="with_timeout needs a running goroutines runtime"):
        with_timeout(background(), 1)
    with pytest.raises(RuntimeError, match="with_deadline needs a running goroutines runtime"):
        with_deadline(background(), time.monotonic() + 1)


def test_bad_timeout_values() -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match="with_timeout: seconds must be a number"):
            with_timeout(background(), "1")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="NaN"):
            with_deadline(background(), float("nan"))

    gr.run(main)


@pytest.mark.parametrize("procs", PROCS)
def test_with_timeout_fires_and_sets_deadline_exceeded(procs: int) -> None:
    async def main() -> tuple[float, Any, Any, float | None, float]:
        t0 = time.monotonic()
        ctx, cancel = with_timeout(background(), 0.05)
        dl = ctx.deadline()
        assert ctx.err() is None
        v, ok = await ctx.done().recv_ok()
        waited = time.monotonic() - t0
        err = ctx.err()
        cancel()  # after the deadline: no effect
        return waited, err, ctx.err(), dl, t0

    waited, err, err2, dl, t0 = gr.run(main, gomaxprocs=procs)
    assert 0.05 <= waited < 0.05 + SLACK
    assert isinstance(err, gr.DeadlineExceeded)
    assert isinstance(err, TimeoutError)
    assert str(err) == "context deadline exceeded"
    assert err2 is err
    assert dl is not None and t0 + 0.05 <= dl < t0 + 0.05 + SLACK


def test_with_deadline_takes_a_monotonic_time() -> None:
    async def main() -> tuple[float, float | None, float]:
        d = time.monotonic() + 0.05
        ctx, _ = with_deadline(background(), d)
        await ctx.done().recv()
        return d, ctx.deadline(), time.monotonic()

    d, dl, end = gr.run(main)
    assert dl == d
    assert end >= d


def test_deadline_already_past_cancels_at_once() -> None:
    async def main() -> tuple[Any, bool]:
        ctx, _ = with_deadline(background(), time.monotonic() - 1)
        return ctx.err(), ctx.done().closed

    err, closed = gr.run(main)
    assert isinstance(err, gr.DeadlineExceeded)
    assert closed


@pytest.mark.goroutines(synctest=True)
async def test_parents_earlier_deadline_wins() -> None:
    t0 = grt.now()
    parent, _ = with_timeout(background(), 0.05)
    child, _ = with_timeout(parent, 3600)
    grandchild, _ = with_cancel(with_value(child, "k", "v"))
    assert child.deadline() == parent.deadline() == grandchild.deadline() == t0 + 0.05
    await grandchild.done().recv()
    assert grt.now() == t0 + 0.05
    errs = parent.err(), child.err(), grandchild.err()
    assert all(isinstance(e, gr.DeadlineExceeded) for e in errs), errs


@pytest.mark.goroutines(synctest=True)
async def test_childs_earlier_deadline_fires_first() -> None:
    t0 = grt.now()
    parent, cancel = with_timeout(background(), 3600)
    child, _ = with_timeout(parent, 0.05)
    await child.done().recv()
    assert grt.now() == t0 + 0.05
    assert parent.err() is None
    assert isinstance(child.err(), gr.DeadlineExceeded)
    await parent.done().recv()  # and the parent's, an hour on
    assert grt.now() == t0 + 3600
    assert isinstance(parent.err(), gr.DeadlineExceeded)
    cancel()


def test_cancel_before_the_deadline_gives_canceled() -> None:
    async def main() -> Any:
        ctx, cancel = with_timeout(background(), 3600)
        cancel()
        await ctx.done().recv()
        return ctx.err()

    assert isinstance(gr.run(main), gr.Canceled)


def test_early_cancel_releases_the_timer() -> None:
    """Observable: with the timer released, nothing is pending, so a goroutine
    blocked forever is reported at once instead of after an hour."""

    async def main() -> tuple[int, int]:
        sched = current_sched()
        assert sched is not None
        before = sched.timers.nlive
        ctxs = [with_timeout(background(), 3600) for _ in range(100)]
        armed = sched.timers.nlive
        for _, cancel in ctxs:
            cancel()
        assert sched.timers.nlive == before
        await gr.Chan().recv()  # a deadlock now: no timer left to wake anyone
        return before, armed

    t0 = time.monotonic()
    with pytest.raises(gr.Deadlock):
        gr.run(main)
    assert time.monotonic() - t0 < 30


def test_cancelled_timer_context_can_be_collected() -> None:
    import weakref

    async def main() -> weakref.ref[Context]:
        ctx, cancel = with_timeout(background(), 3600)
        cancel()
        return weakref.ref(ctx)

    ref = gr.run(main)
    gc.collect()
    assert ref() is None


@pytest.mark.goroutines(synctest=True)
async def test_waiting_on_a_context_deadline_is_not_a_deadlock() -> None:
    ctx, _ = with_timeout(background(), 60)
    await ctx.done().recv()  # main alone, no other goroutine: the timer wakes it
    assert isinstance(ctx.err(), gr.DeadlineExceeded)


def test_waiting_on_a_context_deadline_is_not_a_deadlock_on_the_real_clock() -> None:
    async def main() -> str:
        ctx, _ = with_timeout(background(), 0.05)
        await ctx.done().recv()
        return type(ctx.err()).__name__

    assert gr.run(main) == "DeadlineExceeded"


@pytest.mark.goroutines(synctest=True)
async def test_waiting_on_a_derived_cancel_context_of_a_deadline_is_not_a_deadlock() -> None:
    parent, _ = with_timeout(background(), 60)
    child, _ = with_cancel(with_value(parent, "k", 1))
    i, _, _ = await gr.select(child.done().recv(), gr.Chan().recv())
    assert i == 0 and isinstance(child.err(), gr.DeadlineExceeded)


@pytest.mark.goroutines(synctest=True, gomaxprocs=4)
async def test_deadline_cancels_a_subtree_of_goroutines() -> None:
    ctx, _ = with_timeout(background(), 10)
    out: gr.Chan[str] = gr.Chan(20)

    async def w(i: int) -> None:
        mine, cancel = with_cancel(ctx)
        await mine.done().recv()
        await out.send(type(mine.err()).__name__)
        cancel()

    for i in range(20):
        gr.go(w, i)
    assert {await out.recv() for _ in range(20)} == {"DeadlineExceeded"}


def test_huge_timeout_is_fine() -> None:
    async def main() -> Any:
        ctx, cancel = with_timeout(background(), 1e12)
        assert ctx.deadline() is not None
        i, _, _ = await gr.select(ctx.done().recv(), gr.after(0.02).recv())
        cancel()
        return i

    assert gr.run(main) == 1


# ====================================================================== user-defined contexts


class ManualContext(Context):
    """A context type of the user's own: cancelled by closing its channel."""

    def __init__(self) -> None:
        self.ch: gr.Chan[Any] = gr.Chan()
        self.cancelled = False

    def done(self) -> gr.Chan[Any]:
        return self.ch

    def err(self) -> Exception | None:
        return gr.Canceled() if self.cancelled else None

    def value(self, key: Any) -> Any:
        return "manual" if key == "who" else None

    def deadline(self) -> float | None:
        return None

    def cancel(self) -> None:
        self.cancelled = True
        self.ch.close()


def test_derived_from_a_user_context() -> None:
    async def main() -> tuple[Any, Any]:
        parent = ManualContext()
        child, _ = with_cancel(with_value(parent, "k", "v"))
        assert child.value("who") == "manual"
        assert child.value("k") == "v"
        parent.cancel()
        await child.done().recv()
        return child.err(), child.value("k")

    err, v = gr.run(main)
    assert isinstance(err, gr.Canceled)
    assert v == "v"


def test_deriving_from_a_user_context_outside_a_run_is_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="ManualContext is not a goroutines context"):
        with_cancel(ManualContext())


def test_repr_shows_the_path() -> None:
    ctx, _ = with_cancel(with_value(background(), "k", 1))
    assert repr(ctx) == "context.Background.WithValue('k', 1).WithCancel"
