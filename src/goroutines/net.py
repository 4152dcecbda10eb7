"""Networking for goroutines, shaped like Go's ``net`` package.

    import goroutines as gr
    from goroutines import net

    async def handle(conn: net.Conn) -> None:
        while data := await conn.read():
            await conn.write(data)

    async def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:7000")
        print("listening on", ln.addr)
        await net.serve(ln, handle)     # a goroutine per connection

    gr.run(main)

:func:`serve` is the accept loop with Go net/http's rule for failures: a
handler's exception (a client resetting its connection, a bug) is logged
with the goroutine's id and ends that connection only; an exception that
escapes a goroutine of your own ends the program (Go's panic).

Every socket is non-blocking. An operation first tries its system call and,
only if that would block, parks the goroutine in the runtime's netpoller
(wait reason ``IO wait``) until the socket is ready: no thread is held, so
ten thousand idle connections cost ten thousand parked goroutines, not ten
thousand threads. A goroutine waiting on the network is not a deadlock.

Errors: a passed deadline raises :class:`NetTimeoutError` (a
``TimeoutError``); using a closed Conn/Listener, or closing it while another
goroutine waits on it, raises :class:`NetClosedError` (an ``OSError``, Go's
"use of closed network connection"); system errors keep their Python type
(``ConnectionResetError``, ``BrokenPipeError``, ``ConnectionRefusedError``)
with the operation and the addresses in the message. See docs/net.md.
"""

from __future__ import annotations

from ._net._addr import Addr, join_host_port, split_host_port
from ._net._conn import Conn, Listener, PacketConn, dial, listen, listen_packet
from ._net._errors import NetClosedError, NetTimeoutError
from ._net._serve import serve
from ._net._wait import wait_readable, wait_writable

__all__ = [
    "Addr",
    "Conn",
    "Listener",
    "NetClosedError",
    "NetTimeoutError",
    "PacketConn",
    "dial",
    "join_host_port",
    "listen",
    "listen_packet",
    "serve",
    "split_host_port",
    "wait_readable",
    "wait_writable",
]
