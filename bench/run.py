#!/usr/bin/env python3
"""Run the benchmark programs in bench/workloads/ and print a table per workload.

Every (workload, system, setting) runs as its own process, ``--runs`` times
(default 5); the table shows the median of the per-process results (each of
which is already the best of ``--reps`` repetitions inside the process), the
min-max spread, and the ratio to goroutines and to Go at the same setting.
Runs are interleaved (run 1 of every row, then run 2, ...) so that slow drift
in a noisy machine's load spreads over all rows.

    python3 bench/run.py                      # everything, full size
    python3 bench/run.py --quick              # smoke test: small N, 1 run
    python3 bench/run.py --workloads W1,W2 --systems goroutines,asyncio --runs 3
    python3 bench/run.py --monitor-cost       # W1, W2: GOROUTINES_SYSMON=1 vs 0
    python3 bench/run.py --json results.json
    python3 bench/run.py --workloads W1,W2,W6,W9 --systems goroutines,runloom --ft-python .venv-ft/bin/python

Free-threaded build: with ``--ft-python`` (default: $GOROUTINES_FT_PYTHON, else
the repository's .venv-ft/bin/python when it exists) the goroutines rows run
on that interpreter too, as ``goroutines-ft``, and runloom (which needs it)
runs there as ``runloom-ft``, its hub count set like GOMAXPROCS.

stdlib only. See bench/README.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
import benchlib  # noqa: E402

SYSTEMS = ["goroutines", "asyncio", "uvloop", "trio", "gevent", "threads", "go", "runloom"]
# Python package a system needs (None: the standard library).
PACKAGES = {"goroutines": "goroutines", "uvloop": "uvloop", "trio": "trio", "gevent": "gevent", "runloom": "runloom"}
# Systems with a GOMAXPROCS knob (runloom: its hub count); the others run
# once per row at setting "-".
KNOB = {"goroutines", "go", "runloom"}
# Systems run on the free-threaded interpreter (--ft-python), as "<system>-ft";
# runloom runs only there.
FT_SYSTEMS = {"goroutines", "runloom", "threads"}
FT_ONLY = {"runloom"}
REF_SYSTEM, GO_SYSTEM = "goroutines", "go"
FT_REF, PEER_REF = "goroutines-ft", "runloom-ft"

# Extra rows: workload -> [(label, base system, extra args, (full N, quick N) or None)].
VARIANTS: dict[str, list[tuple[str, str, list[str], tuple[int, int] | None]]] = {
    "W3": [("goroutines-wg", "goroutines", ["--mode", "waitgroup"], None)],
    "W4": [("goroutines-1M", "goroutines", [], (1_000_000, 50_000))],
    "W5": [
        ("asyncio-wait", "asyncio", ["--mode", "wait"], None),
        ("uvloop-wait", "uvloop", ["--mode", "wait"], None),
    ],
    "W7": [
        ("goroutines-syscall", "goroutines", ["--mode", "syscall"], None),
        ("goroutines-socket", "goroutines", ["--mode", "socket"], None),
        ("asyncio-to_thread", "asyncio", ["--mode", "to_thread"], None),
        ("uvloop-to_thread", "uvloop", ["--mode", "to_thread"], None),
        ("trio-to_thread", "trio", ["--mode", "to_thread"], None),
        ("gevent-threadpool", "gevent", ["--mode", "threadpool"], None),
    ],
}
# Per-system sizes that differ from the workload's (see the program's docstring).
N_OVERRIDE: dict[tuple[str, str], tuple[int, int]] = {
    ("W4", "threads"): (10_000, 1_000),  # pid_max / max_map_count: no 100k threads here
}
MONITOR_WORKLOADS = ["W1", "W2"]
LINE = re.compile(r"^(W\d+) (\S+) (\d+) (\w+)=(\S+) (\S+)$")
DESCRIPTIONS = {
    "W1": "pingpong: ns per round trip",
    "W2": "prodcons (cap 128): ns per item",
    "W3": "spawn + run + join: ns per goroutine",
    "W4": "idle memory: RSS bytes per parked goroutine",
    "W5": "4-way select: ns per message",
    "W6": "prime sieve: total ms",
    "W7": "32 blocking 50 ms calls: total ms (ideal ~50)",
    "W8": "fan-out to 8 workers and back: ns per item",
    "W9": "8 goroutines share 160 chunks of pure-Python work: total ms",
}


@dataclass
class Row:
    workload: str
    label: str  # shown in the table, e.g. "goroutines-syscall"
    system: str  # program: <system>_impl.py or go_impl.go
    setting: str  # "1", "2" (GOMAXPROCS) or "-"
    n: int
    args: list[str]
    env: dict[str, str]
    python: str = ""  # the interpreter (Python programs)
    values: list[float] = field(default_factory=list)
    status: str = "ok"  # ok | FAIL | skipped
    error: str = ""
    stderr_notes: list[str] = field(default_factory=list)

    @property
    def setting_text(self) -> str:
        if self.setting == "-":
            return "-"
        return f"hubs={self.setting}" if self.system == "runloom" else f"GOMAXPROCS={self.setting}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", default=None, help="comma-separated, e.g. W1,W2 (default: all)")
    p.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of {','.join(SYSTEMS)}")
    p.add_argument("--runs", type=int, default=None, help="processes per row (default 5; 1 with --quick)")
    p.add_argument("--reps", type=int, default=3, help="repetitions inside each process (best kept); W4 always 1")
    p.add_argument("--procs", default="1,2", help="GOMAXPROCS settings for goroutines and Go (default 1,2)")
    p.add_argument("--quick", action="store_true", help="small N: a smoke test of every program")
    p.add_argument("--no-variants", action="store_true", help="only the base row of each system")
    p.add_argument(
        "--monitor-cost",
        action="store_true",
        help="W1 and W2 (or --workloads) for goroutines only, GOROUTINES_SYSMON=1 vs 0",
    )
    p.add_argument("--timeout", type=float, default=None, help="seconds per process (default 1800; 300 with --quick)")
    p.add_argument("--json", metavar="OUT", help="also write all results to this JSON file")
    p.add_argument(
        "--ft-python",
        default=None,
        help="a free-threaded interpreter for the -ft rows (default: $GOROUTINES_FT_PYTHON, else "
        ".venv-ft/bin/python if it exists; 'none': no -ft rows)",
    )
    p.add_argument(
        "--ft-systems",
        default="goroutines,runloom",
        help=f"systems also run on the free-threaded interpreter (subset of {','.join(sorted(FT_SYSTEMS))})",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show every run's output and stderr")
    a = p.parse_args(argv)
    if a.workloads is None:
        a.workloads = ",".join(MONITOR_WORKLOADS if a.monitor_cost else benchlib.WORKLOADS)
    a.workloads = [w.strip().upper() for w in a.workloads.split(",") if w.strip()]
    a.systems = [s.strip().lower() for s in a.systems.split(",") if s.strip()]
    a.procs = [s.strip() for s in a.procs.split(",") if s.strip()]
    for w in a.workloads:
        if w not in benchlib.WORKLOADS:
            p.error(f"unknown workload {w!r}; choose from {', '.join(benchlib.WORKLOADS)}")
    for s in a.systems:
        if s not in SYSTEMS:
            p.error(f"unknown system {s!r}; choose from {', '.join(SYSTEMS)}")
    for s in a.procs:
        if not s.isdigit() or int(s) < 1:
            p.error(f"--procs: {s!r} is not a positive whole number")
    a.ft_systems = [s.strip().lower() for s in a.ft_systems.split(",") if s.strip()]
    for s in a.ft_systems:
        if s not in FT_SYSTEMS:
            p.error(f"--ft-systems: {s!r} cannot run there; choose from {', '.join(sorted(FT_SYSTEMS))}")
    if a.ft_python is None:
        a.ft_python = os.environ.get("GOROUTINES_FT_PYTHON") or ""
        if not a.ft_python and (REPO / ".venv-ft" / "bin" / "python").exists():
            a.ft_python = str(REPO / ".venv-ft" / "bin" / "python")
    elif a.ft_python.lower() == "none":
        a.ft_python = ""
    elif shutil.which(a.ft_python) is None and not Path(a.ft_python).exists():
        p.error(f"--ft-python: {a.ft_python!r} is not an interpreter on this machine")
    elif Path(a.ft_python).exists():
        # The programs run with bench/ as their directory: a relative path
        # given from elsewhere must not change meaning.
        a.ft_python = str(Path(a.ft_python).absolute())
    if a.monitor_cost:
        a.systems = ["goroutines"]
        a.ft_python = ""
    if a.runs is None:
        a.runs = 1 if a.quick else 5
    if a.timeout is None:
        a.timeout = 300.0 if a.quick else 1800.0
    if a.runs < 1 or a.reps < 1:
        p.error("--runs and --reps must be at least 1")
    return a


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ft_has(ft: str, package: str, env: dict[str, str]) -> bool:
    """Whether the free-threaded interpreter ``ft`` can import ``package``."""
    r = subprocess.run([ft, "-c", f"import {package}"], env=env, capture_output=True, text=True)
    return r.returncode == 0


def available_systems(wanted: list[str], env: dict[str, str], a: argparse.Namespace) -> list[tuple[str, str, str]]:
    """(label, system, interpreter) for each wanted system that can run here,
    plus its -ft twin when a free-threaded interpreter is given; says why for
    each one that cannot."""
    out: list[tuple[str, str, str]] = []
    for s in wanted:
        if s == "go":
            if shutil.which("go") is None:
                log("skip go: no `go` on PATH")
                continue
        elif s in FT_ONLY:
            pass
        elif s in PACKAGES and importlib.util.find_spec(PACKAGES[s]) is None:
            if s == "goroutines" and (REPO / "src" / "goroutines" / "__init__.py").exists():
                env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
                log(f"note: goroutines is not installed; using {REPO / 'src'} (pip install -e . to install it)")
            else:
                log(
                    f"skip {s}: Python package {PACKAGES[s]!r} is not installed "
                    f"(pip install {PACKAGES[s]}, or pip install -e '.[bench]')"
                )
                continue
        if s not in FT_ONLY:
            out.append((s, s, "" if s == "go" else sys.executable))
        if s in FT_SYSTEMS and (s in a.ft_systems or s in FT_ONLY):
            if not a.ft_python:
                log(f"skip {s}-ft: no free-threaded interpreter (--ft-python, or make .venv-ft)")
            elif s in PACKAGES and not ft_has(a.ft_python, PACKAGES[s], env):
                log(f"skip {s}-ft: {a.ft_python} cannot import {PACKAGES[s]!r} ({a.ft_python} -m pip install {PACKAGES[s]})")
            else:
                out.append((f"{s}-ft", s, a.ft_python))
    return out


def has_program(workload: str, system: str) -> bool:
    name = "go_impl.go" if system == "go" else f"{system}_impl.py"
    return (BENCH / "workloads" / benchlib.WORKLOADS[workload][0] / name).exists()


def make_rows(
    a: argparse.Namespace, workload: str, systems: list[tuple[str, str, str]], base_env: dict[str, str]
) -> list[Row]:
    _dir, _metric, _unit, full, quick = benchlib.WORKLOADS[workload]
    specs: list[tuple[str, str, list[str], int, dict[str, str], str]] = []
    for tag, s, py in systems:
        if not has_program(workload, s):
            continue  # e.g. W9 exists only for goroutines, runloom and threads
        ft = "-ft" if tag.endswith("-ft") else ""
        nf, nq = N_OVERRIDE.get((workload, s), (full, quick))
        if a.monitor_cost:
            specs.append(("goroutines sysmon=1", s, [], nq if a.quick else nf, {"GOROUTINES_SYSMON": "1"}, py))
            specs.append(("goroutines sysmon=0", s, [], nq if a.quick else nf, {"GOROUTINES_SYSMON": "0"}, py))
            continue
        specs.append((tag, s, [], nq if a.quick else nf, {}, py))
        if a.no_variants:
            continue
        for label, base, args, sizes in VARIANTS.get(workload, []):
            if base == s:
                vf, vq = sizes or (nf, nq)
                specs.append((label + ft, s, args, vq if a.quick else vf, {}, py))
    rows = []
    for label, s, args, n, extra_env, py in specs:
        for setting in a.procs if s in KNOB else ["-"]:
            env = dict(base_env)
            env.pop("GOMAXPROCS", None)
            if setting != "-":
                env["GOMAXPROCS"] = setting
            env.update(extra_env)
            rows.append(Row(workload, label, s, setting, n, args, env, py))
    return rows


def build_go(workload: str, tmp: Path) -> tuple[Path | None, str]:
    src = BENCH / "workloads" / benchlib.WORKLOADS[workload][0] / "go_impl.go"
    exe = tmp / f"{workload.lower()}_go"
    env = dict(os.environ, GO111MODULE="off", CGO_ENABLED="0")
    r = subprocess.run(
        ["go", "build", "-o", str(exe), str(src)], cwd=tmp, env=env, capture_output=True, text=True
    )
    if r.returncode != 0:
        return None, f"go build failed: {(r.stderr or r.stdout).strip()}"
    return exe, ""


def command(row: Row, a: argparse.Namespace, go_exe: Path | None) -> list[str]:
    tail = ["--n", str(row.n)]
    if row.workload != "W4":
        tail += ["--reps", str(a.reps)]
    if row.system == "go":
        assert go_exe is not None
        return [str(go_exe), *tail]
    prog = BENCH / "workloads" / benchlib.WORKLOADS[row.workload][0] / f"{row.system}_impl.py"
    return [row.python or sys.executable, str(prog), *tail, *row.args]


def run_once(row: Row, cmd: list[str], a: argparse.Namespace) -> None:
    tag = f"[{row.workload} {row.label} {row.setting_text}]"
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, env=row.env, capture_output=True, text=True, timeout=a.timeout, cwd=BENCH)
    except subprocess.TimeoutExpired:
        row.status, row.error = "FAIL", f"timed out after {a.timeout:.0f} s"
        log(f"{tag} FAIL: {row.error}")
        return
    wall = time.monotonic() - t0
    err = r.stderr.strip()
    if r.returncode == benchlib.SKIP:
        row.status, row.error = "skipped", err.splitlines()[-1] if err else "skipped"
        log(f"{tag} skipped: {row.error}")
        return
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    m = LINE.match(lines[0]) if len(lines) == 1 else None
    if r.returncode != 0 or m is None or m.group(1) != row.workload:
        why = f"exit status {r.returncode}" if r.returncode != 0 else f"expected one result line, got {lines!r}"
        tail = "\n    ".join(err.splitlines()[-8:])
        row.status, row.error = "FAIL", why + (f"; stderr: {tail}" if tail else "")
        log(f"{tag} FAIL: {why}" + (f"\n    {tail}" if tail else ""))
        return
    row.values.append(float(m.group(5)))
    if err and err not in row.stderr_notes:
        row.stderr_notes.append(err)
    log(f"{tag} {m.group(5)} {m.group(6)}  ({wall:.1f} s)" + (f"\n    stderr: {err}" if a.verbose and err else ""))


def ratio(row: Row, rows: list[Row], ref_label: str) -> float | None:
    """row's median / the reference row's (same setting if it has one, else GOMAXPROCS=1)."""
    if row.status != "ok" or not row.values:
        return None
    refs = {r.setting: r for r in rows if r.label == ref_label and r.status == "ok" and r.values}
    ref = refs.get(row.setting) or refs.get("1") or next(iter(refs.values()), None)
    if ref is None or ref is row:
        return None
    base = statistics.median(ref.values)
    return statistics.median(row.values) / base if base else None


def scaling(row: Row, rows: list[Row]) -> float | None:
    """row's median / the same row's at setting 1 (how GOMAXPROCS or hubs > 1 pays)."""
    if row.setting in ("-", "1") or row.status != "ok" or not row.values:
        return None
    one = [r for r in rows if r.label == row.label and r.setting == "1" and r.status == "ok" and r.values]
    if not one:
        return None
    base = statistics.median(one[0].values)
    return statistics.median(row.values) / base if base else None


def fmt(v: float) -> str:
    return f"{v:,.1f}"


def table(workload: str, rows: list[Row], a: argparse.Namespace, ref_label: str) -> str:
    _dir, metric, unit, _full, _quick = benchlib.WORKLOADS[workload]
    head = (
        f"{workload} {DESCRIPTIONS[workload]} — median of {a.runs} process run(s)"
        + ("" if workload == "W4" else f", each the best of {a.reps}")
        + (" [quick]" if a.quick else "")
    )
    labels = {r.label for r in rows}
    refs = [ref_label] + [x for x in (FT_REF, PEER_REF, GO_SYSTEM) if x in labels and x != ref_label]
    cols = ["system", "setting", "N", f"median {unit}", "min–max", "vs setting 1"]
    cols += [f"vs {'Go' if x == GO_SYSTEM else x}" for x in refs]
    body = []
    for r in rows:
        if r.status != "ok" or not r.values:
            body.append([r.label, r.setting_text, f"{r.n:,}", r.status] + [""] * (len(cols) - 4))
            continue
        sc = scaling(r, rows)
        cells = [
            r.label,
            r.setting_text,
            f"{r.n:,}",
            fmt(statistics.median(r.values)),
            f"{fmt(min(r.values))}–{fmt(max(r.values))}",
            "—" if sc is None else f"{sc:.2f}x",
        ]
        for x in refs:
            v = ratio(r, rows, x)
            cells.append("—" if v is None else f"{v:.2f}x")
        body.append(cells)
    widths = [max(len(c), *(len(b[i]) for b in body)) if body else len(c) for i, c in enumerate(cols)]
    right = set(range(2, len(cols)))

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    out = [head, line(cols), line(["-" * w for w in widths])]
    out += [line(b) for b in body]
    notes = [f"  {r.status}: {r.label} {r.setting_text}: {r.error}" for r in rows if r.status != "ok"]
    return "\n".join(out + notes)


def meta(a: argparse.Namespace) -> dict[str, object]:
    go_version = ""
    if shutil.which("go"):
        go_version = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "ft_python": a.ft_python,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "go": go_version,
        "loadavg": [round(x, 2) for x in load],
        "runs": a.runs,
        "reps": a.reps,
        "quick": a.quick,
        "monitor_cost": a.monitor_cost,
    }


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    base_env = dict(os.environ)
    systems = available_systems(a.systems, base_env, a)
    ref_label = "goroutines sysmon=1" if a.monitor_cost else REF_SYSTEM
    info = meta(a)
    print(
        f"# goroutines bench: Python {info['python']} on {info['platform']}, {info['cpus']} CPUs, "
        f"{info['go'] or 'no Go'}; load {info['loadavg']}"
    )
    print(
        f"# vs {ref_label} / vs Go: this row's median / that system's median at the same GOMAXPROCS "
        "(rows with no setting: GOMAXPROCS=1); lower is better everywhere"
    )
    if a.ft_python:
        ftv = subprocess.run(
            [a.ft_python, "-c", "import sys; print(sys.version.split()[0], 'GIL', 'on' if sys._is_gil_enabled() else 'off')"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        print(f"# -ft rows: {a.ft_python} (Python {ftv}); vs setting 1: this row / the same row at GOMAXPROCS (hubs) 1")
    if a.monitor_cost:
        print("# monitor cost: goroutines with GOROUTINES_SYSMON=1 vs 0 (the runtime decides what 0 means)")
    all_rows: list[Row] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="gr-bench-") as tmpdir:
        for w in a.workloads:
            rows = make_rows(a, w, systems, base_env)
            if not rows:
                continue
            go_exe: Path | None = None
            if any(r.system == "go" for r in rows):
                go_exe, err = build_go(w, Path(tmpdir))
                if go_exe is None:
                    for r in rows:
                        if r.system == "go":
                            r.status, r.error = "FAIL", err
                    log(f"[{w} go] {err}")
            for _ in range(a.runs):
                for r in rows:
                    if r.status == "ok":
                        run_once(r, command(r, a, go_exe), a)
            print()
            print(table(w, rows, a, ref_label), flush=True)
            all_rows += rows
            failed |= any(r.status == "FAIL" for r in rows)
    if a.json:
        rec = []
        for r in all_rows:
            ok = r.status == "ok" and bool(r.values)
            _d, metric, unit, _f, _q = benchlib.WORKLOADS[r.workload]
            rec.append(
                {
                    "workload": r.workload,
                    "system": r.label,
                    "program": r.system,
                    "python": r.python,
                    "setting": r.setting,
                    "n": r.n,
                    "metric": metric,
                    "unit": unit,
                    "env": {k: r.env[k] for k in ("GOMAXPROCS", "GOROUTINES_SYSMON") if k in r.env},
                    "args": r.args,
                    "values": r.values,
                    "median": statistics.median(r.values) if ok else None,
                    "min": min(r.values) if ok else None,
                    "max": max(r.values) if ok else None,
                    "vs_goroutines": ratio(r, [x for x in all_rows if x.workload == r.workload], ref_label),
                    "vs_go": ratio(r, [x for x in all_rows if x.workload == r.workload], GO_SYSTEM),
                    "vs_goroutines_ft": ratio(r, [x for x in all_rows if x.workload == r.workload], FT_REF),
                    "vs_runloom_ft": ratio(r, [x for x in all_rows if x.workload == r.workload], PEER_REF),
                    "vs_setting_1": scaling(r, [x for x in all_rows if x.workload == r.workload]),
                    "status": r.status,
                    "error": r.error,
                    "stderr": r.stderr_notes,
                }
            )
        Path(a.json).write_text(json.dumps({"meta": info, "results": rec}, indent=2) + "\n")
        log(f"wrote {a.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
