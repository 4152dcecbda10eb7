"""The example programs, run as users run them: ``python -m goroutines run examples/X.py``.

Small arguments keep each run to a second or two; the assertions check the
programs' results (which are deterministic) and, loosely, the timings that
are the point of an example (blocking.py).
"""

from __future__ import annotations

import ast
import re
import subprocess

import pytest
from helpers import ROOT, goroutines_cmd

EXAMPLES = ROOT / "examples"

pytestmark = pytest.mark.timeout(90)

# The examples this file covers (examples/ may hold others, tested elsewhere).
COVERED = ["sieve.py", "pipeline.py", "pingpong.py", "blocking.py", "crawler.py"]


def run_example(
    name: str, *args: str, gomaxprocs: int | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    opts = ["--gomaxprocs", str(gomaxprocs)] if gomaxprocs is not None else []
    return goroutines_cmd("run", *opts, f"examples/{name}", *args, cwd=ROOT, timeout=timeout)


def ok(r: subprocess.CompletedProcess[str]) -> list[str]:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert r.stderr == "", r.stderr
    return r.stdout.splitlines()


def primes(n: int) -> list[int]:
    found: list[int] = []
    k = 2
    while len(found) < n:
        if all(k % p for p in found if p * p <= k):
            found.append(k)
        k += 1
    return found


@pytest.mark.parametrize("name", COVERED)
def test_each_example_explains_itself(name: str) -> None:
    source = (EXAMPLES / name).read_text()
    doc = ast.get_docstring(ast.parse(source))
    assert doc, f"{name} has no module docstring"
    assert f"goroutines run examples/{name}" in doc  # how to run it
    assert "Go" in doc  # the Go idiom and its Go equivalent
    assert "async def main()" in source
    assert "gr.run(" not in source  # the command runs main, as Go's runtime does


# ---------------------------------------------------------------------- sieve


@pytest.mark.parametrize("gomaxprocs", [1, 4])
def test_sieve_prints_the_first_100_primes_in_rows(gomaxprocs: int) -> None:
    lines = ok(run_example("sieve.py", gomaxprocs=gomaxprocs))
    rows, summary = lines[:-2], lines[-1]
    assert lines[-2] == ""
    got = [int(x) for row in rows for x in row.split()]
    assert got == primes(100)
    assert all(len(row.split()) == 10 for row in rows)
    assert len({len(row) for row in rows}) == 1  # aligned columns
    assert summary.startswith(
        "100 primes, the last is 541: 101 goroutines (main, 1 generator, 99 filters) in "
    )


def test_sieve_2000_ends_with_17389_as_the_readme_says() -> None:
    lines = ok(run_example("sieve.py", "2000"))
    assert lines[-3].split()[-1] == "17389"
    assert lines[-1].startswith("2000 primes, the last is 17389: 2001 goroutines")


def test_sieve_with_one_prime_and_a_bad_argument() -> None:
    lines = ok(run_example("sieve.py", "1"))
    assert lines[0].split() == ["2"]
    assert lines[-1].startswith("1 prime, the last is 2: 2 goroutines")
    r = run_example("sieve.py", "lots")
    assert r.returncode == 1
    assert "usage: sieve.py" in r.stderr


# ---------------------------------------------------------------------- pipeline

ITEM = re.compile(r"^  item +(\d+) -> +(\d+) +\(worker (\d+), \d+ ms\)$")


def items(lines: list[str]) -> list[tuple[int, int, int]]:
    out = []
    for line in lines:
        m = ITEM.match(line)
        if m:
            out.append((int(m[1]), int(m[2]), int(m[3])))
    return out


@pytest.mark.parametrize("gomaxprocs", [1, 2])
def test_pipeline_processes_every_item_once(gomaxprocs: int) -> None:
    lines = ok(run_example("pipeline.py", "3", "12", gomaxprocs=gomaxprocs))
    assert lines[0] == "pipeline: 12 items, 3 workers, ~20 ms of work each, timeout 2 s"
    got = items(lines)
    assert sorted(n for n, _, _ in got) == list(range(1, 13))
    assert all(v == n * n for n, v, _ in got)
    assert {w for _, _, w in got} <= {1, 2, 3}
    assert re.match(r"^done: 12/12 results in [\d.]+ s, sum of squares 650; per worker ", lines[-2])
    assert lines[-1] == "all 3 workers have stopped"
    assert not any("cancelling" in line for line in lines)


def test_pipeline_timeout_cancels_every_stage() -> None:
    lines = ok(run_example("pipeline.py", "2", "1000", "--timeout", "0.3"))  # 1000 items take ~10 s
    assert "timed out after 0.3 s: cancelling the pipeline" in lines
    m = re.match(r"^cancelled: (\d+)/1000 results in ([\d.]+) s", lines[-2])
    assert m, lines[-2]
    assert 0 < int(m[1]) < 1000
    assert len(items(lines)) == int(m[1])
    assert lines[-1] == "all 2 workers have stopped"  # results was closed: nobody leaked


def test_pipeline_limit_cancels_after_enough_results() -> None:
    lines = ok(run_example("pipeline.py", "4", "100", "--limit", "3"))
    assert "got the 3 results wanted: cancelling the pipeline" in lines
    assert len(items(lines)) == 3
    assert lines[-2].startswith("cancelled: 3/100 results")
    assert lines[-1] == "all 4 workers have stopped"


def test_pipeline_with_nothing_to_do() -> None:
    lines = ok(run_example("pipeline.py", "2", "0"))
    assert lines[-2].startswith("done: 0/0 results")


# ---------------------------------------------------------------------- pingpong


def test_pingpong_players_alternate() -> None:
    lines = ok(run_example("pingpong.py", "0.3", "0.05"))
    hits = [line.split() for line in lines[:-1]]
    assert len(hits) >= 3
    assert [int(n) for _, n in hits] == list(range(1, len(hits) + 1))
    names = [name for name, _ in hits]
    assert set(names) == {"ping", "pong"}
    assert all(a != b for a, b in zip(names, names[1:], strict=False))  # strictly alternating
    assert re.match(rf"^game over after {len(hits)} hits in [\d.]+ s$", lines[-1])


def test_pingpong_flat_out_reports_the_hand_off_rate() -> None:
    lines = ok(run_example("pingpong.py", "0.2", "0"))
    assert len(lines) == 1
    m = re.match(r"^game over after (\d+) hits in [\d.]+ s: [\d,]+ hand-offs a second", lines[0])
    assert m, lines[0]
    assert int(m[1]) > 100


# ---------------------------------------------------------------------- blocking

BATCH = re.compile(r"all done in ([\d.]+) s on (\d+) threads; .* ticked (\d+)x, longest gap (\d+) ms$")


@pytest.mark.parametrize("gomaxprocs", [1, 2])
def test_blocking_calls_run_side_by_side(gomaxprocs: int) -> None:
    lines = ok(run_example("blocking.py", gomaxprocs=gomaxprocs))
    assert lines[0].startswith("32 goroutines each block their thread for 50 ms (one after another: 1.60 s)")
    assert "gr.syscall(time.sleep, 0.05)" in lines[1]
    assert "time.sleep(0.05), unannotated" in lines[2]  # sleep-ok (output text)
    for line in lines[1:3]:
        m = BATCH.search(line)
        assert m, line
        elapsed, threads, ticks = float(m[1]), int(m[2]), int(m[3])
        # Side by side, not one after another (1.6 s): about 0.1 s on a quiet
        # machine; a loaded one has been seen at 1.0 s.
        assert elapsed < 1.3, line
        assert threads > 1, line
        assert ticks >= 1, line  # main kept running meanwhile


def test_blocking_rejects_bad_arguments() -> None:
    r = run_example("blocking.py", "0")
    assert r.returncode == 1
    assert "usage: blocking.py" in r.stderr


# ---------------------------------------------------------------------- crawler

VISIT = re.compile(r"^  ( *)(https://\S+) +(.*)$")


def visits(lines: list[str]) -> list[tuple[int, str, str]]:
    out = []
    for line in lines:
        m = VISIT.match(line)
        if m:
            out.append((len(m[1]) // 2, m[2], m[3]))
    return out


@pytest.mark.parametrize("gomaxprocs", [1, 2])
def test_crawler_visits_each_page_once(gomaxprocs: int) -> None:
    lines = ok(run_example("crawler.py", gomaxprocs=gomaxprocs))
    assert lines[0] == "crawling https://golang.org/ (depth 10, 4 fetches at a time, timeout 5 s)"
    seen = visits(lines)
    urls = [u for _, u, _ in seen]
    assert len(urls) == len(set(urls))  # the coordinator's dedup
    assert seen[0] == (0, "https://golang.org/", "The Go Programming Language")
    assert (1, "https://golang.org/cmd/", "(not found)") in seen
    assert max(d for d, _, _ in seen) <= 10
    found = sum(1 for _, _, t in seen if t != "(not found)")
    missing = len(seen) - found
    m = re.match(
        r"^done: (\d+) pages, (\d+) not found, in [\d.]+ s; at most (\d+) fetch(?:es)? in flight", lines[-1]
    )
    assert m, lines[-1]
    assert (int(m[1]), int(m[2])) == (found, missing) == (33, 4)  # the whole fake web
    assert 1 <= int(m[3]) <= 4  # the semaphore's bound


def test_crawler_semaphore_bounds_the_fetches_and_depth_limits_the_crawl() -> None:
    lines = ok(run_example("crawler.py", "--workers", "2", "--depth", "3"))
    seen = visits(lines)
    assert max(d for d, _, _ in seen) <= 3
    assert 4 <= len(seen) < 37
    m = re.search(r"at most (\d+) fetch(?:es)? in flight \(limit 2\)$", lines[-1])
    assert m, lines[-1]
    assert 1 <= int(m[1]) <= 2


def test_crawler_times_out_and_stops() -> None:
    # 37 fetches of ~50 ms one at a time take ~1.9 s: the 0.3 s timeout stops the crawl.
    lines = ok(run_example("crawler.py", "--workers", "1", "--latency", "0.05", "--timeout", "0.3"))
    assert lines[-1].startswith("timed out after 0.3 s, stopped: ")
    assert len(visits(lines)) < 37


def test_crawler_from_another_start_page() -> None:
    lines = ok(run_example("crawler.py", "https://golang.org/pkg/fmt/", "--depth", "0"))
    assert visits(lines) == [(0, "https://golang.org/pkg/fmt/", "Package fmt")]
    assert lines[-1].startswith("done: 1 page, 0 not found")
