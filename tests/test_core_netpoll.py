"""Unit tests of the netpoller (_core/_netpoll.py) on its own: registration,
readiness, claims, eviction, the wake-up pipe and closing, with no M
running, on both backends (epoll with EPOLLONESHOT on Linux, and the
portable selectors one).

Through the runtime, goroutines.net's tests (test_net.py, test_net_serve.py)
cover the goroutine side (WaitFD: parking, timeouts, eviction on close).
"""

from __future__ import annotations

import os
import select
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from goroutines._core._g import G
from goroutines._core._netpoll import EVICTED, READ, READY, WRITE, Netpoll, _EpollOneShot, _Selector

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(params=["epoll", "selectors"])
def np(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Netpoll]:
    if request.param == "epoll":
        if not hasattr(select, "epoll"):
            pytest.skip("no epoll here")
    else:
        monkeypatch.delattr(select, "epoll", raising=False)
    p = Netpoll()
    assert isinstance(p.sel, _EpollOneShot if request.param == "epoll" else _Selector)
    yield p
    if not p.closed:
        p.close()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def register(np: Netpoll, fd: int, mode: int) -> tuple[G, list[Any]]:
    g = G()
    entry: list[Any] = [g, None]
    with np.lock:
        np.add_waiter_locked(fd, mode, entry)
    return g, entry


def test_a_waiter_is_returned_once_its_fd_is_ready(np: Netpoll, pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    g, _ = register(np, a.fileno(), READ)
    assert np.nwaiters == 1
    assert np.poll(0) == []  # nothing to read yet
    b.send(b"x")
    assert np.poll(1.0) == [g]
    assert g.param == READY and np.nwaiters == 0 and a.fileno() not in np.waiters
    assert np.poll(0) == []  # claimed: never reported twice


def test_a_reader_and_a_writer_of_one_fd_are_woken_separately(
    np: Netpoll, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    r, _ = register(np, a.fileno(), READ)
    w, _ = register(np, a.fileno(), WRITE)  # a socket with room: writable now
    assert np.poll(1.0) == [w]
    assert np.waiters[a.fileno()][0] is not None  # the reader still waits
    b.send(b"x")
    assert np.poll(1.0) == [r]
    assert np.nwaiters == 0


def test_two_readers_of_one_fd_is_an_error_naming_the_fd(
    np: Netpoll, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, _ = pair
    register(np, a.fileno(), READ)
    with pytest.raises(RuntimeError, match=f"fd {a.fileno()}: two goroutines wait to read it at once"):
        register(np, a.fileno(), READ)
    assert np.nwaiters == 1


def test_claim_takes_a_waiter_off_once(np: Netpoll, pair: tuple[socket.socket, socket.socket]) -> None:
    # What a wait's timeout does: exactly one of readiness, timeout and
    # eviction gets the waiter.
    a, b = pair
    fd = a.fileno()
    _, entry = register(np, fd, READ)
    with np.lock:
        assert np.claim_locked(fd, READ, entry) is True
        assert np.claim_locked(fd, READ, entry) is False
    assert np.nwaiters == 0
    b.send(b"x")
    assert np.poll(0.05) == []  # readiness finds nobody to wake


def test_evict_wakes_every_waiter_of_the_fd(np: Netpoll, pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    r, _ = register(np, a.fileno(), READ)
    w, _ = register(np, b.fileno(), READ)
    assert np.evict(a.fileno()) == [r]
    assert r.param == EVICTED and np.nwaiters == 1
    assert np.evict(a.fileno()) == []  # nobody left there
    assert w.param is None


def test_a_report_older_than_the_registration_wakes_nobody(
    np: Netpoll, pair: tuple[socket.socket, socket.socket]
) -> None:
    # A poll applies its events only to entries registered before its
    # select() began: a level-triggered report that two pollers both saw
    # cannot wake a waiter that registered after the first one was served.
    a, b = pair
    fd = a.fileno()
    _, first = register(np, fd, READ)
    later = G()
    real_wait = np.sel.wait

    def wait(timeout: float | None) -> list[tuple[int, int]]:
        events = real_wait(timeout)
        with np.lock:  # meanwhile: another poller served the first waiter...
            np.claim_locked(fd, READ, first)
            np.add_waiter_locked(fd, READ, [later, None])  # ...and a new one came
        return events

    b.send(b"x")
    np.sel.wait = wait  # type: ignore[method-assign]
    assert np.poll(1.0) == []
    assert np.waiters[fd][0][0] is later and later.param is None
    np.sel.wait = real_wait  # type: ignore[method-assign]
    assert np.poll(1.0) == [later]  # a poll that began after it does wake it


def test_break_wakes_a_blocked_poll(np: Netpoll) -> None:
    out: list[list[G]] = []
    t = threading.Thread(target=lambda: out.append(np.poll(None)))
    t.start()
    np.break_()
    t.join(10)
    assert not t.is_alive() and out == [[]]


def test_breaks_before_the_poll_leave_one_byte_which_it_drains(np: Netpoll) -> None:
    np.break_()
    np.break_()  # at most one byte in the pipe
    assert np.break_pending
    assert np.poll(None) == []  # returns at once: woken
    assert not np.break_pending
    with pytest.raises(BlockingIOError):
        os.read(np.rfd, 64)  # drained: nothing left to wake the next poll


def test_a_quick_look_does_not_swallow_the_wake_up_meant_for_the_poller(np: Netpoll) -> None:
    np.break_()
    assert np.poll(0) == []
    assert np.break_pending  # still there for the blocked poller
    assert np.poll(1.0) == []  # a poll that could block drains it
    assert not np.break_pending


def test_a_regular_file_refused_by_the_selector_leaves_no_waiter(np: Netpoll, tmp_path: Any) -> None:
    if isinstance(np.sel, _Selector):
        pytest.skip("the selectors backend accepts what its select() accepts")
    with open(tmp_path / "f", "w") as f:
        with pytest.raises(PermissionError):
            register(np, f.fileno(), READ)
    assert np.nwaiters == 0 and np.waiters == {}


def test_close_returns_the_goroutines_still_waiting(np: Netpoll, pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    r, _ = register(np, a.fileno(), READ)
    w, _ = register(np, b.fileno(), READ)
    gs = np.close()
    assert set(map(id, gs)) == {id(r), id(w)}
    assert np.closed and np.nwaiters == 0
    assert np.poll(0) == []  # a poller still in there gets nothing
    np.break_()  # and waking it is harmless


def test_the_wake_up_pipe_is_non_blocking(np: Netpoll) -> None:
    assert not os.get_blocking(np.rfd) and not os.get_blocking(np.wfd)
