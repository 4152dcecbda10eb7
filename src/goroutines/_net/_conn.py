"""Conn, Listener, PacketConn and the functions that make them (listen, dial, listen_packet)."""

from __future__ import annotations

import errno
import os
import socket
import time
from typing import Any, Literal, overload

from .._core import syscall
from ._addr import (
    PACKET_NETWORKS,
    STREAM_NETWORKS,
    Addr,
    Target,
    addr_from_sockaddr,
    check_network,
    host_port,
    literal_targets,
    lookup,
    unix_sockaddr,
)
from ._errors import NetTimeoutError, op_prefix, wrap_oserror
from ._socket import AGAIN, SLOW, NetSocket

_monotonic = time.monotonic


def _somaxconn() -> int:
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            n = int(f.read().strip())
    except (OSError, ValueError):
        n = socket.SOMAXCONN
    return max(1, min(n, 65535))


_BACKLOG = _somaxconn()


class _SendAll:
    """The write loop's step: send the rest; BlockingIOError when the buffer is full."""

    __slots__ = ("send", "view", "off", "n")

    def __init__(self, send: Any, view: memoryview, off: int) -> None:
        self.send = send
        self.view = view
        self.off = off
        self.n = view.nbytes

    def __call__(self) -> int:
        while self.off < self.n:
            self.off += self.send(self.view[self.off :])
        return self.n


def _as_view(data: Any, who: str) -> memoryview:
    try:
        v = memoryview(data)
    except TypeError:
        raise TypeError(
            f"{who}: data must be bytes-like (bytes, bytearray, memoryview), not {type(data).__name__}"
        ) from None
    if v.ndim != 1 or v.itemsize != 1:
        v = v.cast("B")
    return v


class Conn(NetSocket):
    """A stream connection, TCP or unix (Go's ``net.Conn``).

    Made by :func:`dial` and :meth:`Listener.accept`. Methods may be called
    from several goroutines at once: concurrent writes do not interleave,
    concurrent reads each get whole chunks. ``async with conn:`` closes it.
    """

    __slots__ = ()

    async def read(self, n: int = 65536) -> bytes:
        """Read up to ``n`` bytes, waiting until at least one arrives.

        Returns ``b""`` at end of stream (the peer closed its side), as
        ``socket.recv`` and asyncio do; Go's ``io.EOF``. A passed read
        deadline raises :class:`NetTimeoutError`; a reset peer
        ``ConnectionResetError``; a closed Conn :class:`NetClosedError`.
        """
        # The read-edge count before the call: if it finds the socket empty,
        # an edge harvested before it is stale (see PollDesc).
        pd = self._pd
        edges = pd.edges[0] if pd is not None else -1
        try:
            data = self._attempt("read", self._sock.recv, n)
        except (ValueError, TypeError):
            if not isinstance(n, int) or n < 0:
                raise ValueError(f"read: n must be a non-negative int, not {n!r}") from None
            raise
        if data is AGAIN or data is SLOW:
            data = await self._io(0, "read", self._sock.recv, n, tried=data is AGAIN, edges=edges)
        return data

    async def read_into(self, buffer: Any) -> int:
        """As :meth:`read`, into a writable buffer; returns the byte count (0 at end of stream)."""
        pd = self._pd
        edges = pd.edges[0] if pd is not None else -1
        r = self._attempt("read", self._sock.recv_into, buffer)
        if r is AGAIN or r is SLOW:
            r = await self._io(0, "read", self._sock.recv_into, buffer, tried=r is AGAIN, edges=edges)
        return r

    async def write(self, data: Any) -> int:
        """Write all of ``data`` (bytes-like), waiting while the send buffer is full; returns ``len``.

        A passed write deadline raises :class:`NetTimeoutError` whose
        ``written`` says how much was sent; a reset or closed peer raises
        ``ConnectionResetError`` or ``BrokenPipeError``.
        """
        if type(data) is bytes:
            # The usual case: one send() takes all the bytes (a response to
            # a request), with no step object made. A partial send keeps the
            # write token (so the rest goes out before any other goroutine's
            # write) and goes on below from where it stopped.
            n = len(data)
            r = self._write_once(self._sock.send, data, whole=n)
            if r is not AGAIN and r is not SLOW and r == n:
                return n
            step = _SendAll(self._sock.send, memoryview(data), 0 if r is AGAIN or r is SLOW else r)
            held = r is not SLOW
            tried = r is AGAIN
        else:
            step = _SendAll(self._sock.send, _as_view(data, "write"), 0)
            r = self._write_once(step)
            if r is not AGAIN and r is not SLOW:
                return r
            held = tried = r is AGAIN
        try:
            r = await self._io(1, "write", step, tried=tried, held=held)
        except NetTimeoutError as e:
            e.written = step.off
            raise
        return r

    def close_read(self) -> None:
        """Shut down the reading side (Go's ``CloseRead``)."""
        self._shutdown(socket.SHUT_RD, "close_read")

    def close_write(self) -> None:
        """Shut down the writing side: the peer reads end of stream (Go's ``CloseWrite``)."""
        self._shutdown(socket.SHUT_WR, "close_write")

    def _shutdown(self, how: int, op: str) -> None:
        if self._closing:
            raise self._closed_error(op)
        try:
            self._sock.shutdown(how)
        except OSError as e:
            raise self._os_error(op, e) from None


