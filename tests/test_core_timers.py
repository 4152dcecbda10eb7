"""Unit tests of the timer heap and clocks (_core/_timers.py) and the runtime
timer API (_core/_timer.py), on a Sched of their own with no M running.

The public timers (sleep, Timer, Ticker, after_func, context deadlines) are
tested through the API in test_time.py, test_context.py and
test_synctest.py; these pin down the pieces they are built of: lazy
deletion and its compaction, periodic re-arming that skips missed periods,
the fake clock's jump over inert timers, and start/stop/reset waking the
poller exactly when the timer becomes the earliest.
"""

from __future__ import annotations

from typing import Any

import pytest

from goroutines._core._sched import M, Sched
from goroutines._core._timer import Timer
from goroutines._core._timers import FAKE_EPOCH, INF, REAL_CLOCK, FakeClock, TimerHeap

pytestmark = pytest.mark.timeout(30)


def _fired(arg: Any, seq: int) -> None:
    arg.append(seq)


def timer(sched: Sched, period: float = 0.0) -> Timer:
    return Timer(sched, _fired, [], period=period)


@pytest.fixture
def sched() -> Sched:
    return Sched(1, 10)


# ---------------------------------------------------------------------- the heap


def test_earliest_and_expired_follow_when_not_arming_order(sched: Sched) -> None:
    h = TimerHeap()
    a, b, c = timer(sched), timer(sched), timer(sched)
    assert h.earliest() == INF
    assert h.add(a, 3.0) is True  # the first timer is the earliest
    assert h.add(b, 1.0) is True  # earlier than a
    assert h.add(c, 2.0) is False
    assert h.earliest() == 1.0 and h.nlive == 3
    due = h.expired(2.0)
    assert [t for t, _ in due] == [b, c]
    assert [seq for _, seq in due] == [b.seq, c.seq]
    assert not b.pending and not c.pending and a.pending
    assert h.nlive == 1 and h.earliest() == 3.0
    assert h.expired(2.5) == []


def test_delete_is_lazy_and_reports_whether_it_was_pending(sched: Sched) -> None:
    h = TimerHeap()
    a, b = timer(sched), timer(sched)
    h.add(a, 1.0)
    h.add(b, 2.0)
    assert h.delete(a) is True
    assert h.delete(a) is False  # Go's Stop: false when not pending
    assert len(h.heap) == 2  # a's entry is still there, stale
    assert h.earliest() == 2.0  # ... and skipped (and popped) at the top
    assert len(h.heap) == 1
    assert [t for t, _ in h.expired(5.0)] == [b]


def test_deleting_the_last_live_timer_clears_the_heap(sched: Sched) -> None:
    h = TimerHeap()
    ts = [timer(sched) for _ in range(5)]
    for i, t in enumerate(ts):
        h.add(t, float(i))
    for t in ts:
        h.delete(t)
    assert h.heap == [] and h.nlive == 0


def test_re_adding_a_pending_timer_makes_its_old_entry_stale(sched: Sched) -> None:
    h = TimerHeap()
    a = timer(sched)
    h.add(a, 1.0)
    old = a.seq
    h.add(a, 5.0)
    assert a.seq != old and h.nlive == 1
    assert h.expired(2.0) == []  # the entry of the first arming is stale
    assert h.expired(5.0) == [(a, a.seq)]


def test_stale_entries_are_compacted_once_they_outnumber_live_ones_4_to_1(sched: Sched) -> None:
    h = TimerHeap()
    keep = timer(sched)
    h.add(keep, 100.0)
    for i in range(200):  # create and stop in a loop: no memory kept behind
        t = timer(sched)
        h.add(t, float(i))
        h.delete(t)
    assert h.nlive == 1
    assert len(h.heap) <= 65
    t = timer(sched)
    for i in range(200):  # reset in a loop: the same
        h.add(t, float(i))
    assert h.nlive == 2 and len(h.heap) <= 65
    assert h.earliest() == 100.0  # keep, at 100; t was last armed at 199


def test_a_periodic_timer_stays_armed_and_skips_the_periods_it_missed(sched: Sched) -> None:
    h = TimerHeap()
    t = timer(sched, period=1.0)
    h.add(t, 10.0)
    seq = t.seq
    assert h.expired(10.0) == [(t, seq)]
    assert t.pending and t.when == 11.0 and h.nlive == 1
    # 3.5 periods late: one firing, and the next one is on the period grid.
    assert h.expired(14.5) == [(t, seq)]
    assert t.when == 15.0
    assert h.delete(t) is True and h.expired(100.0) == []


def test_next_effective_jumps_over_inert_timers(sched: Sched) -> None:
    h = TimerHeap()
    tick = timer(sched, period=1.0)
    tick.inert = lambda arg: True  # a ticker whose channel is full
    one = timer(sched)
    h.add(tick, 1.0)
    h.add(one, 7.0)
    assert h.earliest() == 1.0
    assert h.next_effective() == 7.0
    h.delete(one)
    assert h.next_effective() == INF  # only inert timers: nothing can happen


# ---------------------------------------------------------------------- the clocks


def test_the_real_clock_is_monotonic_itself() -> None:
    import time

    assert REAL_CLOCK.now is time.monotonic and not REAL_CLOCK.fake


