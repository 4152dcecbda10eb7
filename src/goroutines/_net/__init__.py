"""Internals of :mod:`goroutines.net` (Go's ``net`` package on the netpoller).

    _addr    Addr, "host:port" parsing and name resolution
    _errors  NetTimeoutError, NetClosedError and Go-style error messages
    _wait    wait_readable / wait_writable and the re-checking netpoll wait
    _socket  the shared socket core (Go's netFD): close, deadlines, the
             try-the-syscall-then-wait loop
    _conn    Conn, Listener, PacketConn, listen, dial
    _serve   serve: the accept loop, a handler's failure logged, not fatal
"""
