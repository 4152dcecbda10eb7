"""The execution tracer's output: gr.trace(), the Chrome Trace Event JSON, the HTML page, the CLI.

The JSON is checked against the Trace Event Format (every event has the
fields its phase needs, B/E pairs match, complete events on one thread never
overlap, which Perfetto requires) and against what the traced program did.
The HTML page is opened in a real headless browser (Debian's chromium;
skipped when missing) and the DOM its script built is inspected: one lane
per M and goroutine runs drawn in them.
"""

from __future__ import annotations

import html.parser
import json
import math
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import goroutines_cmd

import goroutines as gr
from goroutines._tracefmt import load_trace

pytestmark = [pytest.mark.usefixtures("no_leaked_runtime_threads"), pytest.mark.timeout(90)]

PROGRAMS = Path(__file__).parent / "programs"
PHASES = set("BEXiIC") | {"M", "b", "e", "n", "s", "t", "f", "P", "O", "N", "D"}


# --------------------------------------------------------------------------- validation


def validate(doc: Any) -> list[dict[str, Any]]:
    """Check ``doc`` against the Trace Event Format; return its events."""
    assert isinstance(doc, dict), "the object form: {traceEvents: [...]}"
    events = doc["traceEvents"]
    assert isinstance(events, list)
    assert doc.get("displayTimeUnit", "ms") in ("ms", "ns")
    if "otherData" in doc:
        assert isinstance(doc["otherData"], dict)
    open_b: dict[tuple[int, int], list[str]] = {}
    by_tid: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for e in events:
        assert isinstance(e, dict), e
        ph = e.get("ph")
        assert ph in PHASES, e
        assert isinstance(e.get("name"), str) and e["name"], e
        assert isinstance(e.get("pid"), int), e
        assert isinstance(e.get("tid"), int), e
        if "args" in e:
            assert isinstance(e["args"], dict), e
        if ph == "M":
            assert e["name"] in ("process_name", "thread_name", "thread_sort_index", "process_sort_index"), e
            if e["name"].endswith("_name"):
                assert isinstance(e["args"]["name"], str)
            else:
                assert isinstance(e["args"]["sort_index"], int)
            continue
        ts = e.get("ts")
        assert isinstance(ts, int | float) and math.isfinite(ts) and ts >= 0, e
        key = (e["pid"], e["tid"])
        if ph == "X":
            dur = e.get("dur")
            assert isinstance(dur, int | float) and math.isfinite(dur) and dur >= 0, e
            by_tid.setdefault(key, []).append((ts, ts + dur))
        elif ph in "iI":
            assert e.get("s", "t") in ("g", "p", "t"), e
        elif ph == "C":
            assert e["args"] and all(isinstance(v, int | float) for v in e["args"].values()), e
        elif ph == "B":
            open_b.setdefault(key, []).append(e["name"])
        elif ph == "E":
            assert open_b.get(key), f"E without B: {e}"
            open_b[key].pop()
    assert not any(open_b.values()), f"B without E: {open_b}"
    for key, spans in by_tid.items():
        spans.sort()
        for (s0, e0), (s1, e1) in zip(spans, spans[1:], strict=False):
            assert s1 >= e0 - 0.002, f"complete events overlap on {key}: {(s0, e0)} and {(s1, e1)}"
    return events


def strict_json(text: str) -> Any:
    def bad(name: str) -> Any:
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=bad)


def lanes_of(events: list[dict[str, Any]]) -> dict[int, str]:
    return {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}


def spans(events: list[dict[str, Any]], gid: int | None = None) -> list[dict[str, Any]]:
    return [e for e in events if e["ph"] == "X" and (gid is None or e["args"]["goroutine"] == gid)]


def instants(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["ph"] == "i" and e["name"] == name]


# --------------------------------------------------------------------------- a traced program


async def receiver(ch: gr.Chan[int], n: int, done: gr.Chan[None]) -> None:
    for _ in range(n):
        await ch.recv()
    await done.send(None)


async def napper(start: gr.Chan[None], done: gr.Chan[None]) -> None:
    await start.recv()
    await gr.sleep(0.002)
    await done.send(None)


