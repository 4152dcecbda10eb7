"""The execution trace as one self-contained HTML page (no external files, no network).

``render_html(doc)`` embeds a Chrome Trace Event document (see _tracefmt.py)
in a page whose inline script draws it as an SVG timeline:

* a time axis, and the ``goroutines`` counter as a step curve;
* one lane per M (``<g data-lane="M0">``), goroutine runs as rectangles
  coloured by goroutine (``<rect data-span="7">``; time inside
  ``gr.syscall`` hatched grey, inside a plain blocking call that sysmon
  found hatched red), instant events (create, unblock, syscall, blocking,
  retake, timer, ...) as ticks under them, toggled from the legend;
* below them one lane per goroutine (``<g data-glane="7">``, the first
  GLANES_MAX by id), built from the same runs and the create/unblock
  instants: ``<rect data-gstate=...>`` running, runnable (woken, waiting for
  a thread), waiting (``data-reason`` the wait reason; ``IO wait``, a wait
  in the netpoller, in its own colour), syscall and blocking;
* hovering shows a run's goroutine, entry function, times, why it ended
  (the wait reason it blocked on) and, for the last run of a goroutine
  still alive at the end, its stack; clicking a run highlights every run of
  that goroutine;
* wheel or +/- to zoom around the cursor, drag or arrow keys to pan,
  double-click or 0 to reset.

Runs narrower than about a pixel at the current zoom are merged into one
rectangle per pixel column (``<rect data-cluster="N">``) so the page stays
fast with hundreds of thousands of events; zoom in to see them apart.
After drawing, the SVG carries ``data-drawn-spans`` / ``data-drawn-clusters``
/ ``data-glanes`` and ``<body data-rendered="1">``.
"""

from __future__ import annotations

import html
import json
from typing import Any


