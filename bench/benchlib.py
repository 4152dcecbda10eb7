"""Shared helpers for the benchmark programs and the runner (stdlib only).

Every program under ``bench/workloads/`` prints exactly one line on stdout::

    WORKLOAD SYSTEM N metric=VALUE unit

times only the measured part with a monotonic clock (``time.perf_counter_ns``),
keeps the best of ``--reps`` repetitions (default 3) done inside one process,
checks its own result and exits non-zero when it is wrong. Exit status
``SKIP`` (77) means "this program cannot run here" (e.g. a runtime feature
that does not exist yet); the reason is on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

# id -> (directory, metric name, unit, full-size N, --quick N)
WORKLOADS: dict[str, tuple[str, str, str, int, int]] = {
    "W1": ("w1_pingpong", "per_round_trip", "ns", 100_000, 2_000),
    "W2": ("w2_prodcons", "per_item", "ns", 500_000, 10_000),
    "W3": ("w3_spawn", "per_goroutine", "ns", 100_000, 2_000),
    "W4": ("w4_idle_mem", "per_parked", "bytes", 100_000, 2_000),
    "W5": ("w5_select", "per_message", "ns", 200_000, 4_000),
    "W6": ("w6_sieve", "total", "ms", 2_000, 200),
    "W7": ("w7_blocking", "total", "ms", 32, 32),
    "W8": ("w8_fanout", "per_item", "ns", 200_000, 4_000),
    "W9": ("w9_parallel", "total", "ms", 160, 16),
}

SKIP = 77

now_ns = time.perf_counter_ns  # monotonic, highest resolution available


def parse(
    workload: str,
    *,
    gomaxprocs: bool = False,
    modes: Sequence[str] = (),
    default_n: int | None = None,
    quick_n: int | None = None,
    reps: bool = True,
    argv: Sequence[str] | None = None,
) -> argparse.Namespace:
    """The common command line: ``--n``, ``--quick``, ``--reps``.

    ``gomaxprocs=True`` adds ``--gomaxprocs`` (goroutines programs; default:
    the ``GOMAXPROCS`` environment variable, else the runtime's default).
    ``modes`` adds ``--mode`` with those choices, the first being the default.
    ``reps=False`` (W4): one measurement per process; ``--reps`` is accepted and ignored.
    """
    _dir, _metric, _unit, full, quick = WORKLOADS[workload]
    if default_n is not None:
        full = default_n
    if quick_n is not None:
        quick = quick_n
    p = argparse.ArgumentParser(description=f"{workload} benchmark program")
    p.add_argument("--n", type=int, default=None, help=f"problem size (default {full})")
    p.add_argument("--quick", action="store_true", help=f"small N for a smoke test ({quick})")
    if reps:
        p.add_argument("--reps", type=int, default=3, help="repetitions inside the process; the best is reported")
    else:  # accepted so every program takes the same options, but one measurement per process
        p.add_argument("--reps", type=int, default=1, help="ignored: one measurement per process")
    if gomaxprocs:
        p.add_argument("--gomaxprocs", type=int, default=None, help="default: $GOMAXPROCS, else the runtime's default")
    if modes:
        p.add_argument("--mode", choices=list(modes), default=modes[0])
    a = p.parse_args(argv)
    if a.n is None:
        a.n = quick if a.quick else full
    if a.n < 1 or a.reps < 1:
        p.error("--n and --reps must be at least 1")
    if not reps:
        a.reps = 1
    return a


def report(workload: str, system: str, n: int, value: float) -> None:
    """Print the one result line."""
    _dir, metric, unit, _full, _quick = WORKLOADS[workload]
    print(f"{workload} {system} {n} {metric}={value:.1f} {unit}", flush=True)


def fail(workload: str, system: str, msg: str) -> None:
    print(f"{workload} {system}: WRONG RESULT: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def check(ok: bool, workload: str, system: str, msg: str) -> None:
    if not ok:
        fail(workload, system, msg)


def skip(workload: str, system: str, msg: str) -> None:
    print(f"{workload} {system}: SKIPPED: {msg}", file=sys.stderr, flush=True)
    sys.exit(SKIP)


def rss_bytes() -> int:
    """Resident set size of this process now (VmRSS from /proc/self/status)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS line in /proc/self/status")


def nth_prime(k: int) -> int:
    """The k-th prime (1-based), computed directly, to check W6."""
    if k == 2000:
        return 17389  # bench-workloads.md
    found, c = 0, 1
    while found < k:
        c += 1
        if all(c % d for d in range(2, int(c**0.5) + 1)):
            found += 1
    return c


# W9: the size of one chunk of pure-Python work, and its checkable result.
W9_CHUNK = 40_000
W9_WORKERS = 8


def w9_chunk(k: int) -> int:
    """Chunk ``k`` of W9's work: pure-Python arithmetic, no I/O, no awaiting."""
    return sum(i * i % 7 for i in range(k, k + W9_CHUNK))


def w9_expected(n: int) -> int:
    """The sum of chunks 0..n-1, computed in closed form (i*i % 7 depends on
    i % 7 only), so that checking it costs nothing next to the work."""
    total = 0
    for k in range(n):
        full, rest = divmod(W9_CHUNK, 7)
        total += full * sum(r * r % 7 for r in range(7))
        total += sum(i * i % 7 for i in range(k + 7 * full, k + W9_CHUNK))
    return total


def import_runloom(workload: str, system: str):  # type: ignore[no-untyped-def]
    """The runloom module, or exit SKIP saying why it cannot run here."""
    try:
        import runloom  # type: ignore[import-not-found]
    except ImportError:
        skip(workload, system, "runloom is not installed (pip install runloom; it needs a free-threaded build)")
    return runloom


def hubs(a: argparse.Namespace, workload: str = "") -> int:
    """runloom's hub count: --gomaxprocs / $GOMAXPROCS, default 1."""
    import os

    n = a.gomaxprocs if a.gomaxprocs is not None else int(os.environ.get("GOMAXPROCS", "1"))
    if n > 1 and getattr(sys, "_is_gil_enabled", lambda: True)():
        skip(workload, "runloom", f"{n} hubs need a free-threaded build with the GIL off")
    return n