async def caller(start: gr.Chan[None], done: gr.Chan[None]) -> None:
    await start.recv()
    await gr.syscall(time.sleep, 0.002)
    await done.send(None)


async def selector(a: gr.Chan[int], done: gr.Chan[None]) -> None:
    await gr.select(a.recv(), None)
    await done.send(None)


async def traced_body(wait: Any) -> dict[str, int]:
    done: gr.Chan[None] = gr.Chan(4)
    ch: gr.Chan[int] = gr.Chan()
    a: gr.Chan[int] = gr.Chan()
    # napper and caller wait for ``start`` so that none of them can end before
    # all four exist (at P=2 another M runs them meanwhile): the goroutine
    # count then reaches 5 whatever the timing.
    start: gr.Chan[None] = gr.Chan()
    ids = {
        "receiver": gr.go(receiver, ch, 5, done).id,
        "napper": gr.go(napper, start, done).id,
        "caller": gr.go(caller, start, done).id,
        "selector": gr.go(selector, a, done).id,
    }
    start.close()
    # park both first, so their runs end blocked whatever the number of Ms
    await wait.parked(ids["receiver"], "chan receive")
    await wait.parked(ids["selector"], "select")
    for i in range(5):
        await ch.send(i)
    await a.send(1)
    for _ in range(4):
        await done.recv()
    return ids


@pytest.mark.parametrize("procs", [1, 2])
def test_trace_inside_a_run_is_valid_and_tells_what_happened(procs: int, tmp_path: Path, wait: Any) -> None:
    path = tmp_path / "t.json"

    async def main() -> tuple[dict[str, int], int]:
        with gr.trace(path) as t:
            ids = await traced_body(wait)
        return ids, t.events

    ids, nevents = gr.run(main, gomaxprocs=procs)
    doc = strict_json(path.read_text())
    events = validate(doc)
    assert nevents > 0
    lanes = lanes_of(events)
    m_lanes = {tid for tid, name in lanes.items() if name.startswith("M")}
    assert all(name == f"M{tid - 1}" for tid, name in lanes.items() if tid in m_lanes), lanes
    used = {e["tid"] for e in events if e["ph"] in "Xi"}
    assert used <= set(lanes), "every event is on a named lane"
    assert {e["tid"] for e in spans(events)} <= m_lanes, "goroutines run on Ms"

    for fn, gid in ids.items():
        ss = spans(events, gid)
        assert ss, f"no runs for {fn}"
        for s in ss:
            assert s["name"] == f"G{gid} {fn}" + (" (syscall)" if s["cat"] == "syscall" else ""), s
            assert s["args"]["function"] == fn and s["cat"] in ("goroutine", "syscall"), s
        assert all(s["args"]["created_by"] == 1 for s in ss)
        assert ss[-1]["args"]["ended"] == "exit", ss[-1]
        create = [e for e in instants(events, "create") if e["args"]["goroutine"] == gid]
        assert len(create) == 1 and create[0]["args"]["parent"] == 1
    reasons = lambda gid: {s["args"].get("blocked_on") for s in spans(events, gid)}  # noqa: E731
    assert "chan receive" in reasons(ids["receiver"])
    assert "sleep" in reasons(ids["napper"])
    assert "select" in reasons(ids["selector"])
    assert "chan send" in reasons(1) or "chan receive" in reasons(1)
    sys_spans = [s for s in spans(events, ids["caller"]) if s["cat"] == "syscall"]
    assert len(sys_spans) == 1 and sys_spans[0]["dur"] >= 1000, sys_spans  # the program sleeps 2 ms in a call; # sleep-ok
    assert [e["args"]["goroutine"] for e in instants(events, "syscall")] == [ids["caller"]]
    assert {e["args"]["goroutine"] for e in instants(events, "unblock")} >= {1, ids["receiver"]}

    counts = [e["args"]["goroutines"] for e in events if e["ph"] == "C"]
    assert counts[0] == 1 and max(counts) == 5 and counts[-1] == 1, counts