def test_a_fake_clock_starts_at_the_epoch_and_never_goes_back() -> None:
    c = FakeClock()
    # The clock moves under its Sched's lock (checkdead_locked moves it), as
    # advance_locked's name says; debug mode checks that it is held.
    sched = Sched(1, 10, clock=c)
    assert c.fake and c.now() == FAKE_EPOCH
    with sched.lock:
        c.advance_locked(FAKE_EPOCH + 5)
    assert c.now() == FAKE_EPOCH + 5
    with sched.lock:
        c.advance_locked(FAKE_EPOCH + 1)
    assert c.now() == FAKE_EPOCH + 5


# ---------------------------------------------------------------------- the timer API


def test_start_stop_reset_report_go_s_results(sched: Sched) -> None:
    t = timer(sched)
    t.start(5.0)
    assert t.pending and sched.timers.nlive == 1 and sched.timers.earliest() == 5.0
    first = t.seq
    assert t.reset(6.0) is True  # was pending
    assert t.seq != first and sched.timers.nlive == 1 and sched.timers.earliest() == 6.0
    assert t.stop() is True
    assert t.stop() is False
    assert sched.timers.nlive == 0
    assert t.reset(1.0) is False  # re-arming a stopped timer: it was not pending
    assert sched.timers.earliest() == 1.0


def test_reset_changes_a_periodic_timer_s_period(sched: Sched) -> None:
    t = timer(sched, period=1.0)
    t.start(1.0)
    t.reset(2.0, 0.5)
    assert t.period == 0.5
    assert sched.timers.expired(2.0) == [(t, t.seq)]
    assert t.when == 2.5
    t.reset(3.0)  # no period given: kept
    assert t.period == 0.5


def test_firing_runs_the_callback_with_the_seq_of_the_arming(sched: Sched) -> None:
    t = timer(sched)
    t.start(1.0)
    seq = t.seq
    for tt, s in sched.timers.expired(1.0):
        tt.fn(tt.arg, s)
    assert t.arg == [seq]


class _Note:
    """An M's note that records its release (the poller's wake-up)."""

    def __init__(self) -> None:
        self.released = 0

    def release(self) -> None:
        self.released += 1

    def acquire(self, *a: Any) -> bool:  # pragma: no cover - never waited on here
        return True


def _poller(sched: Sched) -> tuple[M, _Note]:
    m = M(sched, 0)
    note = _Note()
    m.note = note  # type: ignore[assignment]
    m.thread = object()  # type: ignore[assignment]  # "started": wake_m releases the note
    sched.poller = m
    return m, note


def test_start_wakes_the_poller_only_for_a_new_earliest_timer(sched: Sched) -> None:
    early = timer(sched)
    early.start(1.0)
    _, note = _poller(sched)
    timer(sched).start(2.0)  # not the earliest: the poller's wait is still right
    assert note.released == 0 and sched.poller is not None
    timer(sched).start(0.5)  # earliest: the poller must wait less
    assert note.released == 1 and sched.poller is None


def test_reset_to_an_earlier_time_wakes_the_poller(sched: Sched) -> None:
    t = timer(sched)
    t.start(9.0)
    _, note = _poller(sched)
    t.reset(1.0)
    assert note.released == 1 and sched.poller is None


def test_start_locked_leaves_the_wake_up_to_the_caller(sched: Sched) -> None:
    m, note = _poller(sched)
    with sched.lock:
        pm = timer(sched).start_locked(1.0)
    assert pm is m and note.released == 0 and sched.poller is None


class _NoLock:
    def acquire(self, *a: Any) -> bool:
        raise AssertionError("Sched.lock taken in a stopping run")

    release = acquire


def test_stop_in_a_stopping_run_takes_no_lock(sched: Sched) -> None:
    # A finaliser may stop a timer during shutdown on the thread that holds
    # Sched.lock: stop() must not take it then.
    t = timer(sched)
    t.start(1.0)
    sched.stopping = True
    sched.lock = _NoLock()
    assert t.stop() is True  # it was pending
    t.pending = False
    assert t.stop() is False


# ---------------------------------------------------------------------- real-time timers (a bubble's I/O deadlines)


def test_outside_a_bubble_a_real_timer_is_an_ordinary_one(sched: Sched) -> None:
    assert sched.realtimers is None  # no second heap to pay for
    t = Timer(sched, _fired, [], real=True)
    t.start(5.0)
    assert t.heap is sched.timers and sched.timers.earliest() == 5.0


def test_in_a_bubble_real_timers_have_a_heap_of_their_own() -> None:
    sched = Sched(1, 10, clock=FakeClock())
    rt = sched.realtimers
    assert rt is not None
    fake = timer(sched)
    real = Timer(sched, _fired, [], real=True)
    fake.start(FAKE_EPOCH + 1)
    real.start(7.0)  # a time.monotonic() value, far below the fake clock
    assert sched.timers.earliest() == FAKE_EPOCH + 1 and rt.earliest() == 7.0
    # The fake clock jumps only to fake timers.
    assert sched.timers.next_effective() == FAKE_EPOCH + 1
    _, note = _poller(sched)
    real.reset(3.0)  # the new earliest real timer: the poller's wait changes
    assert note.released == 1 and sched.poller is None
    assert real.stop() is True and rt.nlive == 0 and sched.timers.nlive == 1
