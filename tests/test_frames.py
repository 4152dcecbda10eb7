"""Reading other threads' frames without CPython gh-106883's deadlock
(_core/_frames.py): on the affected versions the collector is off during
``sys._current_frames()``, back on after, and left alone when it was off."""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from goroutines._core import _frames

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def gc_state() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def _recording(monkeypatch: Any) -> list[bool]:
    seen: list[bool] = []
    real = sys._current_frames

    def spy() -> Any:
        seen.append(gc.isenabled())
        return real()

    monkeypatch.setattr(sys, "_current_frames", spy)
    return seen


@pytest.mark.usefixtures("gc_state")
def test_on_an_affected_version_the_collector_is_off_during_the_call(monkeypatch: Any) -> None:
    monkeypatch.setattr(_frames, "AFFECTED", True)
    seen = _recording(monkeypatch)
    gc.enable()
    frames = _frames.current_frames()
    assert seen == [False]
    assert gc.isenabled()
    assert frames[threading.get_ident()] is not None


@pytest.mark.usefixtures("gc_state")
def test_a_collector_the_program_turned_off_stays_off(monkeypatch: Any) -> None:
    monkeypatch.setattr(_frames, "AFFECTED", True)
    seen = _recording(monkeypatch)
    gc.disable()
    _frames.current_frames()
    assert seen == [False]
    assert not gc.isenabled()


@pytest.mark.usefixtures("gc_state")
def test_the_collector_is_back_on_when_the_call_raises(monkeypatch: Any) -> None:
    monkeypatch.setattr(_frames, "AFFECTED", True)

    def boom() -> Any:
        raise MemoryError

    monkeypatch.setattr(sys, "_current_frames", boom)
    gc.enable()
    with pytest.raises(MemoryError):
        _frames.current_frames()
    assert gc.isenabled()


@pytest.mark.usefixtures("gc_state")
def test_elsewhere_the_call_is_plain(monkeypatch: Any) -> None:
    monkeypatch.setattr(_frames, "AFFECTED", False)
    seen = _recording(monkeypatch)
    gc.enable()
    _frames.current_frames()
    assert seen == [True]


def test_the_affected_versions() -> None:
    v = sys.version_info[:3]
    assert _frames.AFFECTED == ((3, 11) <= v < (3, 11, 9) or (3, 12) <= v < (3, 12, 3))


@pytest.mark.usefixtures("gc_state")
def test_concurrent_calls_leave_the_collector_on(monkeypatch: Any) -> None:
    # Two threads inside at once must not turn the collector on under each
    # other, nor leave it off.
    monkeypatch.setattr(_frames, "AFFECTED", True)
    seen = _recording(monkeypatch)
    gc.enable()

    def many() -> None:
        for _ in range(200):
            _frames.current_frames()

    ts = [threading.Thread(target=many) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(seen) == 800 and not any(seen)
    assert gc.isenabled()
