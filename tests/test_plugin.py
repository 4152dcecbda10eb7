"""The pytest plugin (goroutines.testing._plugin), run through pytester."""

from __future__ import annotations

import importlib.util
import re
import time

import pytest

pytest_plugins = ["pytester"]


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # In process; the other async plugins (if installed) stay out of it.
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio", "-p", "no:anyio", *args)


def test_marked_async_test_runs_as_goroutine_1(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import goroutines as gr

        @pytest.mark.goroutines
        async def test_it(tmp_path):
            assert tmp_path.exists()  # fixtures are passed
            assert [g.id for g in gr.goroutines()] == [1]
            ch = gr.Chan()
            async def send():
                await ch.send(5)
            gr.go(send)
            assert await ch.recv() == 5

        def test_plain():
            assert gr.num_goroutine() == 0
        """
    )
    _run(pytester).assert_outcomes(passed=2)


def test_unmarked_async_test_is_not_ours_in_strict_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        async def test_it():
            pass
        """
    )
    res = _run(pytester)
    assert res.parseoutcomes().get("passed", 0) == 0


def test_auto_mode_runs_every_async_test(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ngoroutines_mode = auto\n")
    pytester.makepyfile(
        """
        import goroutines as gr

        async def test_a():
            await gr.sleep(0)
            assert gr.num_goroutine() == 1

        def test_sync():
            pass
        """
    )
    _run(pytester).assert_outcomes(passed=2)


def test_a_module_mark_leaves_plain_tests_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import goroutines as gr

        pytestmark = pytest.mark.goroutines

        async def test_async():
            assert gr.num_goroutine() == 1

        def test_plain():
            assert gr.num_goroutine() == 0
        """
    )
    _run(pytester).assert_outcomes(passed=2)


def test_bad_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ngoroutines_mode = sometimes\n")
    pytester.makepyfile("def test_x(): pass\n")
    res = _run(pytester)
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*goroutines_mode = 'sometimes': use 'strict' or 'auto'*"])


def test_gomaxprocs_and_seed_options_and_the_seed_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import goroutines as gr
        from goroutines import testing as grt

        @pytest.mark.goroutines
        async def test_it(goroutines_seed):
            assert gr.gomaxprocs() == 3
            assert goroutines_seed == 77 == grt.seed()

        @pytest.mark.goroutines(gomaxprocs=2, seed=5)
        async def test_marker_wins(goroutines_seed):
            assert gr.gomaxprocs() == 2
            assert goroutines_seed == 5 == grt.seed()
        """
    )
    _run(pytester, "--gomaxprocs", "3", "--goroutines-seed", "77").assert_outcomes(passed=2)


def test_each_test_gets_its_own_random_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from goroutines import testing as grt

        seeds = []

        @pytest.mark.goroutines
        @pytest.mark.parametrize("i", range(5))
        async def test_it(i, goroutines_seed):
            assert grt.seed() == goroutines_seed
            seeds.append(goroutines_seed)

        def test_distinct():
            assert len(set(seeds)) == 5
        """
    )
    _run(pytester).assert_outcomes(passed=6)


def test_a_leaked_goroutine_fails_the_test_with_its_dump(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import goroutines as gr

        async def stuck(ch):
            await ch.recv()

        async def finishing(ch):
            for _ in range(50):
                await gr.gosched()

        @pytest.mark.goroutines
        async def test_leaks():
            gr.go(stuck, gr.Chan())

        @pytest.mark.goroutines(leaks="ignore")
        async def test_allowed():
            gr.go(stuck, gr.Chan())

        @pytest.mark.goroutines(gomaxprocs=2)
        async def test_still_running_is_given_time_to_finish():
            gr.go(finishing, None)
        """
    )
    res = _run(pytester)
    res.assert_outcomes(passed=2, failed=1)
    res.stdout.fnmatch_lines(
        [
            "*1 goroutine(s) still alive when the test returned (leaked)*",
            "goroutine 2 [[]chan receive[]]:",
            "*stuck*",
        ]
    )
    assert "goroutine 1 [" not in res.stdout.str()  # the test itself is not listed


