"""examples/race.py plants a race (a select relying on source order): many
seeds find it, and the seed of a failing run reproduces it exactly."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from helpers import goroutines_cmd

import goroutines as gr

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "race.py"
ALL = list(range(3))


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("race_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_100_seeds_find_the_race_and_a_failing_seed_reproduces_it() -> None:
    race = _load()
    results = {s: gr.run(race.run_jobs, gomaxprocs=1, seed=s) for s in range(100)}
    failing = [s for s, done in results.items() if done != ALL]
    # Half the seeds, give or take: the select picks quit over the last job.
    assert 10 < len(failing) < 90, failing
    for s in failing[:5]:
        assert gr.run(race.run_jobs, gomaxprocs=1, seed=s) == results[s]
    passing = [s for s in results if s not in failing]
    for s in passing[:5]:
        assert gr.run(race.run_jobs, gomaxprocs=1, seed=s) == ALL


@pytest.mark.timeout(120)
def test_the_plugin_finds_it_in_100_runs_and_the_printed_seed_reproduces_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_race_example=f"""
        import importlib.util
        import pytest

        spec = importlib.util.spec_from_file_location("race_example", {str(EXAMPLE)!r})
        race = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(race)

        @pytest.mark.goroutines(gomaxprocs=1)
        @pytest.mark.parametrize("attempt", range(100))
        async def test_every_job_is_done(attempt):
            assert await race.run_jobs() == [0, 1, 2]
        """
    )
    res = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio", "-p", "no:anyio", "-q")
    outcomes = res.parseoutcomes()
    assert 10 < outcomes.get("failed", 0) < 90, outcomes
    out = res.stdout.str()
    m = re.search(r"rerun with: pytest '([^']+)' --goroutines-seed=(\d+)", out)
    assert m, out
    nodeid, seed = m.group(1), m.group(2)
    again = pytester.runpytest(
        "-p", "no:cacheprovider", "-p", "no:asyncio", "-p", "no:anyio", "-q", nodeid, f"--goroutines-seed={seed}"
    )
    again.assert_outcomes(failed=1)
    assert "assert [0, 1] == [0, 1, 2]" in again.stdout.str()


def test_goroutines_seed_reproduces_a_command_line_run() -> None:
    outs = [
        goroutines_cmd("run", "--gomaxprocs", "1", str(EXAMPLE), env={"GOROUTINES_SEED": "1"}, timeout=60).stdout
        for _ in range(2)
    ]
    assert outs[0] == outs[1] == "worker did [0, 1]; 1 job(s) lost\n"
