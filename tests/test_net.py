"""goroutines.net: Go's net package on the netpoller, and wait_readable/wait_writable.

Synchronisation follows conftest: to know a goroutine is parked, poll
gr.goroutines() (the ``wait`` fixture); ``gr.sleep`` appears only where the
passage of time is what is being tested (deadlines). Every test has a
timeout, and most check that no file descriptor is left open.
"""

from __future__ import annotations

import errno
import gc
import os
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import goroutines as gr
from goroutines import net

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
HAVE_PROC_FD = os.path.isdir("/proc/self/fd")


# ---------------------------------------------------------------------- helpers


def open_fds() -> set[str]:
    gc.collect()
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
def no_fd_leak() -> Iterator[None]:
    """Fail the test if it leaves a file descriptor open."""
    if not HAVE_PROC_FD:
        yield
        return
    before = open_fds()
    yield
    after = open_fds()
    leaked = sorted(after - before, key=int)
    details = []
    for fd in leaked:
        try:
            details.append(f"{fd} -> {os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:
            details.append(fd)
    assert not leaked, f"file descriptors left open: {details}"


def run(main: Callable[[], Awaitable[Any]], procs: int = 1) -> Any:
    return gr.run(main, gomaxprocs=procs)


async def pair(network: str = "tcp", address: Any = "127.0.0.1:0") -> tuple[net.Conn, net.Conn]:
    """A connected (dialled, accepted) pair of Conns; the listener is closed."""
    ln = net.listen(network, address)
    got: gr.Chan[net.Conn] = gr.Chan(1)

    async def acceptor() -> None:
        await got.send(await ln.accept())

    gr.go(acceptor)
    a = await net.dial(network, ln.addr)
    assert isinstance(a, net.Conn)
    b = await got.recv()
    ln.close()
    return a, b


async def read_exactly(c: net.Conn, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        data = await c.read(n - len(buf))
        if not data:
            raise EOFError(f"end of stream after {len(buf)} of {n} bytes")
        buf += data
    return bytes(buf)


async def echo(c: net.Conn) -> None:
    async with c:
        while True:
            data = await c.read()
            if not data:
                return
            await c.write(data)


def serve_echo(ln: net.Listener) -> None:
    """Start an accept loop that echoes each connection in its own goroutine."""

    async def loop() -> None:
        while True:
            try:
                c = await ln.accept()
            except net.NetClosedError:
                return
            gr.go(echo, c)

    gr.go(loop)


def reset(sock_owner: Any) -> None:
    """Close with SO_LINGER {1, 0}: the peer gets a RST, not a FIN."""
    sock_owner.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock_owner.close()


# ---------------------------------------------------------------------- wait_readable / wait_writable


@pytest.mark.timeout(20)
def test_wait_readable_and_writable(no_fd_leak: None, wait: Any) -> None:
    async def main() -> None:
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        with a, b:
            assert await net.wait_writable(a) is True
            assert await net.wait_writable(a.fileno(), timeout=1) is True
            t0 = time.monotonic()
            assert await net.wait_readable(b, timeout=0.05) is False
            assert time.monotonic() - t0 >= 0.04
            assert await net.wait_readable(b, timeout=0) is False  # only looks
            done: gr.Chan[bool] = gr.Chan(1)

            async def waiter() -> None:
                await done.send(await net.wait_readable(b))

            g = gr.go(waiter)
            await wait.parked(g.id, "IO wait")
            a.send(b"x")
            assert await done.recv() is True
            assert await net.wait_readable(b, timeout=0) is True
            assert b.recv(1) == b"x"

    run(main)


@pytest.mark.timeout(20)
def test_wait_readable_errors(no_fd_leak: None, tmp_path: Path) -> None:
    async def main() -> None:
        s = socket.socket()
        s.close()
        with pytest.raises(net.NetClosedError, match="closed") as ei:
            await net.wait_readable(s)
        assert ei.value.errno == errno.EBADF
        # A closed descriptor's number is the lowest free one, which the next
        # open() anywhere in the process (sysmon reads /proc) may take again;
        # a high number stays closed because descriptors are given out lowest
        # first.
        r, w = os.pipe()
        gone = os.dup2(r, 900)
        for fd in (r, w, gone):
            os.close(fd)
        with pytest.raises(net.NetClosedError, match=f"file descriptor {gone} is not open"):
            await net.wait_readable(gone)
        with pytest.raises(TypeError, match="fileno"):
            await net.wait_writable("nope")
        with pytest.raises(ValueError, match=">= 0"):
            await net.wait_writable(-3)
        with pytest.raises(TypeError, match="timeout"):
            await net.wait_readable(0, timeout="1")  # type: ignore[arg-type]
        # A disk file is always ready (poll(2) says so; epoll refuses it).
        p = tmp_path / "f"
        p.write_bytes(b"data")
        with open(p, "rb") as f:
            assert await net.wait_readable(f) is True
            assert await net.wait_writable(f.fileno(), timeout=0.01) is True

    run(main)


@pytest.mark.timeout(20)
def test_wait_readable_needs_a_goroutine() -> None:
    a, b = socket.socketpair()
    with a, b:
        coro = net.wait_readable(a, timeout=0.01)
        with pytest.raises(RuntimeError, match="goroutine"):
            coro.send(None)
        coro.close()


@pytest.mark.timeout(20)
def test_conn_wakes_wait_readable_on_close(no_fd_leak: None, wait: Any) -> None:
    """A wait_readable on a Conn's fd ends with NetClosedError when the Conn closes."""

    async def main() -> None:
        a, b = await pair()
        res: gr.Chan[BaseException] = gr.Chan(1)

        async def waiter() -> None:
            try:
                await net.wait_readable(b)
            except BaseException as e:  # noqa: BLE001
                await res.send(e)

        g = gr.go(waiter)
        await wait.parked(g.id, "IO wait")
        b.close()
        assert isinstance(await res.recv(), net.NetClosedError)
        a.close()

    run(main)


# ---------------------------------------------------------------------- echo round trips


@pytest.mark.timeout(90)
@pytest.mark.parametrize("procs", [1, 2, 4])
def test_echo_many_clients(procs: int, no_fd_leak: None) -> None:
    nclients, rounds = 60, 15

    async def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:0")
        serve_echo(ln)
        wg = gr.WaitGroup()
        ok = [0]
        lock = threading.Lock()

        async def client(i: int) -> None:
            try:
                async with await net.dial("tcp", ln.addr) as c:
                    for r in range(rounds):
                        msg = bytes([(i + r) % 256]) * (1 + (i * 37 + r * 101) % 3000)
                        await c.write(msg)
                        assert await read_exactly(c, len(msg)) == msg
                    if i % 10 == 0:
                        # Bigger than the socket buffers both ways: the write
                        # must wait for room while another goroutine reads.
                        big = os.urandom(3 << 20)
                        gr.go(c.write, big)
                        assert await read_exactly(c, len(big)) == big
                with lock:
                    ok[0] += 1
            finally:
                wg.done()

        for i in range(nclients):
            wg.add(1)
            gr.go(client, i)
        await wg.wait()
        ln.close()
        assert ok[0] == nclients

    run(main, procs)


@pytest.mark.timeout(30)
def test_read_eof_and_close_write(no_fd_leak: None) -> None:
    async def main() -> None:
        a, b = await pair()
        async with a, b:
            await a.write(b"last words")
            a.close_write()  # half-close: b reads the data, then end of stream
            assert await read_exactly(b, 10) == b"last words"
            assert await b.read() == b""
            assert await b.read() == b""
            await b.write(b"still open the other way")
            assert await read_exactly(a, 24) == b"still open the other way"
            buf = bytearray(5)
            await b.write(b"12345")
            assert await a.read_into(buf) in range(1, 6)
            assert await b.read(0) == b""

    run(main)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", [1, 4])
def test_concurrent_writers_do_not_interleave(procs: int, no_fd_leak: None) -> None:
    """Go's guarantee: each Write is written whole, even when several goroutines write at once."""
    nwriters, size = 6, 400_000

    async def main() -> None:
        a, b = await pair()
        wg = gr.WaitGroup()

        async def writer(i: int) -> None:
            await a.write(bytes([65 + i]) * size)
            wg.done()

        for i in range(nwriters):
            wg.add(1)
            gr.go(writer, i)
        data = await read_exactly(b, nwriters * size)
        await wg.wait()
        runs = [data[k * size : (k + 1) * size] for k in range(nwriters)]
        assert sorted(r[:1] for r in runs) == [bytes([65 + i]) for i in range(nwriters)]
        for r in runs:
            assert r == r[:1] * size, "two writes interleaved"
        a.close()
        b.close()

    run(main, procs)


@pytest.mark.timeout(30)
def test_concurrent_readers_share_a_conn(no_fd_leak: None, wait: Any) -> None:
    """Two goroutines may wait to read one Conn at once (the netpoller allows one; they queue)."""

    async def main() -> None:
        a, b = await pair()
        got: gr.Chan[bytes] = gr.Chan(2)

        async def reader() -> None:
            await got.send(await b.read(1))

        ids = {gr.go(reader).id, gr.go(reader).id}

        def both_wait() -> bool:
            reasons = sorted(g.wait_reason for g in gr.goroutines() if g.id in ids and g.state == "waiting")
            return len(reasons) == 2 and "IO wait" in reasons

        await wait.until(both_wait, "one reader waits in the netpoller and the other for its turn")
        await a.write(b"xy")
        assert sorted([await got.recv(), await got.recv()]) == [b"x", b"y"]
        a.close()
        b.close()

    run(main)


@pytest.mark.timeout(30)
def test_busy_reader_does_not_starve_others(no_fd_leak: None) -> None:
    """A goroutine whose reads never have to wait still lets other ready sockets be served."""

    async def main() -> None:
        a, b = await pair()
        c, d = await pair()
        await a.write(b"x" * 20_000)  # b always has data: its reads never park
        await c.write(b"!")  # d is ready too
        progress = [0]
        done: gr.Chan[int] = gr.Chan(1)

        async def other() -> None:
            assert await d.read() == b"!"
            await done.send(progress[0])

        gr.go(other)
        while progress[0] < 20_000:
            progress[0] += len(await b.read(1))
        at = await done.recv()
        assert at < 2_000, f"the other goroutine waited for {at} reads of the busy one"
        for conn in (a, b, c, d):
            conn.close()

    run(main)


# ---------------------------------------------------------------------- deadlines


@pytest.mark.timeout(30)
def test_read_deadline_expires_then_reset(no_fd_leak: None) -> None:
    async def main() -> None:
        a, b = await pair()
        async with a, b:
            b.set_read_deadline(time.monotonic() + 0.2)
            t0 = time.monotonic()
            with pytest.raises(net.NetTimeoutError) as ei:
                await b.read()
            elapsed = time.monotonic() - t0
            assert 0.15 <= elapsed < 5.0, elapsed
            e = ei.value
            assert isinstance(e, TimeoutError)
            assert e.op == "read"
            assert str(e) == f"read tcp {b.local_addr}->{b.remote_addr}: i/o timeout"
            # As in Go, a passed deadline fails reads even when data is there ...
            await a.write(b"ping")
            with pytest.raises(net.NetTimeoutError):
                await b.read()
            # ... until it is moved.
            b.set_read_deadline(None)
            assert await read_exactly(b, 4) == b"ping"
            b.set_read_deadline(time.monotonic() + 30)
            await a.write(b"pong")
            assert await read_exactly(b, 4) == b"pong"

    run(main)


@pytest.mark.timeout(30)
def test_past_deadline_interrupts_a_waiting_read(no_fd_leak: None, wait: Any) -> None:
    """Go's idiom for unblocking a reader: SetReadDeadline(now) from another goroutine."""

    async def main() -> None:
        a, b = await pair()
        res: gr.Chan[BaseException | bytes] = gr.Chan(1)

        async def reader() -> None:
            try:
                await res.send(await b.read())
            except BaseException as e:  # noqa: BLE001
                await res.send(e)

        g = gr.go(reader)
        await wait.parked(g.id, "IO wait")
        t0 = time.monotonic()
        b.set_read_deadline(time.monotonic())
        r = await res.recv()
        assert isinstance(r, net.NetTimeoutError), r
        assert time.monotonic() - t0 < 2.0
        # Writes are unaffected by a read deadline.
        await b.write(b"ok")
        assert await read_exactly(a, 2) == b"ok"
        a.close()
        b.close()

    run(main)


@pytest.mark.timeout(30)
def test_extended_deadline_keeps_the_read_waiting(no_fd_leak: None, wait: Any) -> None:
    async def main() -> None:
        a, b = await pair()
        res: gr.Chan[Any] = gr.Chan(1)
        b.set_read_deadline(time.monotonic() + 0.1)

        async def reader() -> None:
            try:
                await res.send(await b.read())
            except BaseException as e:  # noqa: BLE001
                await res.send(e)

        g = gr.go(reader)
        await wait.parked(g.id, "IO wait")
        b.set_read_deadline(time.monotonic() + 60)
        await gr.sleep(0.3)  # the first deadline passes
        i, _, _ = await gr.select(res.recv(), default=True)
        assert i == -1, "the read timed out at its old deadline"
        await a.write(b"late")
        assert await res.recv() == b"late"
        a.close()
        b.close()

    run(main)


@pytest.mark.timeout(30)
def test_a_deadline_moved_later_times_the_waiting_read_out_then(no_fd_leak: None, wait: Any) -> None:
    # The fd's deadline timer is armed for the first deadline and left
    # there when the deadline moves later: firing early, it must re-arm for
    # the waiter's new deadline rather than time it out or forget it.
    async def main() -> None:
        a, b = await pair()
        res: gr.Chan[Any] = gr.Chan(1)
        first = time.monotonic() + 1.0  # room for the reader to park first
        b.set_read_deadline(first)

        async def reader() -> None:
            try:
                await res.send(await b.read())
            except BaseException as e:  # noqa: BLE001
                await res.send(e)

        g = gr.go(reader)
        await wait.parked(g.id, "IO wait")
        b.set_read_deadline(first + 0.5)
        r = await res.recv()
        assert isinstance(r, net.NetTimeoutError), r
        assert time.monotonic() >= first + 0.45, "timed out at the old deadline"
        a.close()
        b.close()

    run(main)


@pytest.mark.timeout(30)
def test_waits_reuse_the_fds_registration_and_deadline_timer(no_fd_leak: None, wait: Any) -> None:
    # A keep-alive server's pattern: a deadline moved on before every
    # read, each read waiting. One PollDesc for the connection, one timer
    # per direction, armed once (not an add and a delete per wait); closing
    # the connection unregisters it and stops the timer.
    from goroutines._core import current_g, current_sched

    async def main() -> None:
        a, b = await pair()
        sched = current_sched()
        me = current_g()
        assert sched is not None and me is not None

        async def writer() -> None:
            await wait.parked(me.id, "IO wait")  # so that every read waits
            await a.write(b"x")

        pd = None
        arms = []
        for i in range(10):
            b.set_read_deadline(time.monotonic() + 30 + i)
            gr.go(writer)
            assert await b.read(1) == b"x"
            pd = pd or b._pd
            assert pd is not None and b._pd is pd
            t = pd.timers[0]
            assert t is not None
            arms.append((t, t.seq))
        assert len({id(t) for t, _ in arms}) == 1
        assert len({seq for _, seq in arms}) == 1, "the deadline timer was re-armed by later waits"
        timer = arms[0][0]
        assert timer.pending
        assert sched.netpoll.pds.get(b.fileno()) is pd
        fd = b.fileno()
        b.close()
        assert not timer.pending and pd.closing and fd not in sched.netpoll.pds
        a.close()

    run(main)


@pytest.mark.timeout(30)
def test_an_edge_while_nobody_waits_is_kept_for_the_next_wait(no_fd_leak: None) -> None:
    # Edge-triggered: data that arrives between a read's EAGAIN and its
    # park is reported once; PD_READY keeps it, so the wait returns at once.
    from goroutines._core import READY, WaitPD, current_sched
    from goroutines._core._netpoll import PD_READY

    async def main() -> None:
        a, b = await pair()
        sched = current_sched()
        assert sched is not None
        gr.go(a.write, b"1")
        assert await b.read(1) == b"1"  # waited: b has its PollDesc now
        pd = b._pd
        assert pd is not None
        np = sched.netpoll
        await a.write(b"2")
        for _ in range(1000):  # the edge reaches the netpoller
            if pd.dirs[0] is PD_READY:
                break
            assert np.poll(0.01) == []  # nobody waits
        assert pd.dirs[0] is PD_READY
        assert await WaitPD(pd, 0, float("inf"), b, b._seq) == READY
        assert pd.dirs[0] is None
        assert await b.read(1) == b"2"
        a.close()
        b.close()

    run(main)


@pytest.mark.timeout(30)
def test_write_deadline(no_fd_leak: None) -> None:
    async def main() -> None:
        a, b = await pair()
        async with a, b:
            data = b"z" * (64 << 20)  # far more than the socket buffers hold
            a.set_write_deadline(time.monotonic() + 0.5)
            t0 = time.monotonic()
            with pytest.raises(net.NetTimeoutError) as ei:
                await a.write(data)
            assert time.monotonic() - t0 < 5.0
            assert 0 < ei.value.written < len(data)
            assert str(ei.value).startswith("write tcp ")
            a.set_deadline(None)

    run(main)


@pytest.mark.timeout(30)
def test_deadlines_on_the_fast_paths(no_fd_leak: None) -> None:
    """A read or write that need not wait runs under a deadline still ahead;
    a passed one fails it even when the data or the buffer room is there (Go)."""

    async def main() -> None:
        a, b = await pair()
        async with a, b:
            a.set_deadline(time.monotonic() + 30)
            b.set_deadline(time.monotonic() + 30)
            for i in range(40):  # past the fairness budget: both paths in turn
                await a.write(b"x%02d" % i)
                assert await read_exactly(b, 3) == b"x%02d" % i
            a.set_write_deadline(time.monotonic() - 1)
            with pytest.raises(net.NetTimeoutError) as ei:
                await a.write(b"late")
            assert ei.value.written == 0 and ei.value.op == "write"
            a.set_write_deadline(None)
            await a.write(b"ok")
            b.set_read_deadline(time.monotonic() - 1)
            with pytest.raises(net.NetTimeoutError):
                await b.read()
            b.set_read_deadline(None)
            assert await read_exactly(b, 2) == b"ok"
            a.close()
            with pytest.raises(net.NetClosedError):
                await a.write(b"closed")

    run(main)


@pytest.mark.timeout(30)
def test_deadline_arguments() -> None:
    async def main() -> None:
        a, b = await pair()
        async with a, b:
            with pytest.raises(TypeError, match="monotonic"):
                a.set_deadline("soon")  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="NaN"):
                a.set_read_deadline(float("nan"))

    run(main)


# ---------------------------------------------------------------------- resets, closes, errors


@pytest.mark.timeout(30)
def test_peer_reset_read(no_fd_leak: None) -> None:
    async def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:0")
        async with ln:
            raw = socket.create_connection(("127.0.0.1", ln.addr.port))
            c = await ln.accept()
            async with c:
                reset(raw)
                with pytest.raises(ConnectionResetError) as ei:
                    await c.read()
                assert ei.value.errno == errno.ECONNRESET
                assert str(ei.value).endswith(
                    f"read tcp {c.local_addr}->{c.remote_addr}: connection reset by peer"
                )

    run(main)


@pytest.mark.timeout(30)
def test_peer_reset_write(no_fd_leak: None) -> None:
    async def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:0")
        async with ln:
            raw = socket.create_connection(("127.0.0.1", ln.addr.port))
            c = await ln.accept()
            async with c:
                reset(raw)
                assert await net.wait_readable(c, timeout=10)  # the RST has arrived
                with pytest.raises(ConnectionResetError, match="write tcp"):
                    await c.write(b"x")
                # The error is reported once; later writes find a broken pipe.
                with pytest.raises(BrokenPipeError, match="write tcp"):
                    await c.write(b"x")

    run(main)


@pytest.mark.timeout(30)
def test_close_listener_while_accept_waits(no_fd_leak: None, wait: Any) -> None:
    async def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:0")
        addr = ln.addr
        res: gr.Chan[BaseException] = gr.Chan(1)

        async def acceptor() -> None:
            try:
                await ln.accept()
            except BaseException as e:  # noqa: BLE001
                await res.send(e)

        g = gr.go(acceptor)
        await wait.parked(g.id, "IO wait")
        ln.close()
        e = await res.recv()
        assert isinstance(e, net.NetClosedError)
        assert isinstance(e, OSError) and e.errno == errno.EBADF
        assert str(e) == f"accept tcp {addr}: use of closed network connection"
        ln.close()  # idempotent
        assert ln.closed and ln.fileno() == -1
        with pytest.raises(net.NetClosedError):
            await ln.accept()
        with pytest.raises(ConnectionRefusedError):
            await net.dial("tcp", addr)

    run(main)


@pytest.mark.timeout(90)
def test_close_conn_while_read_and_write_wait(no_fd_leak: None, wait: Any) -> None:
    # Filling the socket buffers can take the writer several seconds on a
    # loaded machine (seen: > 10 s in CI once), so the bound on reaching
    # "both parked" is generous.
    wait.timeout = 60.0

    async def main() -> None:
        a, b = await pair()
        res: gr.Chan[BaseException] = gr.Chan(2)

        async def reader() -> None:
            try:
                await a.read()
            except BaseException as e:  # noqa: BLE001
                await res.send(e)

        async def writer() -> None:
            try:
                await a.write(b"w" * (64 << 20))  # b never reads: fills the buffers
            except BaseException as e:  # noqa: BLE001
                await res.send(e)

        gr1 = gr.go(reader)
        gr2 = gr.go(writer)
        await wait.all_parked([gr1.id, gr2.id], "IO wait")
        a.close()
        errs = [await res.recv(), await res.recv()]
        for e in errs:
            assert isinstance(e, net.NetClosedError), e
            assert "use of closed network connection" in str(e)
        assert sorted(e.op for e in errs if isinstance(e, net.NetClosedError)) == ["read", "write"]
        a.close()
        with pytest.raises(net.NetClosedError, match="read tcp"):
            await a.read()
        with pytest.raises(net.NetClosedError, match="write tcp"):
            await a.write(b"x")
        # The peer sees the close: end of stream.
        while await b.read():
            pass
        b.close()

    run(main)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("procs", [1, 4])
def test_close_races_with_read(procs: int, no_fd_leak: None) -> None:
    """close() right after a read starts, at every interleaving the scheduler finds: never a hang."""

    async def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:0")
        serve_echo(ln)
        for i in range(150):
            c = await net.dial("tcp", ln.addr)
            res: gr.Chan[Any] = gr.Chan(1)

            async def reader(c: net.Conn = c, res: gr.Chan[Any] = res) -> None:
                try:
                    await res.send(await c.read())
                except (net.NetClosedError, net.NetTimeoutError) as e:
                    await res.send(e)

            gr.go(reader)
            for _ in range(i % 4):
                await gr.gosched()
            if i % 2:
                c.close()
            else:
                c.set_read_deadline(time.monotonic() - 1)
            r = await res.recv()
            assert isinstance(r, (net.NetClosedError, net.NetTimeoutError)), r
            c.close()
        ln.close()

    run(main, procs)


@pytest.mark.timeout(30)
def test_dial_errors(no_fd_leak: None) -> None:
    async def main() -> None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # bound, never listened: refused
        with pytest.raises(ConnectionRefusedError) as ei:
            await net.dial("tcp", f"127.0.0.1:{port}")
        assert f"dial tcp 127.0.0.1:{port}: connection refused" in str(ei.value)
        with pytest.raises(ValueError, match="unknown network 'tcp5'"):
            await net.dial("tcp5", "127.0.0.1:1")
        with pytest.raises(ValueError, match="missing port"):
            await net.dial("tcp", "127.0.0.1")
        with pytest.raises(OSError, match="no suitable address"):
            await net.dial("tcp6", "127.0.0.1:80")
        with pytest.raises(FileNotFoundError, match="dial unix"):
            await net.dial("unix", "/nonexistent/goroutines-test.sock")

    run(main)


@pytest.mark.timeout(30)
def test_dial_timeout(no_fd_leak: None) -> None:
    """A listener whose accept queue is full leaves connects pending: dial times out."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    fill: list[socket.socket] = []
    try:
        pending = False
        for _ in range(16):
            s = socket.socket()
            s.setblocking(False)
            fill.append(s)
            s.connect_ex(srv.getsockname())
            if not select.select([], [s], [], 0.2)[1]:
                pending = True
                break
        if not pending:
            pytest.skip("this kernel completes connects to a full accept queue")

        async def main() -> None:
            t0 = time.monotonic()
            with pytest.raises(net.NetTimeoutError) as ei:
                await net.dial("tcp", srv.getsockname(), timeout=0.3)
            assert 0.25 <= time.monotonic() - t0 < 5
            assert str(ei.value) == f"dial tcp 127.0.0.1:{srv.getsockname()[1]}: i/o timeout"

        run(main)
    finally:
        for s in fill:
            s.close()
        srv.close()


@pytest.mark.timeout(30)
def test_listen_errors(no_fd_leak: None) -> None:
    ln = net.listen("tcp", "127.0.0.1:0")
    try:
        with pytest.raises(OSError, match=f"listen tcp {ln.addr}: address already in use") as ei:
            net.listen("tcp", ln.addr)
        assert ei.value.errno == errno.EADDRINUSE
    finally:
        ln.close()
    with pytest.raises(ValueError, match="unknown network 'udp'"):
        net.listen("udp", ":0")
    with pytest.raises(ValueError, match="too many colons"):
        net.listen("tcp", "::1:80")
    with pytest.raises(TypeError, match="tcp address"):
        net.listen("tcp", 8080)


# ---------------------------------------------------------------------- many connections, leaks, deadlock


@pytest.mark.timeout(120)
def test_thousand_connections_held_at_once(no_fd_leak: None, wait: Any) -> None:
    n = 1000
    need = 2 * n + 200  # both ends live in this process
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is below the {need} descriptors this test needs")
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else need, hard))
    try:

        async def main() -> None:
            ln = net.listen("tcp", "127.0.0.1:0")
            serve_echo(ln)
            connected = gr.WaitGroup()
            finished = gr.WaitGroup()
            release: gr.Chan[None] = gr.Chan()

            async def client(i: int) -> None:
                c = await net.dial("tcp", ln.addr)
                async with c:
                    msg = i.to_bytes(4, "big")
                    await c.write(msg)
                    assert await read_exactly(c, 4) == msg
                    connected.done()
                    await release.recv()  # hold the connection open
                    await c.write(msg)
                    assert await read_exactly(c, 4) == msg
                finished.done()

            for i in range(n):
                connected.add(1)
                finished.add(1)
                gr.go(client, i)
            await connected.wait()
            # Every server-side handler parks in the netpoller (the last ones
            # may still be on their way there).
            await wait.until(
                lambda: sum(1 for g in gr.goroutines() if g.wait_reason == "IO wait") >= n,
                f"{n} handlers wait in the netpoller",
            )
            assert gr.num_goroutine() >= 2 * n + 1
            release.close()
            await finished.wait()
            ln.close()

        run(main, 2)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.timeout(60)
@pytest.mark.skipif(not HAVE_PROC_FD, reason="needs /proc/self/fd")
def test_no_fd_left_open_after_run(tmp_path: Path) -> None:
    """Everything a program opens through net is closed again, whatever way it ends."""
    before = open_fds()

    async def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:0")
        serve_echo(ln)
        for _ in range(20):
            async with await net.dial("tcp", ln.addr) as c:
                await c.write(b"hi")
                assert await read_exactly(c, 2) == b"hi"
        # Refused dials, timeouts, closes while waiting, unix and udp sockets.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        for _ in range(5):
            with pytest.raises(ConnectionRefusedError):
                await net.dial("tcp", ("127.0.0.1", port))
        c = await net.dial("tcp", ln.addr)
        c.set_read_deadline(time.monotonic() + 0.05)
        with pytest.raises(net.NetTimeoutError):
            await c.read()
        c.close()
        uln = net.listen("unix", str(tmp_path / "u.sock"))
        serve_echo(uln)
        async with await net.dial("unix", uln.addr) as uc:
            await uc.write(b"u")
            assert await uc.read() == b"u"
        uln.close()
        pc = net.listen_packet("udp", "127.0.0.1:0")
        async with await net.dial("udp", pc.local_addr) as cc:
            await cc.write(b"d")
            assert (await pc.read_from())[0] == b"d"
        pc.close()
        # Left open on purpose: a conn with a goroutine parked in read when
        # main returns (abandoned, as in Go) is closed by the run's cleanup.
        left = await net.dial("tcp", ln.addr)
        # Echoed, so accepted: closing the listener below cannot reset it
        # (a connection still in the accept backlog gets a RST, and the
        # parked read then fails before main returns -- seen at P=4).
        await left.write(b"x")
        assert await read_exactly(left, 1) == b"x"

        async def park() -> None:
            async with left:
                await left.read()

        gr.go(park)
        await gr.gosched()
        ln.close()

    for procs in (1, 4):
        run(main, procs)
    gc.collect()
    after = open_fds()
    assert after == before, f"left open: {sorted(after - before)}"
    assert not (tmp_path / "u.sock").exists()


@pytest.mark.timeout(30)
def test_accept_waiting_is_not_deadlock(no_fd_leak: None) -> None:
    """The server parks in accept while the only other goroutine sleeps, then connects."""

    async def main() -> bytes:
        ln = net.listen("tcp", "127.0.0.1:0")

        async def client() -> None:
            await gr.sleep(0.2)
            async with await net.dial("tcp", ln.addr) as c:
                await c.write(b"hello")

        gr.go(client)
        async with ln, await ln.accept() as c:
            return await read_exactly(c, 5)

    assert run(main) == b"hello"


@pytest.mark.timeout(30)
def test_io_wait_alone_is_not_deadlock(no_fd_leak: None) -> None:
    """No timer and no other goroutine: only a plain thread will connect. Still no Deadlock."""

    async def main() -> bytes:
        ln = net.listen("tcp", "127.0.0.1:0")
        port = ln.addr.port

        def connect() -> None:
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b"from a thread")

        t = threading.Timer(0.2, connect)
        t.start()
        async with ln, await ln.accept() as c:
            data = await read_exactly(c, 13)
        t.join()
        return data

    assert run(main) == b"from a thread"


@pytest.mark.timeout(30)
def test_wait_reason_is_io_wait(no_fd_leak: None, wait: Any) -> None:
    async def main() -> None:
        a, b = await pair()
        g = gr.go(b.read)
        info = await wait.parked(g.id, "IO wait")
        assert info.state == "waiting"
        assert "[IO wait]" in gr.dump()
        await a.write(b"!")
        await wait.gone(g.id)
        a.close()
        b.close()

    run(main)


# ---------------------------------------------------------------------- unix, udp, addresses


@pytest.mark.timeout(30)
def test_unix_socket(no_fd_leak: None, tmp_path: Path) -> None:
    path = str(tmp_path / "echo.sock")

    async def main() -> None:
        ln = net.listen("unix", path)
        assert str(ln.addr) == path and ln.addr.network == "unix"
        serve_echo(ln)
        async with await net.dial("unix", path) as c:
            assert c.remote_addr == net.Addr("unix", path)
            await c.write(b"over unix")
            assert await read_exactly(c, 9) == b"over unix"
        ln.close()
        assert not os.path.exists(path), "close() removes the socket file, as Go's does"
        abstract = f"@goroutines-test-{os.getpid()}"
        ln2 = net.listen("unix", abstract)
        serve_echo(ln2)
        async with await net.dial("unix", abstract) as c2:
            await c2.write(b"abstract")
            assert await read_exactly(c2, 8) == b"abstract"
        assert str(ln2.addr) == abstract
        ln2.close()

    run(main)


@pytest.mark.timeout(30)
def test_udp(no_fd_leak: None) -> None:
    async def main() -> None:
        pc = net.listen_packet("udp", "127.0.0.1:0")
        async with pc:
            addr = pc.local_addr
            assert addr is not None and addr.network == "udp" and addr.port > 0

            async def server() -> None:
                while True:
                    try:
                        data, frm = await pc.read_from()
                    except net.NetClosedError:
                        return
                    await pc.write_to(data.upper(), frm)

            gr.go(server)
            async with await net.dial("udp", addr) as c:
                assert isinstance(c, net.PacketConn)
                for word in (b"one", b"two", b"three"):
                    await c.write(word)
                    assert await c.read() == word.upper()
                c.set_read_deadline(time.monotonic() + 0.1)
                with pytest.raises(net.NetTimeoutError, match="read udp"):
                    await c.read()
            other = net.listen_packet("udp4", ("127.0.0.1", 0))
            async with other:
                await other.write_to(b"tuple", ("127.0.0.1", addr.port))
                await other.write_to(b"string", f"127.0.0.1:{addr.port}")
                assert await other.read_from() == (b"TUPLE", addr)
                assert await other.read_from() == (b"STRING", addr)

    run(main)


def test_addresses() -> None:
    assert net.split_host_port("127.0.0.1:80") == ("127.0.0.1", "80")
    assert net.split_host_port("[::1]:80") == ("::1", "80")
    assert net.split_host_port(":80") == ("", "80")
    for bad, why in [
        ("127.0.0.1", "missing port"),
        ("::1:80", "too many colons"),
        ("[::1:80", "missing ']'"),
    ]:
        with pytest.raises(ValueError, match=why):
            net.split_host_port(bad)
    assert net.join_host_port("::1", 80) == "[::1]:80"
    assert net.join_host_port("example.com", "http") == "example.com:http"
    assert str(net.Addr("tcp", "::1", 8080)) == "[::1]:8080"
    assert str(net.Addr("tcp", "10.0.0.1", 1)) == "10.0.0.1:1"
    assert str(net.Addr("unix", "/tmp/x.sock")) == "/tmp/x.sock"
    assert net.Addr("tcp", "::1", 5).sockaddr == ("::1", 5, 0, 0)


@pytest.mark.timeout(30)
def test_listen_address_forms(no_fd_leak: None) -> None:
    async def main() -> None:
        for network, address in [
            ("tcp", ":0"),
            ("tcp4", ":0"),
            ("tcp", ("127.0.0.1", 0)),
            ("tcp", "localhost:0"),
        ]:
            ln = net.listen(network, address)
            serve_echo(ln)
            port = ln.addr.port
            assert port > 0
            async with await net.dial("tcp4", f"127.0.0.1:{port}") as c:
                await c.write(b"x")
                assert await c.read() == b"x"
            async with await net.dial("tcp", f"localhost:{port}") as c:
                await c.write(b"y")
                assert await c.read() == b"y"
            ln.close()
        if socket.has_ipv6:
            try:
                ln6 = net.listen("tcp6", "[::1]:0")
            except OSError:
                return  # no IPv6 loopback here
            serve_echo(ln6)
            assert ln6.addr.host == "::1"
            async with await net.dial("tcp", ln6.addr) as c:
                assert str(c.remote_addr) == f"[::1]:{ln6.addr.port}"
                await c.write(b"6")
                assert await c.read() == b"6"
            ln6.close()

    run(main)


# ---------------------------------------------------------------------- the examples


def _start_example(name: str, *args: str) -> tuple[subprocess.Popen[str], int]:
    env = dict(os.environ)
    env.pop("GOMAXPROCS", None)
    env["PYTHONFAULTHANDLER"] = "1"
    p = subprocess.Popen(
        [sys.executable, "-m", "goroutines", "run", str(EXAMPLES / name), "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert p.stdout is not None
    line = p.stdout.readline()
    if "listening on" not in line:
        p.kill()
        _, err = p.communicate()
        raise AssertionError(f"{name} did not start: {line!r} {err}")
    port = int(line.strip().rstrip("/").rsplit(":", 1)[1])
    return p, port


@pytest.mark.timeout(60)
def test_echo_server_example() -> None:
    p, port = _start_example("echo_server.py", "--once")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            for msg in (b"hello", b"x" * 100_000):
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    got += s.recv(65536)
                assert got == msg
        out, err = p.communicate(timeout=20)
        assert p.returncode == 0, err
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()


@pytest.mark.timeout(60)
def test_echo_server_example_stops_on_ctrl_c() -> None:
    p, port = _start_example("echo_server.py")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"ping")
            assert s.recv(4) == b"ping"
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=20)
        assert p.returncode == 130, err
        assert "signal: interrupt" in err
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()


@pytest.mark.timeout(60)
def test_http_server_example() -> None:
    import http.client

    p, port = _start_example("http_server.py", "--once")
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/")
        r = c.getresponse()
        body = r.read()
        assert r.status == 200 and b"Hello from goroutines" in body
        assert r.getheader("Content-Type", "").startswith("text/html")
        c.request("GET", "/hello")  # same connection: keep-alive
        r = c.getresponse()
        assert (r.status, r.read()) == (200, b"hello, world\n")
        c.request("POST", "/echo", body=b"abc" * 10_000)
        r = c.getresponse()
        assert (r.status, r.read()) == (200, b"abc" * 10_000)
        c.request("GET", "/missing")
        r = c.getresponse()
        assert r.status == 404
        r.read()
        c.close()
        out, err = p.communicate(timeout=20)
        assert p.returncode == 0, err
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()


@pytest.mark.timeout(30)
def test_http_server_example_pipelining() -> None:
    """Requests sent back to back in one segment (or split mid-head, with blank
    lines between, bare LF line ends) are answered in order, one response each."""
    p, port = _start_example("http_server.py", "--once")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(
                b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                b"POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde"
                b"\r\nGET /missing HTTP/1.1\nHost: x\n\nGET /hel"
            )
            s.sendall(b"lo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        heads = [h.split(b"\r\n", 1)[0] for h in data.split(b"HTTP/1.1 ")[1:]]
        assert heads == [b"200 OK", b"200 OK", b"404 Not Found", b"200 OK"], data
        assert data.count(b"hello, world\n") == 2 and b"\r\n\r\nabcde" in data
        assert data.count(b"Connection: close") == 1
        out, err = p.communicate(timeout=20)
        assert p.returncode == 0, err
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()


@pytest.mark.timeout(30)
def test_http_server_example_bad_head() -> None:
    p, port = _start_example("http_server.py", "--once")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /hello HTTP/1.1\r\nno colon here\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n"), data
        assert data.endswith(b"malformed header line\n")
        out, err = p.communicate(timeout=20)
        assert p.returncode == 0, err
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
