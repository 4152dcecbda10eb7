"""The GOMAXPROCS default (_core/_cpus.py, _runtime.default_gomaxprocs).

With the GIL the default is 1; on a free-threaded build it is the CPUs the
process may use, as Go 1.25 computes them: the affinity mask, capped by the
cgroup CPU limit rounded up (at least 2). The cgroup reader is checked on
fake /proc and cgroup files laid out under a temporary root.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import run_python

from goroutines._core import _cpus
from goroutines._core._runtime import free_threaded

V2_MOUNTINFO = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
V1_MOUNTINFO = (
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:7 - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
)


def layout(root: Path, files: dict[str, str]) -> str:
    for rel, text in files.items():
        p = root / rel.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return str(root)


def v2(root: Path, cpu_max: str | None, path: str = "/app.slice/svc") -> str:
    files = {"/proc/self/cgroup": f"0::{path}\n", "/proc/self/mountinfo": V2_MOUNTINFO}
    if cpu_max is not None:
        files[f"/sys/fs/cgroup{path}/cpu.max"] = cpu_max + "\n"
    return layout(root, files)


def v1(root: Path, quota: int, period: int = 100_000, path: str = "/docker/abc") -> str:
    return layout(
        root,
        {
            "/proc/self/cgroup": f"12:memory:{path}\n4:cpu,cpuacct:{path}\n1:name=systemd:{path}\n",
            "/proc/self/mountinfo": V1_MOUNTINFO,
            f"/sys/fs/cgroup/cpu,cpuacct{path}/cpu.cfs_quota_us": f"{quota}\n",
            f"/sys/fs/cgroup/cpu,cpuacct{path}/cpu.cfs_period_us": f"{period}\n",
        },
    )


@pytest.fixture
def cpus(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Fake the affinity mask's size: set ``cpus[0]``."""
    box = [8]
    monkeypatch.setattr(_cpus, "affinity_cpus", lambda: box[0])
    return box


# --------------------------------------------------------------------------- cgroup v2


@pytest.mark.parametrize(
    ("cpu_max", "limit"),
    [("300000 100000", 3.0), ("150000 100000", 1.5), ("50000 100000", 0.5), ("max 100000", None)],
)
def test_v2_cpu_max_is_quota_over_period(tmp_path: Path, cpu_max: str, limit: float | None) -> None:
    assert _cpus.cgroup_cpu_limit(v2(tmp_path, cpu_max)) == limit


@pytest.mark.parametrize(
    ("cpu_max", "affinity", "want"),
    [
        ("300000 100000", 8, 3),  # the limit caps the mask
        ("300000 100000", 2, 2),  # the mask caps the limit
        ("150000 100000", 8, 2),  # a fractional limit rounds up
        ("250000 100000", 8, 3),
        ("50000 100000", 8, 2),  # a limit below 2 counts as 2, as in Go
        ("50000 100000", 1, 1),  # ... but never more than the mask
        ("max 100000", 8, 8),  # no limit: the mask
    ],
)
def test_default_is_the_mask_capped_by_the_rounded_up_limit(
    tmp_path: Path, cpus: list[int], cpu_max: str, affinity: int, want: int
) -> None:
    cpus[0] = affinity
    assert _cpus.available_cpus(v2(tmp_path, cpu_max)) == want


def test_v2_path_is_taken_relative_to_the_mounts_root(tmp_path: Path, cpus: list[int]) -> None:
    # A container's view: the hierarchy is mounted from its own cgroup.
    root = layout(
        tmp_path,
        {
            "/proc/self/cgroup": "0::/kubepods/pod1/ctr\n",
            "/proc/self/mountinfo": V2_MOUNTINFO.replace(" / /sys/fs/cgroup ", " /kubepods/pod1 /sys/fs/cgroup "),
            "/sys/fs/cgroup/ctr/cpu.max": "200000 100000\n",
        },
    )
    assert _cpus.cgroup_cpu_limit(root) == 2.0
    assert _cpus.available_cpus(root) == 2


