"""How many CPUs this process may use: the GOMAXPROCS default where Ms run
in parallel (free-threaded builds), computed as Go 1.25 computes its own.

    cpus  = the CPUs in the process's affinity mask (sched_getaffinity)
    limit = the cgroup CPU bandwidth limit, quota / period, if any:
            cgroup v2 ``cpu.max`` ("max 100000" is no limit), or v1
            ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (quota -1: none)
    default = min(cpus, max(2, ceil(limit)))   with a limit
            = cpus                             without one

A fractional limit is rounded up (a 1.5-CPU quota allows two threads to run
part of the time), and a limit below 2 counts as 2, as in Go: with one P a
program cannot overlap anything; the affinity mask still caps it, so one
usable CPU gives 1.

Only the leaf cgroup holding the process is read (found through
/proc/self/cgroup and /proc/self/mountinfo), as Go does; a parent's tighter
limit is not seen. Anything unreadable or malformed means "no limit": the
files describe the machine, not the user's input, and the affinity mask
still applies. Unlike Go, the default is computed when a run starts and not
updated while it runs.

Every path is read under ``root`` (default "/"), so tests can lay out fake
/proc and cgroup files in a directory.
"""

from __future__ import annotations

import math
import os
import re

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def available_cpus(root: str = "/") -> int:
    """The default GOMAXPROCS where Ms run in parallel (module docstring)."""
    cpus = affinity_cpus()
    limit = cgroup_cpu_limit(root)
    if limit is not None:
        cpus = min(cpus, max(2, math.ceil(limit)))
    return max(1, cpus)


def affinity_cpus() -> int:
    """The number of CPUs in this process's affinity mask (else the machine's)."""
    getaffinity = getattr(os, "sched_getaffinity", None)
    if getaffinity is not None:
        try:
            return max(1, len(getaffinity(0)))
        except OSError:
            pass
    return max(1, os.cpu_count() or 1)


def cgroup_cpu_limit(root: str = "/") -> float | None:
    """The CPU bandwidth limit of this process's cgroup, in CPUs, or None."""
    try:
        return _limit(root)
    except (OSError, ValueError, IndexError):
        return None


def _read(root: str, path: str) -> str:
    with open(os.path.join(root, path.lstrip("/")), encoding="utf-8", errors="replace") as f:
        return f.read()


def _limit(root: str) -> float | None:
    # /proc/self/cgroup: "0::/path" (v2) or "N:cpu,cpuacct:/path" (v1).
    v2_path = None
    v1_path = None
    for line in _read(root, "/proc/self/cgroup").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hid, controllers, path = parts
        if hid == "0" and controllers == "":
            v2_path = path
        elif "cpu" in controllers.split(","):
            v1_path = path
    # A cpu controller on a v1 hierarchy is the one in force (a "hybrid"
    # system mounts v2 too, without controllers); else the v2 hierarchy's.
    mounts = _mounts(root)
    if v1_path is not None:
        for mount_root, mount_point, fstype, options in mounts:
            if fstype == "cgroup" and "cpu" in options:
                d = _cgroup_dir(mount_root, mount_point, v1_path)
                if d is not None:
                    return _v1_limit(root, d)
        return None
    if v2_path is not None:
        for mount_root, mount_point, fstype, _ in mounts:
            if fstype == "cgroup2":
                d = _cgroup_dir(mount_root, mount_point, v2_path)
                if d is not None:
                    return _v2_limit(root, d)
    return None


def _mounts(root: str) -> list[tuple[str, str, str, set[str]]]:
    """(root, mount point, fs type, super options) of each cgroup mount."""
    out = []
    for line in _read(root, "/proc/self/mountinfo").splitlines():
        # "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS"
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields = left.split()
        after = right.split()
        if len(fields) < 5 or len(after) < 3 or after[0] not in ("cgroup", "cgroup2"):
            continue
        out.append((_unescape(fields[3]), _unescape(fields[4]), after[0], set(after[2].split(","))))
    return out


def _unescape(s: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), s)


def _cgroup_dir(mount_root: str, mount_point: str, path: str) -> str | None:
    """Where ``path`` (as /proc/self/cgroup names it) is under a mount of the
    hierarchy whose root is ``mount_root``; None when it is not under it."""
    if mount_root == "/":
        rel = path
    elif path == mount_root or path.startswith(mount_root.rstrip("/") + "/"):
        rel = path[len(mount_root.rstrip("/")) :]
    else:
        return None
    return mount_point.rstrip("/") + "/" + rel.lstrip("/")


def _v2_limit(root: str, d: str) -> float | None:
    fields = _read(root, d.rstrip("/") + "/cpu.max").split()
    if len(fields) != 2 or fields[0] == "max":
        return None
    quota, period = int(fields[0]), int(fields[1])
    return quota / period if quota > 0 and period > 0 else None


def _v1_limit(root: str, d: str) -> float | None:
    quota = int(_read(root, d.rstrip("/") + "/cpu.cfs_quota_us").strip())
    period = int(_read(root, d.rstrip("/") + "/cpu.cfs_period_us").strip())
    return quota / period if quota > 0 and period > 0 else None