def test_trace_around_run_records_the_whole_program(tmp_path: Path, wait: Any) -> None:
    path = tmp_path / "whole.json"

    async def main() -> dict[str, int]:
        return await traced_body(wait)

    with gr.trace(path):
        ids = gr.run(main, gomaxprocs=2)
    events = validate(strict_json(path.read_text()))
    create1 = [e for e in instants(events, "create") if e["args"]["goroutine"] == 1]
    assert len(create1) == 1 and lanes_of(events)[create1[0]["tid"]] == "other threads"
    assert spans(events, 1)[-1]["args"]["ended"] == "exit"
    assert set(ids.values()) <= {e["args"]["goroutine"] for e in spans(events)}
    counts = [e["args"]["goroutines"] for e in events if e["ph"] == "C"]
    assert counts[0] == 0 and counts[-1] == 0 and max(counts) == 5, counts


def test_trace_of_a_panicking_run_is_written(tmp_path: Path) -> None:
    path = tmp_path / "panic.json"

    async def bad() -> None:
        raise ValueError("traced boom")

    async def main() -> None:
        gr.go(bad)
        await gr.Chan[int]().recv()

    with pytest.raises(ValueError), gr.trace(path):
        gr.run(main)
    events = validate(strict_json(path.read_text()))
    panics = instants(events, "panic")
    assert len(panics) == 1 and panics[0]["args"]["error"] == "ValueError: traced boom"
    assert spans(events, 2)[-1]["args"]["ended"] == "panic"


def test_trace_of_a_deadlock_shows_what_everyone_blocked_on(tmp_path: Path) -> None:
    path = tmp_path / "deadlock.json"

    async def stuck(ch: gr.Chan[int]) -> None:
        await ch.send(1)

    async def main() -> None:
        gr.go(stuck, gr.Chan())
        await gr.Chan[int]().recv()

    with pytest.raises(gr.Deadlock), gr.trace(path):
        gr.run(main)
    events = validate(strict_json(path.read_text()))
    assert spans(events, 1)[-1]["args"]["blocked_on"] == "chan receive"
    assert spans(events, 2)[-1]["args"]["blocked_on"] == "chan send"
    # alive at the end: the last run of each carries its stack
    assert "stuck" in spans(events, 2)[-1]["args"]["stack"]


def test_goroutines_running_when_tracing_starts_get_a_run_from_the_start(tmp_path: Path, wait: Any) -> None:
    path = tmp_path / "late.json"
    stop = threading.Event()
    started = threading.Event()

    async def spinner() -> None:
        started.set()
        while not stop.is_set():
            pass

    async def main() -> int:
        h = gr.go(spinner)
        await wait.until(started.is_set, "the spinner runs")
        with gr.trace(path):
            await gr.sleep(0.005)
            stop.set()
            await wait.gone(h.id)
        return h.id

    gid = gr.run(main, gomaxprocs=2)
    events = validate(strict_json(path.read_text()))
    ss = spans(events, gid)
    assert ss and ss[0]["ts"] == 0.0 and ss[-1]["args"]["ended"] == "exit", ss


def test_one_trace_at_a_time_and_a_run_less_block_writes_an_empty_trace(tmp_path: Path) -> None:
    async def main() -> None:
        with gr.trace(tmp_path / "a.json"):
            with pytest.raises(RuntimeError, match="already"), gr.trace(tmp_path / "b.json"):
                pass
        with gr.trace(tmp_path / "c.json"):  # the first one is over: a new one may start
            await gr.gosched()

    gr.run(main)
    validate(strict_json((tmp_path / "a.json").read_text()))
    validate(strict_json((tmp_path / "c.json").read_text()))
    with gr.trace(tmp_path / "empty.json"):
        pass
    events = validate(strict_json((tmp_path / "empty.json").read_text()))
    assert not spans(events)


# --------------------------------------------------------------------------- HTML


