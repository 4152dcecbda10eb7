"""gr.run(seed=...) and GOROUTINES_SEED: every random choice of the runtime
comes from the run's seed, so a seeded run at gomaxprocs=1 repeats itself."""

from __future__ import annotations

from typing import Any

import pytest

import goroutines as gr
from goroutines import testing as grt


async def _choices(n: int) -> list[int]:
    """n selects over two always-ready cases: which one each took."""
    a, b = gr.Chan(1), gr.Chan(1)
    out = []
    for _ in range(n):
        await a.send(0)
        await b.send(1)
        i, _, _ = await gr.select(a.recv(), b.recv())
        out.append(i)
        # drain the other one
        await (b if i == 0 else a).recv()
    return out


async def _interleaving() -> list[str]:
    """Workers feeding two buffered channels; main selects over both, so
    several cases are often ready: the order main sees values in."""
    log: list[str] = []
    chans = [gr.Chan(2), gr.Chan(2)]

    async def worker(name: str, ch: gr.Chan[str]) -> None:
        for k in range(25):
            await ch.send(f"{name}{k}")
            await gr.gosched()  # let the others fill the buffers too

    for n, name in enumerate("abcd"):
        gr.go(worker, name, chans[n % 2])
    for _ in range(100):
        await gr.gosched()  # the workers fill both buffers meanwhile
        _, v, _ = await gr.select(chans[0].recv(), chans[1].recv())
        log.append(v)
    return log


def test_same_seed_same_choices() -> None:
    r1 = gr.run(_choices, 200, gomaxprocs=1, seed=42)
    r2 = gr.run(_choices, 200, gomaxprocs=1, seed=42)
    assert r1 == r2
    assert 40 < sum(r1) < 160  # still uniform: both cases taken


def test_different_seeds_different_choices() -> None:
    runs = {tuple(gr.run(_choices, 64, gomaxprocs=1, seed=s)) for s in range(5)}
    assert len(runs) == 5


def test_same_seed_same_interleaving() -> None:
    logs = [gr.run(_interleaving, gomaxprocs=1, seed=7) for _ in range(3)]
    assert logs[0] == logs[1] == logs[2]
    others = {tuple(gr.run(_interleaving, gomaxprocs=1, seed=s)) for s in range(8)}
    assert len(others) > 1  # the seed does decide it


def test_env_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOROUTINES_SEED", "1234")
    r1 = gr.run(_choices, 100, gomaxprocs=1)
    assert grt.seed() == 1234
    monkeypatch.delenv("GOROUTINES_SEED")
    assert gr.run(_choices, 100, gomaxprocs=1, seed=1234) == r1
    # The argument wins over the environment.
    monkeypatch.setenv("GOROUTINES_SEED", "99")
    assert gr.run(_choices, 100, gomaxprocs=1, seed=1234) == r1


def test_unseeded_run_records_its_seed_and_it_reproduces() -> None:
    r1 = gr.run(_choices, 100, gomaxprocs=1)
    s = grt.seed()
    assert isinstance(s, int)
    assert gr.run(_choices, 100, gomaxprocs=1, seed=s) == r1


def test_seed_is_visible_inside_the_run() -> None:
    async def main() -> Any:
        return grt.seed()

    assert gr.run(main, seed=5) == 5


@pytest.mark.parametrize("bad", ["12", 1.5, True])
def test_bad_seed_is_a_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="seed must be an int"):
        gr.run(_choices, 1, seed=bad)


def test_bad_env_seed_is_a_value_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOROUTINES_SEED", "abc")
    with pytest.raises(ValueError, match="GOROUTINES_SEED='abc' is not a whole number"):
        gr.run(_choices, 1)


@pytest.mark.parametrize("procs", [2, 4])
def test_seeded_runs_on_several_procs_still_work(procs: int) -> None:
    # More Ps: each draws from its own generator derived from the seed.
    assert len(gr.run(_interleaving, gomaxprocs=procs, seed=3)) == 100