def test_a_failing_test_prints_its_seed_and_it_reruns(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.goroutines
        async def test_fails(goroutines_seed):
            assert goroutines_seed < 0, "always fails"
        """
    )
    res = _run(pytester)
    res.assert_outcomes(failed=1)
    out = res.stdout.str()
    m = re.search(r"goroutines seed: (\d+)", out)
    assert m, out
    assert f"--goroutines-seed={m.group(1)}" in out
    res2 = _run(pytester, f"--goroutines-seed={m.group(1)}")
    res2.assert_outcomes(failed=1)
    assert f"goroutines seed: {m.group(1)}" in res2.stdout.str()


def test_synctest_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import goroutines as gr
        from goroutines import testing as grt

        @pytest.mark.goroutines(synctest=True)
        async def test_hour():
            t0 = grt.now()
            await gr.sleep(3600)
            assert grt.now() - t0 == 3600
        """
    )
    t = time.perf_counter()
    _run(pytester).assert_outcomes(passed=1)
    assert time.perf_counter() - t < 5


def test_misuse_is_reported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.goroutines
        def test_sync():
            pass

        @pytest.mark.goroutines(leak="ignore")
        async def test_typo():
            pass

        @pytest.mark.goroutines(leaks="sometimes")
        async def test_bad_value():
            pass
        """
    )
    res = _run(pytester)
    res.assert_outcomes(failed=3)
    res.stdout.fnmatch_lines_random(
        [
            "*test_sync is marked goroutines but is not an async def function*",
            "*got [[]'leak'[]]; it takes*",
            "*leaks='sometimes': use 'fail' or 'ignore'*",
        ]
    )


@pytest.mark.timeout(30)
def test_pytest_timeout_ends_a_stuck_goroutines_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import goroutines as gr

        @pytest.mark.goroutines
        @pytest.mark.timeout(0.5, method="signal")
        async def test_stuck():
            await gr.sleep(100)

        @pytest.mark.goroutines
        async def test_next_one_runs():
            await gr.sleep(0)
        """
    )
    t = time.perf_counter()
    res = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    res.assert_outcomes(failed=1, passed=1)
    res.stdout.fnmatch_lines(["*Timeout*"])
    assert time.perf_counter() - t < 20


_HAVE_PEERS = all(importlib.util.find_spec(m) is not None for m in ("pytest_asyncio", "anyio"))


@pytest.mark.skipif(not _HAVE_PEERS, reason="needs pytest-asyncio and anyio (the test extra)")
@pytest.mark.timeout(60)
def test_coexists_with_pytest_asyncio_and_anyio(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        """
        import asyncio
        import pytest
        import goroutines as gr

        @pytest.mark.asyncio
        async def test_asyncio():
            await asyncio.sleep(0)
            assert gr.num_goroutine() == 0

        @pytest.mark.anyio
        async def test_anyio():
            import anyio
            await anyio.sleep(0)

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.goroutines
        async def test_goroutines():
            await gr.sleep(0)
            assert gr.num_goroutine() == 1
        """
    )
    res = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error::pytest.PytestUnraisableExceptionWarning")
    res.assert_outcomes(passed=3)
    # All three plugins were loaded.
    plugins = res.stdout.str()
    assert "asyncio" in plugins and "anyio" in plugins and "goroutines" in plugins


@pytest.mark.timeout(120)
def test_fifty_ten_second_timeouts_under_synctest(pytester: pytest.Pytester) -> None:
    # Each test waits for a 10 s context deadline: 500 s on a real clock.
    pytester.makepyfile(
        """
        import pytest
        import goroutines as gr
        from goroutines import testing as grt

        @pytest.mark.goroutines(synctest=True)
        @pytest.mark.parametrize("i", range(50))
        async def test_timeout(i):
            t0 = grt.now()
            ctx, cancel = gr.with_timeout(gr.background(), 10)
            i, _, _ = await gr.select(ctx.done().recv(), gr.Chan().recv())
            assert i == 0 and isinstance(ctx.err(), gr.DeadlineExceeded)
            assert grt.now() - t0 == 10
        """
    )
    cpu = time.process_time()
    t = time.perf_counter()
    res = _run(pytester)
    wall = time.perf_counter() - t
    cpu = time.process_time() - cpu
    res.assert_outcomes(passed=50)
    # Not one of them waited in real time (that alone would be 10 s), and
    # the whole suite's work is well under 2 s of CPU (wall time on a
    # loaded machine is noisy; docs/testing.md quotes measured figures).
    assert wall < 10, wall
    assert cpu < 2, cpu