def test_mount_points_with_escaped_spaces(tmp_path: Path) -> None:
    root = layout(
        tmp_path,
        {
            "/proc/self/cgroup": "0::/\n",
            "/proc/self/mountinfo": V2_MOUNTINFO.replace("/sys/fs/cgroup", "/cg\\040root"),
            "/cg root/cpu.max": "400000 100000\n",
        },
    )
    assert _cpus.cgroup_cpu_limit(root) == 4.0


# --------------------------------------------------------------------------- cgroup v1


@pytest.mark.parametrize(("quota", "limit"), [(250_000, 2.5), (100_000, 1.0), (-1, None)])
def test_v1_cfs_quota_over_period(tmp_path: Path, quota: int, limit: float | None) -> None:
    assert _cpus.cgroup_cpu_limit(v1(tmp_path, quota)) == limit


def test_v1_default(tmp_path: Path, cpus: list[int]) -> None:
    assert _cpus.available_cpus(v1(tmp_path, 250_000)) == 3
    cpus[0] = 2
    assert _cpus.available_cpus(v1(tmp_path, 250_000)) == 2


def test_hybrid_system_uses_the_v1_cpu_controller(tmp_path: Path) -> None:
    # Both hierarchies mounted; the cpu controller sits on v1, v2 has none.
    root = v1(tmp_path, 300_000, path="/")
    with open(os.path.join(root, "proc/self/cgroup"), "a") as f:
        f.write("0::/\n")
    with open(os.path.join(root, "proc/self/mountinfo"), "a") as f:
        f.write("41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n")
    assert _cpus.cgroup_cpu_limit(root) == 3.0


# --------------------------------------------------------------------------- no limit known


@pytest.mark.parametrize(
    "files",
    [
        {},  # no /proc at all
        {"/proc/self/cgroup": "0::/x\n", "/proc/self/mountinfo": V2_MOUNTINFO},  # cpu.max missing
        {
            "/proc/self/cgroup": "0::/x\n",
            "/proc/self/mountinfo": V2_MOUNTINFO,
            "/sys/fs/cgroup/x/cpu.max": "lots\n",
        },
        {
            "/proc/self/cgroup": "0::/x\n",
            "/proc/self/mountinfo": V2_MOUNTINFO,
            "/sys/fs/cgroup/x/cpu.max": "0 100000\n",
        },
        {"/proc/self/cgroup": "0::/x\n", "/proc/self/mountinfo": "garbage\n"},  # no cgroup mount
        {"/proc/self/cgroup": "", "/proc/self/mountinfo": V2_MOUNTINFO},  # in no cgroup
    ],
    ids=["no-proc", "no-cpu.max", "malformed", "zero-quota", "no-mount", "no-cgroup"],
)
def test_unreadable_or_malformed_files_mean_no_limit(tmp_path: Path, cpus: list[int], files: dict[str, str]) -> None:
    root = layout(tmp_path, files)
    assert _cpus.cgroup_cpu_limit(root) is None
    assert _cpus.available_cpus(root) == 8


def test_affinity_mask_is_counted() -> None:
    if hasattr(os, "sched_getaffinity"):
        assert _cpus.affinity_cpus() == len(os.sched_getaffinity(0))
    else:
        assert _cpus.affinity_cpus() == (os.cpu_count() or 1)


# --------------------------------------------------------------------------- the run's default


def _default_in_child(pre: str = "") -> int:
    code = f"{pre}\nimport goroutines as gr\nasync def main():\n    return gr.gomaxprocs()\nprint(gr.run(main))\n"
    r = run_python("-c", code, timeout=60)
    assert r.returncode == 0, r.stderr
    return int(r.stdout)


def test_run_default_is_1_with_the_gil_and_the_usable_cpus_without() -> None:
    want = _cpus.available_cpus() if free_threaded() else 1
    assert _default_in_child() == want


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no affinity masks here")
def test_run_default_follows_the_affinity_mask() -> None:
    one = min(os.sched_getaffinity(0))
    got = _default_in_child(f"import os; os.sched_setaffinity(0, {{{one}}})")
    assert got == 1  # with the GIL by rule, without it: one usable CPU