class Listener(NetSocket):
    """A stream listener, TCP or unix (Go's ``net.Listener``). Made by :func:`listen`.

    ``close()`` wakes a goroutine waiting in :meth:`accept` with
    :class:`NetClosedError`; a unix listener removes its socket file.
    """

    __slots__ = ()
    # An accept loop drains a burst of connections in larger steps than a
    # connection's reads (each accept starts a goroutine that wants to run).
    _FULL_BUDGET = 64

    @property
    def addr(self) -> Addr:
        """The address it listens on (Go's ``Addr()``); with port 0 the port the system chose."""
        a = self.local_addr
        assert a is not None
        return a

    def _accept_once(self) -> Conn:
        while True:
            try:
                s, sa = self._sock.accept()
            except ConnectionAbortedError:
                continue  # the peer gave up before we took it; as Go, try the next
            break
        try:
            s.setblocking(False)
            if s.family != socket.AF_UNIX:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return Conn(s, self._network, addr_from_sockaddr(self._network, s.family, sa))
        except BaseException:
            s.close()
            raise

    async def accept(self) -> Conn:
        """Wait for the next connection and return it."""
        pd = self._pd
        edges = pd.edges[0] if pd is not None else -1
        c = self._attempt("accept", self._accept_once)
        if c is AGAIN or c is SLOW:
            c = await self._io(0, "accept", self._accept_once, tried=c is AGAIN, edges=edges)
        return c

    def set_deadline(self, t: float | None) -> None:
        """accept() fails with NetTimeoutError once ``time.monotonic()`` passes ``t`` (None clears)."""
        super().set_deadline(t)


class PacketConn(NetSocket):
    """A datagram socket, UDP or unixgram (Go's ``net.PacketConn``; ``UDPConn``).

    Made by :func:`listen_packet` (unconnected: use :meth:`read_from` and
    :meth:`write_to`) or by :func:`dial` (connected: :meth:`read` and
    :meth:`write` too).
    """

    __slots__ = ()

    async def read_from(self, n: int = 65536) -> tuple[bytes, Addr]:
        """Wait for one datagram; return ``(data, sender)``. ``data`` is cut to ``n`` bytes."""
        r = self._attempt("read", self._sock.recvfrom, n)
        if r is AGAIN or r is SLOW:
            r = await self._io(0, "read", self._sock.recvfrom, n, tried=r is AGAIN)
        data, sa = r
        return data, addr_from_sockaddr(self._network, self._sock.family, sa)

    async def write_to(self, data: Any, addr: Any) -> int:
        """Send ``data`` as one datagram to ``addr`` (an Addr, 'host:port', a tuple or a path)."""
        sa = await _packet_target(self._network, self._sock.family, addr)
        r: int = await self._io(1, "write", self._sock.sendto, data, sa)
        return r

    async def read(self, n: int = 65536) -> bytes:
        """Connected socket: the next datagram from the peer (cut to ``n`` bytes)."""
        data = self._attempt("read", self._sock.recv, n)
        if data is AGAIN or data is SLOW:
            data = await self._io(0, "read", self._sock.recv, n, tried=data is AGAIN)
        return data

    async def write(self, data: Any) -> int:
        """Connected socket: send ``data`` as one datagram to the peer."""
        r: int = await self._io(1, "write", self._sock.send, data)
        return r


