"""The pytest plugin: ``async def`` tests as goroutine 1 of their own run.

Loaded by pytest through the ``pytest11`` entry point named ``goroutines``
(disable with ``-p no:goroutines``). What it does (see docs/testing.md):

* ``@pytest.mark.goroutines`` on an ``async def`` test, or every ``async
  def`` test with ``goroutines_mode = auto`` in the ini file (tests marked
  ``asyncio`` or ``anyio``, or using ``anyio_backend``, are left to those
  plugins): the test runs as goroutine 1 of ``gr.run`` (or, with
  ``synctest=True``, of ``goroutines.testing.synctest``), its fixtures
  passed as arguments.
* A goroutine still alive when the test returns fails it, with those
  goroutines' dump; ``@pytest.mark.goroutines(leaks="ignore")`` allows it.
* Every run is seeded: ``--goroutines-seed S`` (or the marker's ``seed=``,
  or ``GOROUTINES_SEED``), else a fresh random seed per test. The fixture
  ``goroutines_seed`` gives it to the test, and a failing test prints it in
  a report section, with the command line that reruns it.
* ``--gomaxprocs N`` (or the marker's ``gomaxprocs=``) for every run.

Marker arguments: ``leaks`` ("fail", the default, or "ignore"),
``synctest`` (bool), ``gomaxprocs`` (int), ``seed`` (int).

Nothing here runs at collection, and a test that is not ours costs one
marker lookup at call time, so the plugin does not change or slow the
collection and running of other tests. pytest-timeout's default (signal)
method works: its exception ends the run like a KeyboardInterrupt does.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Generator
from typing import Any, NoReturn

import pytest

import goroutines as gr
from goroutines import testing as grt
from goroutines._core import check_seed

MARKER = "goroutines"
_SEED = pytest.StashKey[int]()
_KWARGS = ("leaks", "synctest", "gomaxprocs", "seed")
# How long a goroutine that is still running (not parked) when the test
# returns gets to finish before it counts as leaked (goleak's retry, in
# real time).
LEAK_GRACE = 1.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("goroutines")
    group.addoption(
        "--gomaxprocs",
        type=int,
        default=None,
        metavar="N",
        help="GOMAXPROCS for the runs of goroutines tests (default: GOMAXPROCS or the runtime's)",
    )
    group.addoption(
        "--goroutines-seed",
        type=int,
        default=None,
        metavar="S",
        help="seed every goroutines test's run with S (default: GOROUTINES_SEED, else a random seed per test)",
    )
    parser.addini(
        "goroutines_mode",
        "strict (only tests marked goroutines) or auto (every async def test)",
        default="strict",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "goroutines(leaks='fail', synctest=False, gomaxprocs=None, seed=None): run this async def "
        "test as goroutine 1 of its own goroutines.run (synctest=True: goroutines.testing.synctest)",
    )
    mode = config.getini("goroutines_mode")
    if mode not in ("strict", "auto"):
        raise pytest.UsageError(f"goroutines_mode = {mode!r}: use 'strict' or 'auto'")


def _misuse(msg: str) -> NoReturn:
    """A test that uses the plugin wrongly fails, saying how."""
    pytest.fail(msg, pytrace=False)


def _seed_for(item: pytest.Item) -> int:
    """The seed of this test's run: the marker's, the option's,
    GOROUTINES_SEED's, else a fresh one; the same for the fixture, the run
    and the report."""
    s = item.stash.get(_SEED, None)
    if s is not None:
        return s
    m = item.get_closest_marker(MARKER)
    s = m.kwargs.get("seed") if m is not None else None
    if s is None:
        s = item.config.getoption("goroutines_seed")
    if s is None:
        s = check_seed(None, "GOROUTINES_SEED")  # the variable, else a fresh seed
    if isinstance(s, bool) or not isinstance(s, int):
        _misuse(f"{item.nodeid}: @pytest.mark.goroutines(seed=...) must be an int, not {s!r}")
    item.stash[_SEED] = s
    return s


@pytest.fixture
def goroutines_seed(request: pytest.FixtureRequest) -> int:
    """The seed this test's goroutines run uses (pass it on to gr.run(seed=)
    in a test that is not marked; a failing test prints it)."""
    return _seed_for(request.node)


def _claims(item: pytest.Function) -> pytest.Mark | None | bool:
    """Our marker, True (auto mode), or None/False: not our test."""
    m = item.get_closest_marker(MARKER)
    if m is not None:
        return m
    if item.config.getini("goroutines_mode") != "auto":
        return None
    if not inspect.iscoroutinefunction(item.obj):
        return False
    if item.get_closest_marker("asyncio") is not None or item.get_closest_marker("anyio") is not None:
        return False
    return "anyio_backend" not in item.fixturenames


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    claim = _claims(pyfuncitem)
    if not claim:
        return None
    if not inspect.iscoroutinefunction(pyfuncitem.obj) and not any(
        m.name == MARKER for m in pyfuncitem.own_markers
    ):
        return None  # a plain test under a module's or class's goroutines mark
    kw: dict[str, Any] = dict(claim.kwargs) if isinstance(claim, pytest.Mark) else {}
    if isinstance(claim, pytest.Mark) and claim.args:
        _misuse(f"{pyfuncitem.nodeid}: @pytest.mark.goroutines takes keyword arguments only")
    bad = sorted(set(kw) - set(_KWARGS))
    if bad:
        _misuse(
            f"{pyfuncitem.nodeid}: @pytest.mark.goroutines got {bad}; it takes {list(_KWARGS)}"
        )
    leaks = kw.get("leaks", "fail")
    if leaks not in ("fail", "ignore"):
        _misuse(f"{pyfuncitem.nodeid}: leaks={leaks!r}: use 'fail' or 'ignore'")
    fn = pyfuncitem.obj
    if not inspect.iscoroutinefunction(fn):
        _misuse(
            f"{pyfuncitem.nodeid} is marked goroutines but is not an async def function"
        )
    if pyfuncitem.get_closest_marker("asyncio") is not None or "anyio_backend" in pyfuncitem.fixturenames:
        _misuse(
            f"{pyfuncitem.nodeid} is marked for goroutines and for asyncio/anyio; pick one"
        )
    procs = kw.get("gomaxprocs")
    if procs is None:
        procs = pyfuncitem.config.getoption("gomaxprocs")
    seed = _seed_for(pyfuncitem)
    funcargs = pyfuncitem.funcargs
    testargs = {arg: funcargs[arg] for arg in pyfuncitem._fixtureinfo.argnames}
    runner = grt.synctest if kw.get("synctest", False) else gr.run
    leaked = runner(_test_main, fn, testargs, leaks == "fail", gomaxprocs=procs, seed=seed)
    if leaked:
        pytest.fail(leaked, pytrace=False)
    return True


async def _test_main(fn: Any, kwargs: dict[str, Any], check: bool) -> str:
    """Goroutine 1: the test, then the leak check (before the run abandons
    what is left). Returns the leak report, or ""."""
    await fn(**kwargs)
    if not check:
        return ""
    deadline = time.monotonic() + LEAK_GRACE
    polls = 0
    while True:
        others = [g for g in gr.goroutines() if g.id != 1]
        if not others:
            return ""
        if all(g.state == "waiting" for g in others) or time.monotonic() > deadline:
            break
        # Some are still running (about to finish, or in a system call):
        # let them, in real time (a bubble's clock must not move for this).
        polls += 1
        if polls < 100:
            await gr.gosched()
        else:
            await gr.syscall(time.sleep, 0.001)  # blocking: a real-time pause, P handed off
    ids = {g.id for g in others}
    blocks = [b for b in gr.dump().split("\n\n") if _block_id(b) in ids]
    return (
        f"{len(ids)} goroutine(s) still alive when the test returned (leaked); "
        "stop them before returning, or mark the test "
        "@pytest.mark.goroutines(leaks='ignore'):\n\n" + "\n\n".join(blocks)
    )


def _block_id(block: str) -> int:
    """The goroutine id of one block of gr.dump() ("goroutine 7 [...]:")."""
    head = block.strip().split(" ", 2)
    if len(head) >= 2 and head[0] == "goroutine" and head[1].isdigit():
        return int(head[1])
    return -1


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _SEED in item.stash:
        seed = item.stash[_SEED]
        procs = item.config.getoption("gomaxprocs")
        rerun = f"pytest '{item.nodeid}' --goroutines-seed={seed}"
        if procs is not None:
            rerun += f" --gomaxprocs={procs}"
        note = (
            f"goroutines seed: {seed}\nrerun with: {rerun}\n"
            "(the same seed repeats the run's choices exactly at gomaxprocs=1, "
            "for a test with no I/O and no unannotated blocking)"
        )
        rep.sections.append(("goroutines", note))