def _embed_json(doc: dict[str, Any]) -> str:
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=True)
    # Nothing inside the <script> element may close it or open a comment.
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def render_html(doc: dict[str, Any], title: str | None = None) -> str:
    """The page for trace document ``doc``."""
    if title is None:
        title = str((doc.get("otherData") or {}).get("title") or "goroutines trace")
    return (
        _PAGE.replace("__TITLE__", html.escape(title))
        .replace("__STYLE__", _STYLE)
        .replace("__SCRIPT__", _SCRIPT)
        .replace("__DATA__", _embed_json(doc))
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>__STYLE__</style>
</head>
<body>
<header>
  <h1 id="title">__TITLE__</h1>
  <div id="summary"></div>
  <div id="controls">
    <button id="zin" title="zoom in (+ or w)">+</button>
    <button id="zout" title="zoom out (- or s)">&minus;</button>
    <button id="left" title="pan left (&larr; or a)">&larr;</button>
    <button id="right" title="pan right (&rarr; or d)">&rarr;</button>
    <button id="reset" title="show everything (0 or double-click)">reset</button>
    <span id="legend"></span>
    <span id="states"></span>
    <span id="status"></span>
  </div>
</header>
<div id="view"><svg id="timeline" xmlns="http://www.w3.org/2000/svg"></svg></div>
<div id="tip" hidden></div>
<pre id="detail" hidden></pre>
<noscript>This page draws the trace with JavaScript; open the .json in ui.perfetto.dev instead.</noscript>
<script type="application/json" id="trace-data">__DATA__</script>
<script>__SCRIPT__</script>
</body>
</html>
"""

_STYLE = """
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 13px; color: #222; }
body { margin: 0; background: #fafafa; }
header { padding: 8px 12px 4px; border-bottom: 1px solid #ddd; background: #fff; position: sticky; top: 0; z-index: 2; }
h1 { font-size: 16px; margin: 0 0 4px; font-weight: 600; }
#summary { color: #555; margin-bottom: 6px; }
#controls button { font: inherit; min-width: 28px; margin-right: 2px; cursor: pointer; }
#legend, #states { margin-left: 12px; }
#states label, #legend label { margin-right: 10px; white-space: nowrap; cursor: pointer; }
#states i, #legend i { display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 2px; vertical-align: -1px; }
#status { margin-left: 12px; color: #666; font-variant-numeric: tabular-nums; }
#view { padding: 4px 0 20px; user-select: none; }
svg { display: block; cursor: grab; }
svg.dragging { cursor: grabbing; }
svg text { font-size: 11px; fill: #333; }
svg .lanelabel { font-weight: 600; font-size: 12px; }
svg .axis text { fill: #666; font-variant-numeric: tabular-nums; }
svg .axis line { stroke: #e3e3e3; }
svg rect[data-span]:hover, svg rect[data-cluster]:hover { stroke: #000; stroke-width: 1; }
svg .faded { opacity: 0.18; }
#tip { position: fixed; z-index: 5; pointer-events: none; background: #fffff4; border: 1px solid #999;
       box-shadow: 0 2px 6px rgba(0,0,0,.2); padding: 6px 8px; max-width: 560px; font-size: 12px; }
#tip b { font-weight: 600; }
#tip pre, #detail { font: 11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; margin: 4px 0 0; white-space: pre-wrap; }
#detail { margin: 0 12px 16px; padding: 8px; background: #fff; border: 1px solid #ddd; }
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var doc = JSON.parse(document.getElementById("trace-data").textContent);
  var events = Array.isArray(doc) ? doc : (doc.traceEvents || []);

  // ------------------------------------------------------------------ model
  var lanes = new Map();          // tid -> lane
  var counter = [];               // [ts, value]
  var title = "", tmin = Infinity, tmax = -Infinity;
  var INSTANT_COLORS = { create: "#2a9d3a", unblock: "#1f6fd1", syscall: "#c47a00", sysexit: "#8a5a00",
                         blocking: "#e0561b", retake: "#d1263b", timer: "#7b3fc4", panic: "#000", mstart: "#555", procs: "#555" };
  var shownKinds = { create: true, unblock: true, syscall: true, sysexit: false, blocking: true, retake: true, timer: true,
                     panic: true, mstart: true, procs: true };
  // Goroutine lane states (see the goroutine lanes below).
  var STATE_FILLS = { runnable: "#f3d98b", waiting: "#dddddd", "IO wait": "#5fbfa8", syscall: "url(#hatch)", blocking: "url(#hatchb)" };
  var STATE_LEGEND = { running: "#8fb8e8", runnable: "#f3d98b", waiting: "#dddddd", "IO wait (netpoller)": "#5fbfa8",
                       syscall: "#aaa", "blocking call": "#e0561b" };

  function laneOf(tid) {
    var l = lanes.get(tid);
    if (!l) { l = { tid: tid, name: "thread " + tid, sort: tid, spans: [], inst: [], named: false, open: [] }; lanes.set(tid, l); }
    return l;
  }
  function seeTime(t) { if (t < tmin) tmin = t; if (t > tmax) tmax = t; }

  events.forEach(function (e) {
    var ts = +e.ts || 0;
    switch (e.ph) {
      case "M":
        if (e.name === "process_name") title = (e.args && e.args.name) || title;
        else if (e.name === "thread_name") { var l = laneOf(e.tid); l.name = String(e.args && e.args.name); l.named = true; }
        else if (e.name === "thread_sort_index") laneOf(e.tid).sort = +(e.args && e.args.sort_index) || 0;
        break;
      case "X":
        laneOf(e.tid).spans.push({ ts: ts, dur: +e.dur || 0, name: e.name, cat: e.cat || "", args: e.args || {} });
        seeTime(ts); seeTime(ts + (+e.dur || 0));
        break;
      case "B":
        laneOf(e.tid).open.push({ ts: ts, name: e.name, cat: e.cat || "", args: e.args || {} }); seeTime(ts);
        break;
      case "E":
        var ln = laneOf(e.tid), b = ln.open.pop();
        if (b) { b.dur = ts - b.ts; Object.assign(b.args, e.args || {}); ln.spans.push(b); }
        seeTime(ts);
        break;
      case "i": case "I": case "n":
        laneOf(e.tid === undefined ? 0 : e.tid).inst.push({ ts: ts, name: e.name, args: e.args || {} }); seeTime(ts);
        break;
      case "C":
        if (e.name === "goroutines") {
          var a = e.args || {}, v = a.goroutines !== undefined ? a.goroutines : a[Object.keys(a)[0]];
          counter.push([ts, +v || 0]); seeTime(ts);
        }
        break;
    }
  });
  if (!isFinite(tmin)) { tmin = 0; tmax = 1; }
  if (tmax <= tmin) tmax = tmin + 1;
  var laneList = Array.from(lanes.values()).filter(function (l) { return l.named || l.spans.length || l.inst.length; });
  laneList.sort(function (a, b) { return a.sort - b.sort || a.tid - b.tid; });
  laneList.forEach(function (l) {
    l.spans.sort(function (a, b) { return a.ts - b.ts; });
    l.inst.sort(function (a, b) { return a.ts - b.ts; });
    // end times, non-decreasing, for the binary search of the first visible run
    var m = -Infinity;
    l.ends = l.spans.map(function (s) { m = Math.max(m, s.ts + s.dur); return m; });
  });
  counter.sort(function (a, b) { return a[0] - b[0]; });
  var counterTs = counter.map(function (c) { return c[0]; });

  // ------------------------------------------------------------------ goroutine lanes
  // One lane per goroutine, from the M lanes' runs and the create/unblock
  // instants: between two runs a goroutine that blocked is waiting (on the
  // reason its run ended with) until its wake-up, then runnable until it
  // runs; one that yielded is runnable. The first GLANES_MAX by id.
  var GLANES_MAX = 1000, showG = true;
  var gl = new Map();
  function gLaneOf(g) {
    var x = gl.get(g);
    if (!x) { x = { gid: g, name: "", runs: [], wakes: [], created: undefined, items: [], ends: [] }; gl.set(g, x); }
    return x;
  }
  laneList.forEach(function (l) {
    l.spans.forEach(function (s) {
      var g = s.args.goroutine; if (g === undefined) return;
      var x = gLaneOf(+g); x.runs.push(s); if (s.args.function) x.name = s.args.function;
    });
    l.inst.forEach(function (e) {
      var g = e.args.goroutine; if (g === undefined) return;
      if (e.name === "unblock") gLaneOf(+g).wakes.push(e.ts);
      else if (e.name === "create") { var x = gLaneOf(+g); x.created = e.ts; if (e.args.function) x.name = e.args.function; }
    });
  });
  var gLanes = Array.from(gl.values()).sort(function (a, b) { return a.gid - b.gid; });
  var gHidden = Math.max(0, gLanes.length - GLANES_MAX);
  gLanes = gLanes.slice(0, GLANES_MAX);
  gLanes.forEach(function (x) {
    x.runs.sort(function (a, b) { return a.ts - b.ts; });
    x.wakes.sort(function (a, b) { return a - b; });
    var items = x.items, w = 0;
    function between(t0, t1, prev) {
      if (!(t1 > t0)) return;
      var ended = prev ? prev.args.ended : "";
      if (ended === "exit" || ended === "panic") return;
      if (ended === "blocked") {
        while (w < x.wakes.length && x.wakes[w] < t0) w++;
        var wake = (w < x.wakes.length && x.wakes[w] <= t1) ? x.wakes[w] : t1;
        var reason = prev.args.blocked_on || "";
        items.push({ ts: t0, dur: wake - t0, state: "waiting", reason: reason });
        if (wake < t1) items.push({ ts: wake, dur: t1 - wake, state: "runnable", reason: "" });
      } else items.push({ ts: t0, dur: t1 - t0, state: "runnable", reason: "" });
    }
    var prev = null, t = x.created;
    x.runs.forEach(function (s) {
      if (t !== undefined) between(t, s.ts, prev);
      items.push({ ts: s.ts, dur: s.dur, state: s.cat === "syscall" ? "syscall" : s.cat === "blocking" ? "blocking" : "running", reason: "" });
      prev = s; t = s.ts + s.dur;
    });
    if (prev && t !== undefined && prev.args.ended !== "trace end") between(t, tmax, prev);
    var m = -Infinity;
    x.ends = items.map(function (it) { m = Math.max(m, it.ts + it.dur); return m; });
  });

  var gids = new Set(), nspans = 0, maxG = 0;
  laneList.forEach(function (l) { l.spans.forEach(function (s) { if (s.args.goroutine !== undefined) gids.add(s.args.goroutine); }); nspans += l.spans.length; });
  counter.forEach(function (c) { if (c[1] > maxG) maxG = c[1]; });
  var od = doc.otherData || {};
  document.getElementById("title").textContent = title || od.title || "goroutines trace";
  document.getElementById("summary").textContent =
    fmtDur(tmax - tmin) + " recorded \u00b7 " + laneList.filter(function (l) { return /^M\d+$/.test(l.name); }).length +
    " Ms \u00b7 " + (od.gomaxprocs ? "GOMAXPROCS " + od.gomaxprocs + " \u00b7 " : "") + gids.size + " goroutines ran \u00b7 " +
    nspans + " runs \u00b7 up to " + maxG + " goroutines alive" +
    (gHidden ? " \u00b7 lanes drawn for the first " + GLANES_MAX + " goroutines" : "");

  // ------------------------------------------------------------------ helpers
  function fmtDur(us) {
    var a = Math.abs(us);
    if (a >= 1e6) return (us / 1e6).toFixed(a >= 1e7 ? 1 : 3) + " s";
    if (a >= 1e3) return (us / 1e3).toFixed(a >= 1e5 ? 1 : 3) + " ms";
    return us.toFixed(a >= 100 ? 0 : a >= 1 ? 1 : 3) + " \u00b5s";
  }
  function fmtTick(us, step) {
    var mag = Math.max(Math.abs(us), step), unit = mag >= 1e6 ? 1e6 : mag >= 1e3 ? 1e3 : 1, name = unit === 1e6 ? " s" : unit === 1e3 ? " ms" : " \u00b5s";
    var dec = Math.max(0, Math.min(6, -Math.floor(Math.log10(step / unit) + 1e-9)));
    return us === 0 ? "0" : (us / unit).toFixed(dec) + name;
  }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }
  function gColor(g) { var h = (g * 137.508) % 360; return "hsl(" + h.toFixed(0) + ",62%,56%)"; }
  function lowerBound(arr, t) { var lo = 0, hi = arr.length; while (lo < hi) { var mid = (lo + hi) >> 1; if (arr[mid] < t) lo = mid + 1; else hi = mid; } return lo; }
  function firstAtOrAfter(list, t) { var lo = 0, hi = list.length; while (lo < hi) { var mid = (lo + hi) >> 1; if (list[mid].ts < t) lo = mid + 1; else hi = mid; } return lo; }

  // ------------------------------------------------------------------ view state
  var svg = document.getElementById("timeline"), view = document.getElementById("view");
  var tip = document.getElementById("tip"), detail = document.getElementById("detail");
  var status = document.getElementById("status");
  var LABEL = 92, AXIS = 24, CURVE = 64, LANE = 30, GAP = 6, TICKH = 7, GLANE = 14, GHEAD = 20;
  var pad = (tmax - tmin) * 0.01;
  var full0 = tmin - pad, full1 = tmax + pad;
  var v0 = full0, v1 = full1, selected = null, plotW = 800;
  var clusters = [];   // drawn clusters, by index: [lane, i0, i1]

  function X(t) { return LABEL + (t - v0) / (v1 - v0) * plotW; }
  function T(x) { return v0 + (x - LABEL) / plotW * (v1 - v0); }

  // ------------------------------------------------------------------ legend
  var legend = document.getElementById("legend");
  legend.innerHTML = Object.keys(INSTANT_COLORS).map(function (k) {
    return '<label><input type="checkbox" data-kind="' + k + '"' + (shownKinds[k] ? " checked" : "") + '><i style="background:' +
      INSTANT_COLORS[k] + '"></i>' + k + "</label>";
  }).join("");
  legend.addEventListener("change", function (ev) { var k = ev.target.getAttribute("data-kind"); if (k) { shownKinds[k] = ev.target.checked; render(); } });
  var states = document.getElementById("states");
  states.innerHTML = '<label><input type="checkbox" id="glanes" checked>goroutine lanes:</label>' + Object.keys(STATE_LEGEND).map(function (k) {
    return '<label><i style="background:' + STATE_LEGEND[k] + '"></i>' + k + "</label>";
  }).join("");
  document.getElementById("glanes").addEventListener("change", function (ev) { showG = ev.target.checked; render(); });

  // ------------------------------------------------------------------ drawing
  function niceStep(range, n) {
    var raw = range / Math.max(1, n), p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
    return p * (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10);
  }

  function render() {
    var W = Math.max(400, view.clientWidth || 1000);
    plotW = W - LABEL - 16;
    var nG = showG ? gLanes.length : 0;
    var H = AXIS + CURVE + GAP + laneList.length * (LANE + GAP) + (nG ? GHEAD + nG * (GLANE + 2) : 0) + 8;
    var out = [], drawnSpans = 0, drawnClusters = 0;
    clusters = [];
    out.push('<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
             '<rect width="6" height="6" fill="#ddd"/><line x1="0" y1="0" x2="0" y2="6" stroke="#888" stroke-width="3"/></pattern>' +
             '<pattern id="hatchb" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
             '<rect width="6" height="6" fill="#f6d2c2"/><line x1="0" y1="0" x2="0" y2="6" stroke="#e0561b" stroke-width="3"/></pattern>' +
             '<clipPath id="plot"><rect x="' + LABEL + '" y="0" width="' + plotW + '" height="' + H + '"/></clipPath></defs>');

    // axis
    var step = niceStep(v1 - v0, plotW / 110), first = Math.ceil((v0 - tmin) / step) * step + tmin;
    out.push('<g class="axis" data-axis="1">');
    for (var t = first; t <= v1; t += step) {
      var x = X(t).toFixed(1);
      out.push('<line x1="' + x + '" y1="' + (AXIS - 4) + '" x2="' + x + '" y2="' + H + '"/><text x="' + (+x + 3) + '" y="' + (AXIS - 8) + '">' + fmtTick(Math.round((t - tmin) / step) * step, step) + "</text>");
    }
    out.push("</g>");

    // goroutine count curve
    var cy0 = AXIS + 4, ch = CURVE - 10;
    out.push('<g data-counter="goroutines"><rect x="' + LABEL + '" y="' + cy0 + '" width="' + plotW + '" height="' + ch + '" fill="#fff" stroke="#eee"/>' +
             '<text class="lanelabel" x="6" y="' + (cy0 + 14) + '">goroutines</text><text x="6" y="' + (cy0 + 28) + '">max ' + maxG + "</text>");
    if (counter.length) {
      var Y = function (v) { return (cy0 + ch - (maxG ? v / maxG : 0) * (ch - 4)).toFixed(1); };
      var k = Math.max(0, lowerBound(counterTs, v0) - 1);
      var cur = counter[k][0] <= v0 ? counter[k][1] : 0;
      var d = "M" + LABEL + "," + Y(cur), colX = -1, lo = cur, hi = cur, last = cur;
      for (; k < counter.length && counter[k][0] <= v1; k++) {
        if (counter[k][0] < v0) { last = lo = hi = counter[k][1]; continue; }
        var cx = Math.round(X(counter[k][0])), val = counter[k][1];
        if (cx !== colX) {
          if (colX >= 0) d += "V" + Y(lo) + "V" + Y(hi) + "V" + Y(last);
          d += "H" + cx; colX = cx; lo = hi = last;
        }
        last = val; if (val < lo) lo = val; if (val > hi) hi = val;
      }
      if (colX >= 0) d += "V" + Y(lo) + "V" + Y(hi) + "V" + Y(last);
      d += "H" + (LABEL + plotW);
      out.push('<path clip-path="url(#plot)" d="' + d + '" fill="none" stroke="#1f6fd1" stroke-width="1.5"/>');
    }
    out.push("</g>");

    // lanes
    var y = AXIS + CURVE + GAP;
    laneList.forEach(function (l, li) {
      out.push('<g data-lane="' + esc(l.name) + '" data-tid="' + l.tid + '">');
      out.push('<rect x="' + LABEL + '" y="' + y + '" width="' + plotW + '" height="' + LANE + '" fill="' + (li % 2 ? "#f1f1f1" : "#f7f7f7") + '"/>');
      out.push('<text class="lanelabel" x="6" y="' + (y + LANE / 2 + 4) + '">' + esc(l.name) + "</text>");
      out.push('<g clip-path="url(#plot)">');
      var sh = LANE - TICKH - 2, spans = l.spans, i = lowerBound(l.ends, v0), cl = null;
      function flush() {
        if (!cl) return;
        var w = Math.max(1, cl.x1 - cl.x0);
        if (cl.n === 1) {
          var s = spans[cl.i0], g = s.args.goroutine;
          out.push('<rect data-span="' + esc(g === undefined ? "" : g) + '" data-l="' + li + '" data-i="' + cl.i0 + '" x="' + cl.x0.toFixed(1) + '" y="' + y +
                   '" width="' + w.toFixed(1) + '" height="' + sh + '" fill="' + (s.cat === "syscall" ? "url(#hatch)" : s.cat === "blocking" ? "url(#hatchb)" : gColor(+g || 0)) + '"' +
                   (selected !== null && g !== selected ? ' class="faded"' : "") + "/>");
          drawnSpans++;
        } else {
          out.push('<rect data-cluster="' + cl.n + '" data-c="' + clusters.length + '" x="' + cl.x0.toFixed(1) + '" y="' + y + '" width="' + w.toFixed(1) +
                   '" height="' + sh + '" fill="' + gColor(cl.bestG) + '"' + (selected !== null && !cl.hasSel ? ' class="faded"' : "") + "/>");
          clusters.push([li, cl.i0, cl.i1]);
          drawnClusters++;
        }
        cl = null;
      }
      for (; i < spans.length && spans[i].ts <= v1; i++) {
        var s = spans[i], x0 = X(s.ts), x1 = X(s.ts + s.dur), g = +s.args.goroutine || 0;
        if (x1 < LABEL) continue;
        if (x1 - x0 < 1.5) {
          if (cl && cl.n > 0 && x0 <= cl.x1 + 1 && cl.x1 - cl.x0 < 2) {
            cl.x1 = Math.max(cl.x1, x1); cl.n++; cl.i1 = i;
            if (s.dur > cl.best) { cl.best = s.dur; cl.bestG = g; }
            if (g === selected) cl.hasSel = true;
          } else {
            flush();
            cl = { x0: x0, x1: Math.max(x1, x0 + 1), n: 1, i0: i, i1: i, best: s.dur, bestG: g, hasSel: g === selected };
          }
        } else {
          flush();
          cl = { x0: x0, x1: x1, n: 1, i0: i, i1: i, best: s.dur, bestG: g, hasSel: g === selected };
          flush();
        }
      }
      flush();
      // instants: at most one tick per pixel column and kind
      var iy = y + LANE - TICKH, seen = {}, inst = l.inst;
      for (var j = firstAtOrAfter(inst, v0); j < inst.length && inst[j].ts <= v1; j++) {
        var e = inst[j];
        if (!shownKinds[e.name]) continue;
        var ix = Math.round(X(e.ts)), key = e.name + ix;
        if (seen[key]) continue;
        seen[key] = 1;
        out.push('<rect data-instant="' + esc(e.name) + '" data-l="' + li + '" data-k="' + j + '" x="' + (ix - 0.5) + '" y="' + iy + '" width="1.5" height="' + TICKH +
                 '" fill="' + (INSTANT_COLORS[e.name] || "#444") + '"/>');
      }
      out.push("</g></g>");
      y += LANE + GAP;
    });

    // goroutine lanes: at most one rectangle per pixel column and lane
    var drawnG = 0;
    if (nG) {
      out.push('<text class="lanelabel" x="6" y="' + (y + 14) + '">goroutines</text>');
      y += GHEAD;
      gLanes.forEach(function (x, gi) {
        out.push('<g data-glane="' + x.gid + '"><rect x="' + LABEL + '" y="' + y + '" width="' + plotW + '" height="' + GLANE + '" fill="' + (gi % 2 ? "#f4f4f4" : "#fbfbfb") + '"/>');
        out.push('<text x="6" y="' + (y + GLANE - 3) + '">' + esc(("G" + x.gid + " " + x.name).slice(0, 15)) + "</text>");
        out.push('<g clip-path="url(#plot)">');
        var items = x.items, lastCol = -Infinity;
        for (var i = lowerBound(x.ends, v0); i < items.length && items[i].ts <= v1; i++) {
          var it = items[i], x0 = X(it.ts), x1 = X(it.ts + it.dur);
          if (x1 < LABEL) continue;
          if (x1 - x0 < 1) {
            if (Math.floor(x0) <= lastCol) continue;   // this column has one already
            x1 = x0 + 1;
          }
          lastCol = Math.floor(x1);
          var fill = it.state === "running" ? gColor(x.gid) : it.state === "waiting" && it.reason === "IO wait" ? STATE_FILLS["IO wait"] : STATE_FILLS[it.state];
          out.push('<rect data-g="' + x.gid + '" data-gstate="' + it.state + '"' + (it.reason ? ' data-reason="' + esc(it.reason) + '"' : "") +
                   ' data-gl="' + gi + '" data-gi="' + i + '" x="' + x0.toFixed(1) + '" y="' + (y + 1) + '" width="' + (x1 - x0).toFixed(1) +
                   '" height="' + (GLANE - 2) + '" fill="' + fill + '"' + (selected !== null && x.gid !== selected ? ' class="faded"' : "") + "/>");
          drawnG++;
        }
        out.push("</g></g>");
        y += GLANE + 2;
      });
    }

    svg.setAttribute("width", W);
    svg.setAttribute("height", H);
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.innerHTML = out.join("");
    svg.setAttribute("data-drawn-spans", drawnSpans);
    svg.setAttribute("data-drawn-clusters", drawnClusters);
    svg.setAttribute("data-lanes", laneList.length);
    svg.setAttribute("data-glanes", nG);
    svg.setAttribute("data-drawn-gstates", drawnG);
    status.textContent = "showing " + fmtDur(v0 - tmin) + " \u2013 " + fmtDur(v1 - tmin) + " (" + fmtDur(v1 - v0) + ")";
    document.body.setAttribute("data-rendered", "1");
    saveHash();
  }

  // The view is kept in the URL (#v=START,END in microseconds since the
  // trace began), so a link or a reload shows the same part of the trace.
  var hashTimer = 0;
  function saveHash() {
    clearTimeout(hashTimer);
    hashTimer = setTimeout(function () {
      var h = "#v=" + (v0 - tmin).toFixed(1) + "," + (v1 - tmin).toFixed(1);
      if (location.hash !== h && history.replaceState) { try { history.replaceState(null, "", h); } catch (e) { /* file: URLs in some browsers */ } }
    }, 300);
  }
  (function loadHash() {
    var m = /v=(-?[0-9.]+),(-?[0-9.]+)/.exec(location.hash || "");
    if (m && +m[2] > +m[1]) { v0 = tmin + +m[1]; v1 = tmin + +m[2]; }
  })();

  // ------------------------------------------------------------------ tooltips and selection
  function spanText(s, l) {
    var a = s.args, parts = ["<b>" + esc(s.name) + "</b>"];
    parts.push(esc(l.name) + " \u00b7 " + fmtDur(s.ts - tmin) + " \u2192 " + fmtDur(s.ts + s.dur - tmin) + " (" + fmtDur(s.dur) + ")");
    if (s.cat === "syscall") parts.push("in a blocking call (syscall)");
    if (s.cat === "blocking") parts.push("in a plain blocking call: sysmon found it blocked and handed its P to another thread");
    if (a.blocked_on) parts.push("then blocked on <b>" + esc(a.blocked_on) + "</b>");
    else if (a.ended) parts.push("ended: " + esc(a.ended));
    if (a.created_by !== undefined) parts.push("created by goroutine " + esc(a.created_by));
    if (a.stack) parts.push("stack at the end of the trace:<pre>" + esc(a.stack) + "</pre>");
    return parts.join("<br>");
  }
  function tipFor(el) {
    var l, s;
    if (el.hasAttribute("data-span")) { l = laneList[+el.getAttribute("data-l")]; s = l.spans[+el.getAttribute("data-i")]; return spanText(s, l); }
    if (el.hasAttribute("data-cluster")) {
      var c = clusters[+el.getAttribute("data-c")]; l = laneList[c[0]];
      var byG = new Map(), busy = 0, t0 = l.spans[c[1]].ts, t1 = t0;
      for (var i = c[1]; i <= c[2]; i++) {
        s = l.spans[i]; busy += s.dur; t1 = Math.max(t1, s.ts + s.dur);
        var key = s.name; byG.set(key, (byG.get(key) || 0) + 1);
      }
      var top = Array.from(byG.entries()).sort(function (a, b) { return b[1] - a[1]; }).slice(0, 8);
      return "<b>" + (c[2] - c[1] + 1) + " runs</b> on " + esc(l.name) + " in " + fmtDur(t1 - t0) + " (busy " + fmtDur(busy) + ")<br>" +
             top.map(function (e) { return esc(e[0]) + " \u00d7" + e[1]; }).join("<br>") + (byG.size > 8 ? "<br>\u2026" : "") + "<br><i>zoom in to see them apart</i>";
    }
    if (el.hasAttribute("data-gstate")) {
      var gx = gLanes[+el.getAttribute("data-gl")], it = gx.items[+el.getAttribute("data-gi")];
      var what = { running: "running", runnable: "runnable: woken, waiting for a thread", syscall: "in gr.syscall",
                   blocking: "in a plain blocking call (found by sysmon)", waiting: "waiting" }[it.state] || it.state;
      if (it.state === "waiting" && it.reason) what += " on <b>" + esc(it.reason) + "</b>" + (it.reason === "IO wait" ? " (in the netpoller)" : "");
      return "<b>G" + gx.gid + " " + esc(gx.name) + "</b><br>" + what + "<br>" + fmtDur(it.ts - tmin) + " \u2192 " + fmtDur(it.ts + it.dur - tmin) + " (" + fmtDur(it.dur) + ")";
    }
    if (el.hasAttribute("data-instant")) {
      l = laneList[+el.getAttribute("data-l")]; var e = l.inst[+el.getAttribute("data-k")];
      return "<b>" + esc(e.name) + "</b> on " + esc(l.name) + " at " + fmtDur(e.ts - tmin) + "<br>" +
        Object.keys(e.args).map(function (k) { return esc(k) + ": " + esc(e.args[k]); }).join("<br>");
    }
    return null;
  }
  svg.addEventListener("mousemove", function (ev) {
    var html = drag ? null : tipFor(ev.target);
    if (html) {
      tip.innerHTML = html; tip.hidden = false;
      var x = ev.clientX + 14, y = ev.clientY + 14, r = tip.getBoundingClientRect();
      if (x + r.width > window.innerWidth - 4) x = Math.max(4, ev.clientX - r.width - 14);
      if (y + r.height > window.innerHeight - 4) y = Math.max(4, ev.clientY - r.height - 14);
      tip.style.left = x + "px"; tip.style.top = y + "px";
    } else tip.hidden = true;
    var rect = svg.getBoundingClientRect(), px = ev.clientX - rect.left;
    if (px >= LABEL) status.textContent = "t = " + fmtDur(T(px) - tmin) + " \u00b7 showing " + fmtDur(v1 - v0);
  });
  svg.addEventListener("mouseleave", function () { tip.hidden = true; });
  function showDetail(g) {
    if (g === null) { detail.hidden = true; return; }
    var runs = 0, busy = 0, name = "", stack = "", blocked = new Map(), first = Infinity, last = -Infinity;
    laneList.forEach(function (l) { l.spans.forEach(function (s) {
      if (+s.args.goroutine !== g) return;
      runs++; busy += s.dur; name = s.args.function || name; if (s.args.stack) stack = s.args.stack;
      first = Math.min(first, s.ts); last = Math.max(last, s.ts + s.dur);
      if (s.args.blocked_on) blocked.set(s.args.blocked_on, (blocked.get(s.args.blocked_on) || 0) + 1);
    }); });
    detail.textContent = "goroutine " + g + " " + name + ": " + runs + " runs, " + fmtDur(busy) + " running, between " + fmtDur(first - tmin) +
      " and " + fmtDur(last - tmin) + "\nblocked on: " + (Array.from(blocked.entries()).map(function (e) { return e[0] + " \u00d7" + e[1]; }).join(", ") || "-") +
      (stack ? "\n\nstack at the end of the trace:\n" + stack : "");
    detail.hidden = false;
  }
  svg.addEventListener("click", function (ev) {
    if (moved) return;
    var el = ev.target, g = null;
    if (el.hasAttribute("data-span")) g = +el.getAttribute("data-span");
    else if (el.hasAttribute("data-g")) g = +el.getAttribute("data-g");
    selected = (g === selected) ? null : g;
    showDetail(selected);
    render();
  });

  // ------------------------------------------------------------------ zoom and pan
  function zoom(factor, at) {
    var span = (v1 - v0) * factor, minSpan = 0.5;
    if (span < minSpan) span = minSpan;
    if (span > (full1 - full0) * 1.5) span = (full1 - full0) * 1.5;
    var f = (at - v0) / (v1 - v0);
    v0 = at - f * span; v1 = v0 + span;
    render();
  }
  function pan(frac) { var d = (v1 - v0) * frac; v0 += d; v1 += d; render(); }
  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var rect = svg.getBoundingClientRect(), px = Math.max(LABEL, ev.clientX - rect.left);
    if (Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) pan(ev.deltaX / plotW);
    else zoom(Math.exp(ev.deltaY * 0.0025), T(px));
  }, { passive: false });
  var drag = null, moved = false;
  svg.addEventListener("mousedown", function (ev) { drag = { x: ev.clientX, v0: v0, v1: v1 }; moved = false; svg.classList.add("dragging"); });
  window.addEventListener("mousemove", function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x;
    if (Math.abs(dx) > 2) moved = true;
    var dt = dx / plotW * (drag.v1 - drag.v0);
    v0 = drag.v0 - dt; v1 = drag.v1 - dt;
    render();
  });
  window.addEventListener("mouseup", function () { drag = null; svg.classList.remove("dragging"); });
  svg.addEventListener("dblclick", function () { v0 = full0; v1 = full1; render(); });
  function center() { return (v0 + v1) / 2; }
  document.getElementById("zin").onclick = function () { zoom(0.5, center()); };
  document.getElementById("zout").onclick = function () { zoom(2, center()); };
  document.getElementById("left").onclick = function () { pan(-0.25); };
  document.getElementById("right").onclick = function () { pan(0.25); };
  document.getElementById("reset").onclick = function () { v0 = full0; v1 = full1; render(); };
  window.addEventListener("keydown", function (ev) {
    var k = ev.key;
    if (k === "+" || k === "=" || k === "w") zoom(0.7, center());
    else if (k === "-" || k === "s") zoom(1 / 0.7, center());
    else if (k === "ArrowLeft" || k === "a") pan(-0.15);
    else if (k === "ArrowRight" || k === "d") pan(0.15);
    else if (k === "0") { v0 = full0; v1 = full1; render(); }
  });
  var pending = false;
  window.addEventListener("resize", function () { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; render(); }); } });
  render();
})();
"""