async def _packet_target(network: str, family: int, addr: Any) -> Any:
    """The sockaddr to send a datagram to."""
    if family == socket.AF_UNIX:
        return unix_sockaddr(network, addr)[1]
    if isinstance(addr, Addr):
        if family == socket.AF_INET6 and ":" not in addr.host:
            return ("::ffff:" + addr.host, addr.port, 0, 0)
        return addr.sockaddr
    h, port = host_port(network, addr)
    targets = literal_targets(network, h, port, passive=False)
    if targets is None:
        targets = await syscall(lookup, network, h, port, passive=False)
    for fam, _t, sa in targets:
        if fam == family:
            return sa
    if family == socket.AF_INET6:  # an IPv4 peer of a dual-stack socket
        return ("::ffff:" + targets[0][2][0], port, 0, 0)
    raise OSError(f"write {network} {addr}: no IPv4 address to send to from an IPv4 socket")


# ---------------------------------------------------------------------- listen


def _bind_inet(network: str, targets: list[Target], *, stream: bool, host: str) -> tuple[socket.socket, Addr]:
    err: OSError | None = None
    for fam, sotype, sa in targets:
        s = socket.socket(fam, sotype)
        try:
            s.setblocking(False)
            if stream:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6:
                # "tcp"/"udp" on every interface: one dual-stack socket, as Go.
                dual = host == "" and network in ("tcp", "udp")
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if dual else 1)
            s.bind(sa)
            if stream:
                s.listen(_BACKLOG)
            return s, addr_from_sockaddr(network, fam, sa)
        except OSError as e:
            s.close()
            if err is None:
                err = e
    assert err is not None
    raise err


def listen(network: str, address: Any) -> Listener:
    """Listen on a stream address (Go's ``net.Listen``).

    ``network`` is "tcp", "tcp4", "tcp6" or "unix". ``address`` is
    ``"host:port"`` (``":0"``: every interface, a port the system picks;
    "tcp" with no host makes a dual-stack IPv6 socket where available), a
    ``(host, port)`` tuple, or for "unix" a path (``"@name"``: the abstract
    namespace). The socket is non-blocking, has SO_REUSEADDR, and the
    system's largest backlog. Errors are OSErrors naming the address
    (``listen tcp 127.0.0.1:80: [Errno 98] address already in use``).
    """
    check_network(network, STREAM_NETWORKS, "listen")
    if network == "unix":
        path, sa = unix_sockaddr(network, address)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.setblocking(False)
            s.bind(sa)
            s.listen(_BACKLOG)
        except OSError as e:
            s.close()
            raise wrap_oserror(op_prefix("listen", network, None, path), e) from None
        ln = Listener(s, network)
        if not path.startswith("@"):
            ln._unlink = path
        ln._laddr = Addr("unix", path, 0)
        return ln
    host, port = host_port(network, address)
    try:
        targets = literal_targets(network, host, port, passive=True)
        if targets is None:
            targets = lookup(network, host, port, passive=True)
        s, _ = _bind_inet(network, targets, stream=True, host=host)
    except OSError as e:
        raise wrap_oserror(op_prefix("listen", network, None, _show(host, port)), e) from None
    return Listener(s, network)


def listen_packet(network: str, address: Any) -> PacketConn:
    """Open a datagram socket bound to ``address`` (Go's ``net.ListenPacket``).

    ``network`` is "udp", "udp4", "udp6" or "unixgram"; addresses as for
    :func:`listen`. Use :meth:`PacketConn.read_from` and
    :meth:`PacketConn.write_to`.
    """
    check_network(network, PACKET_NETWORKS, "listen_packet")
    if network == "unixgram":
        path, sa = unix_sockaddr(network, address)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.setblocking(False)
            s.bind(sa)
        except OSError as e:
            s.close()
            raise wrap_oserror(op_prefix("listen", network, None, path), e) from None
        pc = PacketConn(s, network)
        pc._laddr = Addr("unixgram", path, 0)
        return pc
    host, port = host_port(network, address)
    try:
        targets = literal_targets(network, host, port, passive=True)
        if targets is None:
            targets = lookup(network, host, port, passive=True)
        s, _ = _bind_inet(network, targets, stream=False, host=host)
    except OSError as e:
        raise wrap_oserror(op_prefix("listen", network, None, _show(host, port)), e) from None
    return PacketConn(s, network)


def _show(host: str, port: int) -> str:
    from ._addr import join_host_port

    return join_host_port(host, port)


# ---------------------------------------------------------------------- dial

_MIN_PARTIAL = 2.0  # Go's saneMinimum for one address's share of a dial timeout


def _partial_deadline(deadline: float | None, remaining_addrs: int) -> float | None:
    """Go's partialDeadline: split what is left of the timeout among the addresses left."""
    if deadline is None:
        return None
    left = deadline - _monotonic()
    share = left / remaining_addrs
    if share < _MIN_PARTIAL:
        share = min(left, _MIN_PARTIAL)
    return _monotonic() + share