class _DOM(html.parser.HTMLParser):
    """Collects elements with their attributes, and the text of the data script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.data_script: list[str] = []
        self._in_data = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a))
        self._in_data = tag == "script" and a.get("id") == "trace-data"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        self._in_data = False

    def handle_data(self, data: str) -> None:
        if self._in_data:
            self.data_script.append(data)

    def find(self, tag: str, attr: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag and attr in a]


def parse_dom(text: str) -> _DOM:
    d = _DOM()
    d.feed(text)
    d.close()
    return d


def test_html_page_is_self_contained_and_embeds_the_trace(tmp_path: Path) -> None:
    js, page = tmp_path / "t.json", tmp_path / "t.html"
    r = goroutines_cmd("run", "--trace", str(js), str(PROGRAMS / "traced.py"))
    assert r.returncode == 0, r.stderr
    r = goroutines_cmd("trace", str(js), "-o", str(page))
    assert r.returncode == 0, r.stderr
    dom = parse_dom(page.read_text())
    for tag, attrs in dom.elements:
        assert "src" not in attrs and "href" not in attrs, (tag, attrs)
        assert tag not in ("link", "iframe", "img", "object", "embed"), tag
    scripts = [a for t, a in dom.elements if t == "script"]
    assert len(scripts) == 2  # the data and the code, both inline
    assert strict_json("".join(dom.data_script)) == load_trace(js)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def rendered_dom(page: Path, profile: Path) -> _DOM:
    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium to open the page in (the CI installs Debian's chromium)")
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1400,900",
        "--dump-dom",
        page.as_uri(),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    return parse_dom(r.stdout)


@pytest.mark.parametrize("procs", ["1", "2"])
def test_html_page_draws_one_lane_per_m_and_goroutine_runs_in_a_browser(procs: str, tmp_path: Path) -> None:
    js, page = tmp_path / "t.json", tmp_path / "t.html"
    for out in (js, page):
        r = goroutines_cmd("run", "--gomaxprocs", procs, "--trace", str(out), str(PROGRAMS / "traced.py"))
        assert r.returncode == 0, r.stderr
    events = validate(strict_json(js.read_text()))
    # The page of the same run: its own embedded trace, rendered.
    embedded = strict_json("".join(parse_dom(page.read_text()).data_script))
    page_events = validate(embedded)
    page_ms = sorted(name for name in lanes_of(page_events).values() if name.startswith("M"))
    assert page_ms and len(lanes_of(events)) >= 1

    dom = rendered_dom(page, tmp_path / "profile")
    body = [a for t, a in dom.elements if t == "body"]
    assert body and body[0].get("data-rendered") == "1", "the page's script did not run"
    lanes = [a["data-lane"] for a in dom.find("g", "data-lane")]
    assert sorted(name for name in lanes if name.startswith("M")) == page_ms, lanes
    assert len(lanes) == len(set(lanes)) == len(lanes_of(page_events))
    drawn = dom.find("rect", "data-span")
    assert drawn, "no goroutine runs drawn"
    workers = {
        e["args"]["goroutine"] for e in spans(page_events) if e["args"]["function"] in ("worker", "blocker")
    }
    assert len(workers) == 3
    # each worker computes ~3 ms per run: wide enough to be drawn on its own
    assert workers <= {int(a["data-span"]) for a in drawn}, sorted(a["data-span"] for a in drawn)
    assert dom.find("path", "d") and dom.find("g", "data-counter"), "the goroutine count curve"
    svg = dom.find("svg", "data-drawn-spans")
    assert svg and int(svg[0]["data-drawn-spans"]) == len(drawn)


# --------------------------------------------------------------------------- plain blocking calls, goroutine lanes (issue 15, item 5)


def test_trace_records_a_blocking_span_and_an_instant(tmp_path: Path) -> None:
    js = tmp_path / "b.json"
    r = goroutines_cmd("run", "--trace", str(js), str(PROGRAMS / "blocking_traced.py"))
    assert r.returncode == 0, r.stderr
    events = validate(strict_json(js.read_text()))
    fn = {e["args"]["goroutine"]: e["args"]["function"] for e in spans(events)}
    blocker = next(g for g, f in fn.items() if f == "blocker")
    cats = [s["cat"] for s in spans(events, blocker)]
    assert "blocking" in cats, cats
    b = [s for s in spans(events, blocker) if s["cat"] == "blocking"]
    assert all(s["name"] == f"G{blocker} blocker (blocking call)" for s in b)
    assert all(s["args"]["ended"] in ("returned", "exit", "trace end") for s in b), b
    inst = [e for e in events if e["ph"] == "i" and e["name"] == "blocking"]
    assert inst and all(e["args"]["goroutine"] == blocker for e in inst)


def test_html_draws_goroutine_lanes_with_blocking_and_netpoller_waits(tmp_path: Path) -> None:
    page = tmp_path / "b.html"
    r = goroutines_cmd("run", "--trace", str(page), str(PROGRAMS / "blocking_traced.py"))
    assert r.returncode == 0, r.stderr
    embedded = validate(strict_json("".join(parse_dom(page.read_text()).data_script)))
    fn = {e["args"]["goroutine"]: e["args"]["function"] for e in spans(embedded)}
    dom = rendered_dom(page, tmp_path / "profile")
    body = [a for t, a in dom.elements if t == "body"]
    assert body and body[0].get("data-rendered") == "1", "the page's script did not run"
    glanes = {int(a["data-glane"]) for a in dom.find("g", "data-glane")}
    assert glanes == set(fn), (glanes, fn)
    states = dom.find("rect", "data-gstate")
    by_g: dict[int, set[tuple[str, str]]] = {}
    for a in states:
        by_g.setdefault(int(a["data-g"]), set()).add((a["data-gstate"], a.get("data-reason", "")))
    blocker = next(g for g, f in fn.items() if f == "blocker")
    reader = next(g for g, f in fn.items() if f == "reader")
    assert ("blocking", "") in by_g[blocker], by_g[blocker]
    assert ("waiting", "IO wait") in by_g[reader], by_g[reader]
    assert ("waiting", "sleep") in by_g[1], by_g[1]
    svg = dom.find("svg", "data-glanes")
    assert svg and int(svg[0]["data-glanes"]) == len(glanes)
    assert int(svg[0]["data-drawn-gstates"]) == len(states)


# --------------------------------------------------------------------------- CLI


def test_cli_trailing_trace_option_is_taken_not_passed_on(tmp_path: Path) -> None:
    out = tmp_path / "tail.json"
    r = goroutines_cmd("run", str(PROGRAMS / "traced.py"), "a", "b", "--trace", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[0]) == ["a", "b"]
    assert "trace of " in r.stderr and str(out) in r.stderr
    validate(strict_json(out.read_text()))
    out2 = tmp_path / "eq.json"
    r = goroutines_cmd("run", str(PROGRAMS / "traced.py"), "x", f"--trace={out2}")
    assert r.returncode == 0 and json.loads(r.stdout.splitlines()[0]) == ["x"], r.stderr
    assert out2.exists()


def test_cli_trace_of_a_panicking_program_is_still_written(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    r = goroutines_cmd("run", "--trace", str(out), str(PROGRAMS / "traced.py"), "panic")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("panic: ValueError: traced program panics")
    events = validate(strict_json(out.read_text()))
    assert instants(events, "panic")


def test_cli_rejects_an_unwritable_trace_path_before_running(tmp_path: Path) -> None:
    r = goroutines_cmd(
        "run", "--trace", str(tmp_path / "no" / "such" / "t.json"), str(PROGRAMS / "traced.py")
    )
    assert r.returncode == 2
    assert "does not exist" in r.stderr and r.stdout == ""


def test_cli_trace_command(tmp_path: Path) -> None:
    js = tmp_path / "saved.json"
    assert goroutines_cmd("run", "--trace", str(js), str(PROGRAMS / "traced.py")).returncode == 0
    r = goroutines_cmd("trace", str(js))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "saved.html").exists()
    r = goroutines_cmd("trace", str(tmp_path / "missing.json"))
    assert r.returncode == 1 and "no such file" in r.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = goroutines_cmd("trace", str(bad), "-o", str(tmp_path / "bad.html"))
    assert r.returncode == 1 and "cannot read" in r.stderr
