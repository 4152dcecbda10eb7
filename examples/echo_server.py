"""A TCP echo server: one goroutine per connection, as in Go.

    goroutines run examples/echo_server.py [ADDR] [--once]

ADDR is a port (``7000``, on 127.0.0.1), ``:PORT`` (every interface) or
``HOST:PORT``; port 0 lets the system pick one. The server prints the
address it listens on, then echoes every byte it reads back to its sender
until Ctrl-C. With ``--once`` (or ``ECHO_ONCE=1`` in the environment) it
serves a single connection and exits when that client closes, which is how
the tests drive it.

Try it with ``nc 127.0.0.1 7000``.

Go equivalent::

    ln, err := net.Listen("tcp", "127.0.0.1:7000")
    for {
        conn, err := ln.Accept()
        go func(c net.Conn) {
            defer c.Close()
            io.Copy(c, c)   // an error (a reset) ends this copy only
        }(conn)
    }

``net.serve`` is that loop: a client that resets its connection (or any
exception out of ``handle``) is logged with the goroutine's id and ends that
connection, not the server.

Each connection's goroutine parks in the runtime's netpoller while it waits
for data (``IO wait`` in ``gr.dump()``), so idle clients cost no thread.
"""

import os
import sys

from goroutines import net


def parse_addr(arg: str) -> str:
    if arg.isdigit():
        return f"127.0.0.1:{arg}"
    return arg


async def handle(conn: net.Conn) -> None:
    """Echo until the client closes. net.serve closes the connection after,
    and logs an error (a client's reset) without ending the server."""
    while True:
        data = await conn.read(65536)
        if not data:
            return  # the client closed its side
        await conn.write(data)


async def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    once = "--once" in sys.argv[1:] or os.environ.get("ECHO_ONCE") == "1"
    addr = parse_addr(args[0] if args else "7000")
    ln = net.listen("tcp", addr)
    print(f"echo server listening on {ln.addr}", flush=True)
    if once:
        async with ln, await ln.accept() as conn:
            await handle(conn)
        return
    await net.serve(ln, handle)  # a goroutine per connection, until ln is closed