def _connect_check(sock: socket.socket) -> None:
    """After the socket reported writable: done, still connecting, or the error."""
    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err in (errno.EINPROGRESS, errno.EALREADY, errno.EINTR):
        raise BlockingIOError(err, os.strerror(err))
    if err:
        raise OSError(err, os.strerror(err))
    try:
        sock.getpeername()
    except OSError as e:
        if e.errno == errno.ENOTCONN:  # a spurious wake-up: still connecting
            raise BlockingIOError(errno.EINPROGRESS, "connecting") from None
        raise


async def _dial_one(
    network: str, fam: int, sotype: int, sa: Any, deadline: float | None, raddr: Addr
) -> Conn | PacketConn:
    s = socket.socket(fam, sotype)
    c: Conn | PacketConn
    try:
        s.setblocking(False)
        if sotype == socket.SOCK_STREAM:
            if fam != socket.AF_UNIX:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c = Conn(s, network, raddr)
        else:
            c = PacketConn(s, network, raddr)
    except BaseException:
        s.close()
        raise
    try:
        err = s.connect_ex(sa)
        if err in (0, errno.EISCONN):
            return c
        if err not in (errno.EINPROGRESS, errno.EALREADY, errno.EINTR):
            raise c._os_error("dial", OSError(err, os.strerror(err)))
        if deadline is not None and deadline - _monotonic() <= 0:
            raise c._timeout_error("dial")
        c._wdl = deadline
        await c._io(1, "dial", _connect_check, s, tried=True)
        c._wdl = None
        return c
    except BaseException:
        c.close()
        raise


StreamNetwork = Literal["tcp", "tcp4", "tcp6", "unix"]
PacketNetwork = Literal["udp", "udp4", "udp6", "unixgram"]


@overload
async def dial(network: StreamNetwork, address: Any, timeout: float | None = None) -> Conn: ...
@overload
async def dial(network: PacketNetwork, address: Any, timeout: float | None = None) -> PacketConn: ...
@overload
async def dial(network: str, address: Any, timeout: float | None = None) -> Conn | PacketConn: ...


async def dial(network: str, address: Any, timeout: float | None = None) -> Conn | PacketConn:
    """Connect to ``address`` (Go's ``net.Dial`` / ``DialTimeout``).

    "tcp", "tcp4", "tcp6" and "unix" return a :class:`Conn`; "udp", "udp4",
    "udp6" and "unixgram" a connected :class:`PacketConn`. ``address`` as
    for :func:`listen` (``":port"`` reaches the local system). A host name
    is resolved on another thread (``getaddrinfo`` through ``syscall``) and
    its addresses tried in order, the timeout shared among them as Go does.
    ``timeout`` (seconds) covers the connect; past it
    :class:`NetTimeoutError` ("dial tcp 10.0.0.1:80: i/o timeout"). A
    refused connection raises ``ConnectionRefusedError``.
    """
    check_network(network, STREAM_NETWORKS + PACKET_NETWORKS, "dial")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(
                f"dial: timeout must be a number of seconds or None, not {type(timeout).__name__}"
            )
    deadline = _monotonic() + min(float(timeout), 1e9) if timeout is not None else None
    if network in ("unix", "unixgram"):
        path, sa = unix_sockaddr(network, address)
        sotype = socket.SOCK_STREAM if network == "unix" else socket.SOCK_DGRAM
        return await _dial_one(network, socket.AF_UNIX, sotype, sa, deadline, Addr(network, path, 0))
    host, port = host_port(network, address)
    targets = literal_targets(network, host, port, passive=False)
    if targets is None:
        try:
            targets = await syscall(lookup, network, host, port, passive=False)
        except OSError as e:
            raise wrap_oserror(op_prefix("dial", network, None, _show(host, port)), e) from None
    first: BaseException | None = None
    for i, (fam, sotype, sa) in enumerate(targets):
        raddr = addr_from_sockaddr(network, fam, sa)
        try:
            return await _dial_one(
                network, fam, sotype, sa, _partial_deadline(deadline, len(targets) - i), raddr
            )
        except OSError as e:
            if first is None:
                first = e
            if deadline is not None and deadline - _monotonic() <= 0:
                break
    assert first is not None
    raise first


__all__ = [
    "Conn",
    "Listener",
    "PacketConn",
    "dial",
    "listen",
    "listen_packet",
]
