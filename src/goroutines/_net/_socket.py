"""The socket core shared by Conn, Listener and PacketConn (Go's ``netFD``).

Every operation tries its system call first and parks the goroutine in the
netpoller only on ``BlockingIOError`` (Go's pattern), then tries again.

State (guarded by ``_lock``, a leaf lock, not reentrant: nothing that
builds an error message may run under it, since local_addr takes it; plain
reads of ``_seq``, ``_closing`` and the deadlines are allowed on the fast
path, see ``_io``):

  _closing   set once by close(); later operations raise NetClosedError.
  _refs      operations that may be parked on the fd (Go's fdMutex
             reference count). close() only marks and wakes them; the last
             one out closes the socket, so the fd number cannot be reused
             (and registered in the netpoller by mistake) while a goroutine
             may still wait on it.
  _seq       bumped by every change a parked goroutine must see at once
             (close, a deadline moved earlier), before the change's
             eviction; see _core._netpoll.WaitPD for the re-check that closes the
             race with a goroutine just registering.
  _rdl/_wdl  read/write deadlines: time.monotonic() values or None; a
             deadline moved later is stored without the lock (it wakes
             nobody, see _set_deadlines).
  _budget    NOT under the lock: the fairness count (see BUDGET), read and
             written by whichever goroutine is doing I/O; a lost update only
             moves the next forced trip through the netpoller by one.
  _busy/_mus the per-direction token: at most one goroutine may wait to
             read (and one to write) an fd in the netpoller, and a write
             must not interleave with another, so a goroutine in the slow
             path (and every writer) holds its direction's token. It is a
             bit in ``_busy`` while uncontended; the first contention makes
             a goroutine-aware Mutex for that direction (created locked on
             behalf of the current holder), used from then on. That keeps
             ten thousand idle connections from carrying two mutexes each.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from typing import Any, Self

from .._core import INF, PollDesc, WaitPD, close_pd, current_sched, evict_fd, get_netpoll, yield_to_network
from .._sync import Mutex
from ._addr import Addr, addr_from_sockaddr
from ._errors import NetClosedError, NetTimeoutError, op_prefix, wrap_oserror

_monotonic = time.monotonic

# Fairness: operations that complete without waiting, in a row, before the
# next one goes through the netpoller anyway (tokio's "coop budget"). The
# runtime cannot preempt a goroutine that never awaits anything that parks,
# and a read that finds its data already there does not park: without this,
# one busy connection's goroutine keeps its thread while the others' data
# waits unpolled. Waiting puts it behind every goroutine whose socket is
# ready at the same poll.
BUDGET = 16


def check_deadline(t: Any, who: str) -> float | None:
    if type(t) is float and t == t:  # the usual time.monotonic() + x, not NaN
        return t
    if t is None:
        return None
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        raise TypeError(
            f"{who}: deadline must be a time.monotonic() value or None, not {type(t).__name__} ({t!r})"
        )
    f = float(t)
    if math.isnan(f):
        raise ValueError(f"{who}: deadline is NaN")
    return f



# What NetSocket._attempt returns instead of a result (see there).
AGAIN: Any = object()
SLOW: Any = object()

class NetSocket:
    """Base of Conn, Listener and PacketConn: close, deadlines, the I/O loop."""

    _FULL_BUDGET = BUDGET  # see BUDGET

    __slots__ = (
        "_sock",
        "_fd",
        "_network",
        "_laddr",
        "_raddr",
        "_lock",
        "_closing",
        "_destroyed",
        "_detached",
        "_refs",
        "_seq",
        "_rdl",
        "_wdl",
        "_busy",
        "_mus",
        "_unlink",
        "_budget",
        "_pd",
        "_pdnp",
        "__weakref__",
    )

    def __init__(self, sock: socket.socket, network: str, raddr: Addr | None = None) -> None:
        self._sock = sock
        self._fd = sock.fileno()
        self._network = network
        self._laddr: Addr | None = None
        self._raddr = raddr
        self._lock = threading.Lock()
        self._closing = False
        self._destroyed = False
        self._detached = False  # the fd points at close()'s stand-in socket
        self._refs = 0
        self._seq = 0
        self._rdl: float | None = None
        self._wdl: float | None = None
        self._busy = 0
        self._mus: list[Mutex | None] | None = None
        self._unlink: str | None = None
        self._budget = self._FULL_BUDGET
        # The netpoller's PollDesc for the fd (and the Netpoll it belongs
        # to), made by the first operation that must wait; written under
        # _lock, read without it (a reference store is atomic).
        self._pd: PollDesc | None = None
        self._pdnp: Any = None

    # ------------------------------------------------------------------ addresses and errors

    @property
    def local_addr(self) -> Addr | None:
        """The local address (Go's ``LocalAddr()``); None once it cannot be known."""
        a = self._laddr
        if a is None:
            with self._lock:  # not while close() swaps the fd for its stand-in
                a = self._laddr
                if a is None and not self._detached:
                    try:
                        sa = self._sock.getsockname()
                    except OSError:
                        return None
                    a = self._laddr = addr_from_sockaddr(self._network, self._sock.family, sa)
        return a

    @property
    def remote_addr(self) -> Addr | None:
        """The peer's address (Go's ``RemoteAddr()``); None when not connected."""
        return self._raddr

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closing

    def fileno(self) -> int:
        """The socket's file descriptor (-1 once closed)."""
        return -1 if self._destroyed else self._fd

    def _prefix(self, op: str) -> str:
        if op == "dial":
            return op_prefix(op, self._network, None, self._raddr)
        return op_prefix(op, self._network, self.local_addr, self._raddr)

    def _closed_error(self, op: str) -> NetClosedError:
        return NetClosedError(f"{self._prefix(op)}: use of closed network connection", op)

    def _timeout_error(self, op: str) -> NetTimeoutError:
        return NetTimeoutError(f"{self._prefix(op)}: i/o timeout", op)

    def _os_error(self, op: str, e: OSError) -> OSError:
        if self._closing:
            # Whatever a racing close() made the call fail with (EBADF, or
            # ENOTCONN/EINVAL from the stand-in socket), it was the close.
            return self._closed_error(op)
        return wrap_oserror(self._prefix(op), e)

    # ------------------------------------------------------------------ close

    def close(self) -> None:
        """Close the socket. Idempotent.

        A goroutine waiting in an operation on it wakes and raises
        :class:`NetClosedError` ("use of closed network connection"), as
        does every later operation. The file descriptor is released at once,
        or, if a goroutine is still on its way out of an operation, by that
        goroutine as it leaves.
        """
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._seq += 1
            destroy = self._refs == 0
            pd = self._pd
        if pd is not None:
            # Wake its waiters and unregister the fd before its number can
            # be released (destroy) or pointed elsewhere (detach).
            close_pd(self._pdnp, pd)
        else:
            evict_fd(self._fd)
        if destroy:
            self._destroy()
        else:
            self._detach()

    def _detach(self) -> None:
        """close() while operations are in flight: release the socket now,
        keep its fd number reserved until the last of them leaves.

        The fd is pointed (dup2) at a fresh unconnected socket, so the real
        socket closes at once (the peer sees the close, the port is free, a
        listener refuses new connections), as after Go's Close, which waits
        for the in-flight operations. Polling the stand-in reports hang-up,
        so a goroutine that registers on it in a race wakes at once and sees
        the close.
        """
        self.local_addr  # noqa: B018 - remember it for messages and repr
        self._unlink_path()
        try:
            stand_in = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError:
            return  # out of descriptors: the last operation out closes it
        try:
            with self._lock:
                if self._destroyed:
                    return
                os.dup2(stand_in.fileno(), self._fd)
                self._detached = True
        except OSError:
            pass
        finally:
            stand_in.close()

    def _unlink_path(self) -> None:
        path = self._unlink
        if path is not None:
            self._unlink = None
            try:
                os.unlink(path)
            except OSError:
                pass

    def _destroy(self) -> None:
        with self._lock:
            if self._destroyed:
                return
            self._destroyed = True
        self.local_addr  # noqa: B018 - keep it for error messages and repr after close
        try:
            self._sock.close()
        finally:
            self._unlink_path()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ deadlines

    def set_deadline(self, t: float | None) -> None:
        """Set the read and write deadlines (see :meth:`set_read_deadline`)."""
        self._set_deadlines(check_deadline(t, "set_deadline"), True, True)

    def set_read_deadline(self, t: float | None) -> None:
        """Reads (and accepts) fail with NetTimeoutError once ``time.monotonic()`` passes ``t``.

        ``t`` is an absolute ``time.monotonic()`` value (write
        ``time.monotonic() + 5`` for "five seconds from now"); ``None``
        clears it. As in Go it applies to the operation waiting now and to
        later ones; a passed deadline keeps failing operations until it is
        moved; setting a past deadline wakes a waiting read at once.
        """
        t = check_deadline(t, "set_read_deadline")
        old = self._rdl
        if old is not None and t is not None and t >= old:
            # Later (a server moving it on at each request): nobody parked
            # needs waking, so no lock (see _set_deadlines; a store is atomic).
            self._rdl = t
            return
        self._set_deadlines(t, True, False)

    def set_write_deadline(self, t: float | None) -> None:
        """As :meth:`set_read_deadline`, for writes (and dial's connect)."""
        t = check_deadline(t, "set_write_deadline")
        old = self._wdl
        if old is not None and t is not None and t >= old:
            self._wdl = t  # later: no wake-up, no lock (as set_read_deadline)
            return
        self._set_deadlines(t, False, True)

    def _set_deadlines(self, t: float | None, r: bool, w: bool) -> None:
        wake = False
        with self._lock:
            if r:
                old = self._rdl
                self._rdl = t
                wake = wake or (t is not None and (old is None or t < old))
            if w:
                old = self._wdl
                self._wdl = t
                wake = wake or (t is not None and (old is None or t < old))
            # A later deadline needs no wake-up: a waiter whose old deadline
            # passes re-reads it and waits on (set_read_deadline and
            # set_write_deadline store one without the lock: racing setters
            # leave one of the values, as they would under it). Nor does any deadline while no
            # operation holds a reference: only those may be parked on the fd,
            # and one that enters later reads the deadline after taking its
            # reference under this lock. (A server moves its read deadline
            # earlier on every request; evicting then cost a netpoller round.)
            if wake and not self._closing and self._refs > 0:
                self._seq += 1
                self._refs += 1  # keep the fd from closing under evict_fd
            else:
                wake = False
        if wake:
            try:
                evict_fd(self._fd)
            finally:
                self._unref()

    # ------------------------------------------------------------------ the I/O loop

    def _unref(self) -> None:
        with self._lock:
            self._refs -= 1
            destroy = self._closing and self._refs == 0
        if destroy:
            self._destroy()

    def _enter(self, i: int, op: str) -> Mutex | None:
        """Take a reference and direction i's token; a Mutex to await if it is contended."""
        with self._lock:
            if not self._closing:
                self._refs += 1
                mus = self._mus
                if mus is not None:
                    mu = mus[i]
                    if mu is not None:
                        return mu
                bit = 1 << i
                if not self._busy & bit:
                    self._busy |= bit
                    return None
                if mus is None:
                    mus = self._mus = [None, None]
                mu = mus[i] = Mutex()
                mu.try_lock()  # held on behalf of the goroutine holding the bit
                return mu
        # Outside the lock: the message reads local_addr, which takes it.
        raise self._closed_error(op)

    def _leave(self, i: int) -> None:
        with self._lock:
            self._refs -= 1
            mus = self._mus
            mu = mus[i] if mus is not None else None
            if mu is None:
                self._busy &= ~(1 << i)
            destroy = self._closing and self._refs == 0
        if mu is not None:
            mu.unlock()
        if destroy:
            self._destroy()

    def _attempt(self, op: str, fn: Any, *args: Any) -> Any:
        """Go's fast path for the read side: call ``fn(*args)`` once, with no
        wait and no token, unless a passed read deadline, a close or a spent
        fairness budget sends the operation through :meth:`_io` (a deadline
        still ahead does not: the call cannot wait, so it cannot outlive it). Returns the result,
        or AGAIN (it would block) or SLOW (let ``_io`` decide): pass
        ``tried=r is AGAIN`` to ``_io``."""
        dl = self._rdl
        if (dl is not None and dl <= _monotonic()) or self._closing or self._budget <= 0:
            return SLOW
        try:
            r = fn(*args)
        except (BlockingIOError, InterruptedError):
            return AGAIN
        except OSError as e:
            raise self._os_error(op, e) from None
        self._budget -= 1
        return r

    def _write_once(self, fn: Any, *args: Any, whole: int = -1) -> Any:
        """The write side's fast path: ``fn(*args)`` once, holding the write token
        taken without waiting. Returns its result; SLOW when the token is
        contended (or was ever: then it is a Mutex), the Conn is closing, a
        write deadline passed or the budget is spent -- call ``_io``; AGAIN
        when ``fn`` would block: the token and a reference are still held,
        pass ``held=True`` to ``_io``, which releases them. ``whole``: a
        result below it (a partial send) also keeps them held, so that the
        rest goes out before any other goroutine's write."""
        if self._budget <= 0:
            return SLOW
        with self._lock:
            if self._closing or self._busy & 2 or self._mus is not None:
                return SLOW
            dl = self._wdl
            if dl is not None and dl <= _monotonic():
                return SLOW
            self._busy |= 2
            self._refs += 1
        try:
            r = fn(*args)
        except (BlockingIOError, InterruptedError):
            return AGAIN
        except BaseException as e:
            self._leave(1)
            if isinstance(e, OSError):
                raise self._os_error("write", e) from None
            raise
        if r < whole:
            return r
        self._leave(1)
        self._budget -= 1
        return r

    async def _io(
        self, i: int, op: str, fn: Any, *args: Any, tried: bool = False, held: bool = False,
        edges: int = -1,
    ) -> Any:
        """Run ``fn(*args)`` until it does not raise BlockingIOError, waiting
        on the fd in between (i=0: read side, 1: write side), holding the
        direction's token. ``tried``: the caller's own attempt just failed
        (``edges``: the direction's edge count it read before it, see
        PollDesc), so wait before the first call. ``held``: the caller
        holds the token and a reference already (``_write_once``)."""
        mu = None if held else self._enter(i, op)
        if mu is not None:
            try:
                await mu.lock()
            except BaseException:
                self._unref()
                raise
        waited = False
        try:
            if self._budget <= 0 and not tried:
                # Out of budget: let the goroutines whose fds are ready run
                # first (an edge-triggered fd with data already there would
                # report nothing more, so this does not wait on it).
                await yield_to_network()
                self._budget = self._FULL_BUDGET
            while True:
                seq = self._seq  # before the checks: see WaitPD
                if self._closing:
                    raise self._closed_error(op)
                dl = self._rdl if i == 0 else self._wdl
                if dl is not None and dl <= _monotonic():
                    raise self._timeout_error(op)
                pd = self._pd
                if tried:
                    tried = False
                else:
                    if pd is not None:
                        edges = pd.edges[i]
                    try:
                        r = fn(*args)
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError as e:
                        raise self._os_error(op, e) from None
                    else:
                        self._budget = self._FULL_BUDGET if waited else self._budget - 1
                        return r
                if pd is None or self._pdnp is not current_sched().netpoll:  # type: ignore[union-attr]
                    pd = self._open_pd()
                    edges = -1
                await WaitPD(pd, i, dl if dl is not None else INF, self, seq, edges)
                waited = True
        finally:
            self._leave(i)

    def _open_pd(self) -> PollDesc:
        """Register the fd with this run's netpoller (first wait, or a new run)."""
        sched = current_sched()
        assert sched is not None
        np = get_netpoll(sched)
        pd = np.open_pd(self._fd, self)
        with self._lock:
            closing = self._closing
            if not closing:
                self._pd = pd
                self._pdnp = np
        if closing:
            # close() ran meanwhile and did not see it: the wait returns EVICTED.
            close_pd(np, pd)
        return pd

    def __repr__(self) -> str:
        state = " closed" if self._closing else ""
        where = self._prefix("").strip()
        return f"<{type(self).__name__} {where}{state}>"
