"""Debug mode (GOROUTINES_DEBUG=1, goroutines/_core/_check.py): the written
rules checked, and each kind of broken rule caught.

Planted bugs run in a subprocess with debug mode on (tests/programs/
debug_planted.py: a forgotten lock, a lock taken out of order, a bad G or
P status change, a broken Sched invariant); the checked lock, the status
tables and check_invariants are also tested here directly, in either mode.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import goroutines as gr
from goroutines._core import _check, _g, _invariants, _sched, current_sched
from goroutines._core._cext import lock_kind, new_lock
from goroutines._core._syscall import entersyscall
from goroutines._errors import RuntimeBug

RunProgram = Callable[..., subprocess.CompletedProcess[str]]

# What each planted bug's message must say: the rule, and the lock, G or
# status involved.
PLANTED = {
    # (Held by nobody, or by a runtime thread that has it at that moment.)
    "lock-not-held": ["lock not held", "Sched.wakep_locked()", "needs Sched.lock", "calls it; held by "],
    "lock-order": ["lock order", "takes <channel lock", "holds <Sched.lock", "higher rank"],
    "chan-order": ["lock order", "takes <channel lock", "holds <channel lock", "increasing key order"],
    "double-ready": ["G status", "is runnable, but its writer expected waiting", "changing it to runnable"],
    "bad-pstatus": ["P status", "<P 1 [idle]>: idle -> idle is not a legal transition"],
    "invariant": ["Sched invariants broken", "nmspinning is 1 but 0 Ms are spinning"],
    "lost-wakeup": ["deadlock declared while goroutines are not waiting", "<goroutine 2 [runnable]>"],
}


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_debug_mode_catches_a_planted_bug(run_program: RunProgram, kind: str) -> None:
    r = run_program("debug_planted.py", kind, env={"GOROUTINES_DEBUG": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    caught = [ln for ln in r.stdout.splitlines() if ln.startswith("caught: ")]
    assert caught, r.stdout + r.stderr
    msg = caught[0]
    assert "debug check: " in msg
    for want in PLANTED[kind]:
        assert want in msg, f"{want!r} not in {msg!r}"


def test_debug_mode_switches_the_c_fast_paths_off() -> None:
    code = (
        "from goroutines._core import _cext, _check\n"
        "assert _check.DEBUG\n"
        "sp = _cext.speedups\n"
        "print('none' if sp is None else sp.fast(), type(_cext.lock_kind('x', 2)()).__name__)\n"
    )
    env = dict(os.environ, GOROUTINES_DEBUG="1")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    fast, lock = r.stdout.split()
    assert fast in ("False", "none")
    assert lock == "CheckedLock"


@pytest.mark.skipif(_check.DEBUG, reason="off-mode identity: debug mode is on")
def test_off_mode_adds_nothing() -> None:
    # Off, the debug layer is not on any path: the plain lock maker, the
    # lock itself, the function itself, a plain store.
    assert lock_kind("channel lock", _check.RANK_CHAN) is new_lock
    lk = threading.Lock()
    assert _check.checked(lk, "x", _check.RANK_LEAF) is lk

    def f() -> int:
        return 1

    assert _check.locked_by("lock")(f) is f
    assert _g.casgstatus is _g._casgstatus
    assert _sched.setpstatus is _sched._setpstatus


# ---------------------------------------------------------------------- the checked lock, directly


@pytest.fixture
def fired() -> Iterator[Callable[[], list[str]]]:
    """fired(): the violations the test provoked on purpose so far (taken
    out of the list the suite's debug fixture looks at, at the end)."""
    before = len(_check.violations)
    yield lambda: _check.violations[before:]
    del _check.violations[before:]


def _lock(name: str, rank: int) -> _check.CheckedLock:
    return _check.CheckedLock(name, rank)


def test_checked_lock_records_its_holder_and_only_it_may_release() -> None:
    lk = _lock("L", _check.RANK_SYNC)
    assert lk.acquire()
    assert lk.held_by_me() and lk.locked()
    assert not lk.acquire(False)  # a try-acquire by its holder fails, as a plain lock's
    errs: list[BaseException] = []

    def other() -> None:
        assert not lk.held_by_me() and lk.locked()
        try:
            lk.release()
        except RuntimeError as e:
            errs.append(e)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(errs) == 1 and "un-acquired" in str(errs[0])
    lk.release()
    assert not lk.locked() and not lk.held_by_me() and not _check.held()
    with pytest.raises(RuntimeError):
        lk.release()
    with lk:
        assert lk.held_by_me() and _check.held() == [lk]
    assert not lk.locked() and not _check.held()


def test_lock_ranks_are_taken_in_order(fired: Callable[[], list[str]]) -> None:
    sched_lock = _lock("Sched.lock", _check.RANK_SCHED)
    chan = _lock("channel lock", _check.RANK_CHAN)
    leaf = _lock("Netpoll.lock", _check.RANK_LEAF)
    sync_a = _lock("Mutex lock", _check.RANK_SYNC)
    sync_b = _lock("WaitGroup lock", _check.RANK_SYNC)
    with chan, sched_lock, leaf:  # in order
        pass
    with sched_lock:
        with pytest.raises(RuntimeBug, match=r"takes <channel lock .* holds <Sched.lock .*of a higher rank"):
            chan.acquire()
        # a try-acquire cannot deadlock: not ranked
        assert chan.acquire(False)
        chan.release()
        assert chan.acquire(True, 0.5)
        chan.release()
    with sync_a:
        with pytest.raises(RuntimeBug, match="of the same rank .hold at most one at a time"):
            sync_b.acquire()
        with pytest.raises(RuntimeBug, match="already holds it"):
            sync_a.acquire()
    assert not _check.held()
    assert len(fired()) == 3


def test_a_thread_s_list_of_held_locks_stays_short_when_the_same_locks_are_taken_again() -> None:
    # A select takes its channels' locks on every call. Each acquire checks
    # the order against the thread's list of taken locks, so that list must
    # not grow with the number of operations: 10,000 selects on 4 channels
    # took two minutes in debug mode while it did (test_select_fairness).
    chans = [_lock("channel lock", _check.RANK_CHAN) for _ in range(4)]
    for i, c in enumerate(chans):
        c.key = i
    longest = 0
    for _ in range(1000):
        for c in chans:
            c.acquire()
        longest = max(longest, len(_check._taken()))
        for c in reversed(chans):
            c.release()
    assert longest <= 16 + len(chans), longest
    assert not _check.held()


def test_channel_locks_go_in_increasing_key_order(fired: Callable[[], list[str]]) -> None:
    a = _lock("channel lock", _check.RANK_CHAN)
    b = _lock("channel lock", _check.RANK_CHAN)
    a.key, b.key = 1, 2
    with a, b:
        pass
    with b:
        with pytest.raises(RuntimeBug, match="same rank and a higher key"):
            a.acquire()
    assert len(fired()) == 1


def test_locked_by_checks_the_named_lock(monkeypatch: pytest.MonkeyPatch, fired: Callable[[], list[str]]) -> None:
    monkeypatch.setattr(_check, "DEBUG", True)  # decorate as debug mode does

    class Box:
        def __init__(self) -> None:
            self.lock = _lock("Box.lock", _check.RANK_SYNC)

        @_check.locked_by("lock", "Box.lock")
        def poke_locked(self) -> int:
            return 7

    b = Box()
    with pytest.raises(RuntimeBug, match=r"lock not held: .*Box.poke_locked\(\) needs Box.lock"):
        b.poke_locked()
    with b.lock:
        assert b.poke_locked() == 7

    @_check.locked_by(None, "Sched.lock", rank=_check.RANK_SCHED)
    def by_rank_locked() -> int:
        return 8

    with pytest.raises(RuntimeBug, match=f"holds no lock of rank {_check.RANK_SCHED}"):
        by_rank_locked()
    with _lock("Sched.lock", _check.RANK_SCHED):
        assert by_rank_locked() == 8
    assert len(fired()) == 2


# ---------------------------------------------------------------------- status transitions


def test_g_status_transitions_are_go_s(fired: Callable[[], list[str]]) -> None:
    g = _g.G()
    for old, new in [
        (_g.IDLE, _g.RUNNABLE),
        (_g.RUNNABLE, _g.RUNNING),
        (_g.RUNNING, _g.WAITING),
        (_g.WAITING, _g.RUNNABLE),
        (_g.RUNNABLE, _g.RUNNING),
        (_g.RUNNING, _g.SYSCALL),
        (_g.SYSCALL, _g.RUNNABLE),
        (_g.RUNNABLE, _g.RUNNING),
        (_g.RUNNING, _g.SYSCALL),
        (_g.SYSCALL, _g.RUNNING),
        (_g.RUNNING, _g.RUNNABLE),
        (_g.RUNNABLE, _g.RUNNING),
        (_g.RUNNING, _g.DEAD),
        (_g.DEAD, _g.RUNNABLE),
    ]:
        _g._casgstatus_checked(g, old, new)
        assert g.status == new
    with pytest.raises(RuntimeBug, match=r"runnable -> waiting is not a legal transition \(from runnable: running\)"):
        _g._casgstatus_checked(g, _g.RUNNABLE, _g.WAITING)
    with pytest.raises(RuntimeBug, match="is runnable, but its writer expected waiting"):
        _g._casgstatus_checked(g, _g.WAITING, _g.RUNNABLE)  # a double ready
    fresh = object.__new__(_g.G)  # newproc's record, no status yet: idle
    fresh.id = 9
    _g._casgstatus_checked(fresh, _g.IDLE, _g.RUNNABLE)
    assert len(fired()) == 2


def test_p_status_changes_need_sched_lock_and_the_table(fired: Callable[[], list[str]]) -> None:
    p = _sched.P(0)
    with pytest.raises(RuntimeBug, match=r"P status: <P 0 \[idle\]> changed to running without Sched.lock"):
        _sched._setpstatus_checked(p, _sched.P_IDLE, _sched.P_RUNNING)
    with _lock("Sched.lock", _check.RANK_SCHED):
        _sched._setpstatus_checked(p, _sched.P_IDLE, _sched.P_RUNNING)
        _sched._setpstatus_checked(p, _sched.P_RUNNING, _sched.P_DEAD)
        _sched._setpstatus_checked(p, _sched.P_DEAD, _sched.P_IDLE)
        with pytest.raises(RuntimeBug, match="idle -> idle is not a legal transition"):
            _sched._setpstatus_checked(p, _sched.P_IDLE, _sched.P_IDLE)
    assert len(fired()) == 2


# ---------------------------------------------------------------------- check_invariants


def test_check_invariants_passes_on_a_live_run_and_names_what_broke(fired: Callable[[], list[str]]) -> None:
    out: dict[str, Any] = {}

    async def spin(ch: gr.Chan[int]) -> None:
        async for _ in ch:
            pass

    async def main() -> None:
        sched: Any = current_sched()
        ch: gr.Chan[int] = gr.Chan(4)
        for _ in range(3):
            gr.go(spin, ch)
        for i in range(200):
            await ch.send(i)
            if i % 50 == 0:
                _invariants.check_invariants(sched)
        ch.close()
        # Planted: a spinning count off by one, a G queued twice.
        with sched.lock:
            sched.nmspinning += 1
            try:
                _invariants.check_invariants_locked(sched)
            except RuntimeBug as e:
                out["spin"] = str(e)
            finally:
                sched.nmspinning -= 1
        g = sched.allgs[1]
        with sched.lock:
            sched.runq.extend([g, g])
            try:
                _invariants.check_invariants_locked(sched)
            except RuntimeBug as e:
                out["twice"] = str(e)
            finally:
                sched.runq.pop()
                sched.runq.pop()
        _invariants.check_invariants(sched)

    gr.run(main, gomaxprocs=2)
    assert re.search(r"nmspinning is (\d+) but \d+ Ms are spinning", out["spin"]), out["spin"]
    assert "goroutine 1 [running] is on the global run queue twice" in out["twice"]
    assert len(fired()) == 2


def test_a_dead_p_left_by_a_system_call_has_no_owner(fired: Callable[[], list[str]]) -> None:
    # gomaxprocs shrank while the goroutine ran on P 1; then it enters a
    # system call. The dead P must not stay owned by the M (check_invariants
    # found one that did: growing gomaxprocs back then revived it as running,
    # owned by an M without a P).
    s = _sched.Sched(2, 10)
    m = _sched.M(s, 0)
    s.allm.append(m)
    s.mcount = 1
    p = s.allp[1]
    g = _g.G()
    with s.lock:
        s.pidle.remove(p)
        p.m, m.p = m, p
        _sched.setpstatus(p, _sched.P_IDLE, _sched.P_RUNNING)
        s.set_gomaxprocs_locked(1)
        assert p.status == _sched.P_DEAD
    _g.casgstatus(g, _g.IDLE, _g.RUNNABLE)
    _g.casgstatus(g, _g.RUNNABLE, _g.RUNNING)
    entersyscall(m, g)
    assert m.p is None and p.m is None
    _invariants.check_invariants(s)
    with s.lock:
        assert s.set_gomaxprocs_locked(2) == []
        assert p.status == _sched.P_IDLE and p in s.pidle
    _invariants.check_invariants(s)
    assert not fired()
