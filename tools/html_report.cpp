// The HTML report: one file holding its styles, its script and the report's JSON. The page draws every chart
// itself as inline SVG from that JSON, so it opens offline and shows exactly the numbers the JSON holds.
// tests/cli/check_report.sh renders it in headless Chromium and checks the drawn elements and colours.
#include "html_report.h"

#include <fstream>
#include <map>
#include <string_view>

namespace lowp::tools {
namespace {

// Everything before the embedded JSON. The JSON sits in a <script type="application/json"> element, which
// the browser never runs; the page's script parses its text.
constexpr std::string_view kPageHead = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lowp report</title>
<style>
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; margin: 0;
       background: #fafafa; }
main { max-width: 1200px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 16px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
section.engine { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 4px 16px 12px;
                 margin: 16px 0; }
table { border-collapse: collapse; margin: 6px 0 12px; background: #fff; }
th, td { border: 1px solid #e0e0e0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f1f1f4; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.facts th { width: 14em; }
svg { display: block; width: 100%; height: auto; font-size: 12px; }
svg text { fill: #333; }
svg .axis { stroke: #999; stroke-width: 1; }
svg .hist-marker { stroke-width: 2; stroke-dasharray: 5 3; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; margin: 4px 0 8px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px;
          vertical-align: -1px; }
.note { color: #666; margin: 4px 0; }
button { font: inherit; padding: 2px 10px; margin: 4px 0; cursor: pointer; }
.js-error { background: #c62828; color: #fff; padding: 10px 16px; font-weight: 600; white-space: pre-wrap; }
</style>
</head>
<body>
<main id="report"><noscript>This report draws its charts with JavaScript.</noscript></main>
<script type="application/json" id="report-data">)html";

// Everything after the embedded JSON: the script that draws the sections the JSON has, in the order of
// html_report.h. Strings reach the page only through textContent and attribute values, never as markup.
constexpr std::string_view kPageTail = R"html(</script>
<script>
"use strict";
function showError(message) {
  let box = document.getElementById("js-errors");
  if (!box) {
    box = document.createElement("div");
    box.id = "js-errors";
    box.className = "js-error";
    document.body.prepend(box);
  }
  const line = document.createElement("div");
  line.textContent = "Report script error: " + message;
  box.append(line);
}
window.addEventListener("error", (e) => showError(e.message + (e.lineno ? " (line " + e.lineno + ")" : "")));

const SVG_NS = "http://www.w3.org/2000/svg";
const PRECISION_COLORS = { fp32: "#4e79a7", tf32: "#76b7b2", fp16: "#f28e2b", bf16: "#59a14f",
                           int8: "#e15759", uint8: "#ff9da7", fp8: "#b07aa1" };
const OTHER_COLOR = "#9d9d9d";
// Layers shown by time before the rest are summed into one "others" row.
const TOP_LAYERS = 30;

function colorOf(precision) {
  if (PRECISION_COLORS[precision]) return PRECISION_COLORS[precision];
  return precision && precision.startsWith("fp8") ? PRECISION_COLORS.fp8 : OTHER_COLOR;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : String(c));
  return node;
}

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmt(x) {
  if (typeof x !== "number") return x === null || x === undefined ? "—" : String(x);
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(1);
  if (a >= 1) return x.toFixed(3);
  if (a >= 0.001) return x.toFixed(4);
  return x === 0 ? "0" : x.toPrecision(3);
}

function shorten(value, max) {
  const text = value === null || value === undefined ? "" : String(value);
  if (text.length <= max) return text;
  const head = Math.floor((max - 1) / 2);
  return text.slice(0, head) + "…" + text.slice(text.length - (max - 1 - head));
}

function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

// trtexec's percentile: the sorted value at index max(n - 1 - floor((1 - p / 100) n), 0).
function percentile(sorted, p) {
  const n = sorted.length;
  return sorted[Math.max(n - 1 - Math.floor((1 - p / 100) * n), 0)];
}

function median(sorted) {
  const m = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

function table(columns, rows, numeric = () => false) {
  const head = el("tr", {}, ...columns.map((c) => el("th", {}, c)));
  const body = rows.map((row) =>
    el("tr", {}, ...row.map((cell, i) => {
      if (cell instanceof Node) return el("td", {}, cell);
      return el("td", typeof cell === "number" || numeric(i) ? { class: "num" } : {}, fmt(cell));
    })));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...body));
}

function precisionChip(precision) {
  return el("span", {}, el("span", { class: "swatch", style: "background:" + colorOf(precision) }),
            precision || "—");
}

function legend(precisions) {
  return el("div", { class: "legend" }, ...precisions.map(precisionChip));
}

// One horizontal bar per row: name, op, a bar as long as its time, coloured by precision. The scale is the
// slowest single layer's; an "others" row that sums to more is cut at the scale's end and says so.
function layerBars(rows) {
  const rowH = 18, top = 4, nameW = 330, opW = 150, barX = nameW + opW, barW = 530, width = 1160;
  const max = Math.max(...rows.filter((r) => !r.others).map((r) => r.ms), 1e-12);
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${top * 2 + rows.length * rowH}`, class: "layer-bars",
                              role: "img", "aria-label": "time per layer" });
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const g = svgEl("g");
    g.append(svgEl("title", {}, r.others ? `${r.name}: ${fmt(r.ms)} ms in all`
        : `${r.name}\nop: ${r.op}\nprecision: ${r.precision || "—"}\ntactic: ${r.tactic || "—"}\n` +
          `reason: ${r.reason || "—"}\ntime: ${fmt(r.timeMs)} ms` +
          (r.measured === false ? " (build)" : "")));
    g.append(svgEl("text", { x: 0, y: y + 13 }, shorten(r.name, 46)));
    g.append(svgEl("text", { x: nameW, y: y + 13 }, shorten(r.op, 22)));
    const cut = r.ms > max;
    const w = cut ? barW : Math.max((r.ms / max) * barW, r.ms > 0 ? 1 : 0);
    g.append(svgEl("rect", { class: "layer-bar", x: barX, y: y + 2, width: w.toFixed(2), height: rowH - 4,
                             fill: r.others ? OTHER_COLOR : colorOf(r.precision),
                             "data-precision": r.others ? "" : r.precision || "" }));
    if (cut) {
      const bx = barX + barW - 30;
      g.append(svgEl("path", { d: `M${bx} ${y + 17} l6 -16 M${bx + 6} ${y + 17} l6 -16`, stroke: "#fff",
                               "stroke-width": 3 }));
    }
    const label = typeof r.timeMs !== "number" ? "—"
        : fmt(r.ms) + " ms" + (cut ? " (bar cut)" : "");
    g.append(svgEl("text", { x: barX + w + 6, y: y + 13 }, label));
    svg.append(g);
  });
  return svg;
}

function layerChart(engine) {
  const layers = engine.layers.map((l) => ({ ...l, ms: typeof l.timeMs === "number" ? l.timeMs : 0 }));
  const box = el("div");
  const button = el("button", { type: "button", class: "order-toggle" });
  const caption = el("p", { class: "note" });
  // "#execution-order" in the address opens the chart in execution order.
  let byTime = location.hash !== "#execution-order";
  const draw = () => {
    let rows = layers;
    if (byTime) {
      rows = [...layers].sort((a, b) => b.ms - a.ms);
      if (rows.length > TOP_LAYERS) {
        const rest = rows.slice(TOP_LAYERS);
        const restMs = sum(rest.map((r) => r.ms));
        rows = rows.slice(0, TOP_LAYERS).concat(
            [{ name: `others (${rest.length} layers)`, op: "", ms: restMs, timeMs: restMs, others: true }]);
      }
    }
    caption.textContent = byTime
        ? `Slowest ${Math.min(layers.length, TOP_LAYERS)} of ${layers.length} layers by time` +
          (layers.length > TOP_LAYERS ? ", the rest summed" : "") + "."
        : `All ${layers.length} layers in execution order.`;
    button.textContent = byTime ? "Show all layers in execution order" : "Show the slowest layers";
    box.replaceChildren(layerBars(rows));
  };
  button.addEventListener("click", () => { byTime = !byTime; draw(); });
  draw();
  const unmeasured = layers.filter((l) => l.measured === false).length;
  const source = unmeasured === 0 ? "Times were measured in a profiled run of the engine."
      : unmeasured === layers.length ? "Times are the builder's measurements (no profile run)."
      : `${unmeasured} layers without a profiled time show the builder's measurement.`;
  return el("div", {}, el("h3", {}, "Time per layer"), legend(precisionsOf(layers)), caption,
            el("p", { class: "note" }, source), button, box);
}

function precisionsOf(layers) {
  return [...new Set(layers.map((l) => l.precision || ""))];
}

// Layer count and share of time per precision, as one stacked bar and a table.
function precisionMix(engine) {
  const groups = new Map();
  for (const l of engine.layers) {
    const p = l.precision || "";
    const g = groups.get(p) || { count: 0, ms: 0 };
    g.count += 1;
    g.ms += typeof l.timeMs === "number" ? l.timeMs : 0;
    groups.set(p, g);
  }
  const entries = [...groups.entries()].sort((a, b) => b[1].ms - a[1].ms || b[1].count - a[1].count);
  const total = sum(entries.map(([, g]) => g.ms));
  // Without any time the bar splits by layer count, so it still shows the mix.
  const share = (g) => (total > 0 ? g.ms / total : g.count / engine.layers.length);
  const width = 1160, height = 30;
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, class: "precision-mix", role: "img",
                              "aria-label": "precision mix" });
  let x = 0;
  for (const [p, g] of entries) {
    const w = share(g) * width;
    const seg = svgEl("rect", { class: "mix-segment", x: x.toFixed(2), y: 0, width: w.toFixed(2),
                                height, fill: colorOf(p), "data-precision": p });
    seg.append(svgEl("title", {}, `${p || "—"}: ${g.count} layers, ${fmt(g.ms)} ms`));
    svg.append(seg);
    if (w > 70) {
      svg.append(svgEl("text", { x: x + 6, y: 20, style: "fill:#fff;font-weight:600" },
                       `${p || "—"} ${(share(g) * 100).toFixed(1)}%`));
    }
    x += w;
  }
  const rows = entries.map(([p, g]) =>
      [precisionChip(p), g.count, g.ms, total > 0 ? (g.ms / total * 100).toFixed(1) + " %" : "—"]);
  return el("div", {}, el("h3", {}, "Precision mix"),
            el("p", { class: "note" }, total > 0 ? "Share of layer time per precision."
                                                  : "Share of layers per precision (no layer times)."),
            svg, table(["precision", "layers", "time (ms)", "share of time"], rows, (i) => i === 3));
}

// Per-query latencies in bins, with the median and p99 marked.
function latencyHistogram(values) {
  const title = el("h3", {}, "Latency");
  if (!values || values.length === 0) {
    return el("div", {}, title, el("p", { class: "note" }, "No timed queries."));
  }
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  let lo = sorted[0], hi = sorted[n - 1];
  if (hi - lo < 1e-9) { lo -= 0.01 * Math.abs(lo) + 1e-6; hi += 0.01 * Math.abs(hi) + 1e-6; }
  const bins = Math.min(40, Math.max(5, Math.ceil(Math.sqrt(n))));
  const counts = new Array(bins).fill(0);
  for (const v of sorted) counts[Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins))] += 1;
  const width = 1160, height = 230, left = 50, right = 20, top = 30, plotH = 160;
  const plotW = width - left - right, maxCount = Math.max(...counts);
  const xOf = (v) => left + ((v - lo) / (hi - lo)) * plotW;
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, class: "latency-histogram", role: "img",
                              "aria-label": "latency histogram" });
  counts.forEach((c, i) => {
    const h = (c / maxCount) * plotH;
    const bin = svgEl("rect", { class: "hist-bin", x: (left + (i * plotW) / bins + 1).toFixed(2),
                                y: (top + plotH - h).toFixed(2), width: (plotW / bins - 2).toFixed(2),
                                height: h.toFixed(2), fill: "#8aa6c1" });
    const from = lo + ((hi - lo) * i) / bins, to = lo + ((hi - lo) * (i + 1)) / bins;
    bin.append(svgEl("title", {}, `${fmt(from)} – ${fmt(to)} ms: ${c} queries`));
    svg.append(bin);
  });
  svg.append(svgEl("line", { class: "axis", x1: left, x2: left + plotW, y1: top + plotH, y2: top + plotH }));
  svg.append(svgEl("line", { class: "axis", x1: left, x2: left, y1: top, y2: top + plotH }));
  svg.append(svgEl("text", { x: left - 6, y: top + 4, "text-anchor": "end" }, String(maxCount)));
  svg.append(svgEl("text", { x: left - 6, y: top + plotH, "text-anchor": "end" }, "0"));
  svg.append(svgEl("text", { x: left, y: top + plotH + 18 }, fmt(lo) + " ms"));
  svg.append(svgEl("text", { x: left + plotW, y: top + plotH + 18, "text-anchor": "end" }, fmt(hi) + " ms"));
  svg.append(svgEl("text", { x: left + plotW / 2, y: top + plotH + 34, "text-anchor": "middle" },
                   `latency of ${n} queries (ms)`));
  const markers = [["median", median(sorted), "#2e7d32", top - 16], ["p99", percentile(sorted, 99), "#c62828",
                                                                       top - 4]];
  for (const [name, v, color, labelY] of markers) {
    const x = xOf(v);
    svg.append(svgEl("line", { class: "hist-marker", "data-marker": name, x1: x, x2: x, y1: top - 2,
                               y2: top + plotH, stroke: color }));
    const anchor = x > left + plotW * 0.8 ? "end" : "start";
    svg.append(svgEl("text", { x: anchor === "end" ? x - 4 : x + 4, y: labelY + 10, "text-anchor": anchor,
                               style: "fill:" + color }, `${name} ${fmt(v)} ms`));
  }
  return el("div", {}, title, svg);
}

function engineSection(engine) {
  const section = el("section", { class: "engine" }, el("h2", {}, engine.label || "Engine"));
  const layers = engine.layers || [];
  const latency = engine.latencyMs || [];
  const facts = [`${layers.length} layers`];
  const timed = layers.filter((l) => typeof l.timeMs === "number");
  if (timed.length) facts.push(`sum of layer times ${fmt(sum(timed.map((l) => l.timeMs)))} ms`);
  if (latency.length) {
    const sorted = [...latency].sort((a, b) => a - b);
    facts.push(`${latency.length} timed queries, median latency ${fmt(median(sorted))} ms`);
  }
  section.append(el("p", { class: "note" }, facts.join(" · ")));
  if (layers.length) section.append(layerChart({ ...engine, layers }), precisionMix({ ...engine, layers }));
  section.append(latencyHistogram(latency));
  return section;
}

function render(report) {
  const main = document.getElementById("report");
  main.replaceChildren();
  if (report.title) document.title = report.title;
  main.append(el("h1", {}, report.title || "lowp report"));
  if (report.facts && report.facts.length) {
    const rows = report.facts.map(([label, value]) =>
        el("tr", {}, el("th", {}, fmt(label)), el("td", {}, fmt(value))));
    main.append(el("table", { class: "facts" }, el("tbody", {}, ...rows)));
  }
  for (const t of report.tables || []) {
    main.append(el("h2", {}, t.title || "Table"), table(t.columns || [], t.rows || []));
  }
  for (const engine of report.engines || []) main.append(engineSection(engine));
  const errors = report.layerErrors;
  if (errors && errors.layers) {
    main.append(el("h2", {}, `Per-layer error (${errors.metric || "error"})`));
    const rows = errors.layers.map((l) => [l.name, l.op, precisionChip(l.precision), l.local, l.accumulated]);
    main.append(table(["layer", "op", "precision", "local", "accumulated"], rows));
  }
  if (report.findings) {
    main.append(el("h2", {}, "Findings"));
    const rows = report.findings.map((f) => [f.check, f.finding, f.action, f.explainsMs]);
    main.append(table(["check", "finding", "action", "explains (ms)"], rows, (i) => i === 3));
  }
}

try {
  render(JSON.parse(document.getElementById("report-data").textContent));
  document.body.dataset.rendered = "true";
} catch (e) {
  showError(e && e.stack ? e.stack : String(e));
}
</script>
</body>
</html>
)html";

// The JSON as the embedded script element's text. '<' appears in JSON only inside strings, where \u003c
// means the same, so no string (a layer name) can close the element or open a comment.
std::string embeddedJson(const ReportJson& report) {
  const std::string json = report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Status writeHtmlReport(const ReportJson& report, const std::string& path) {
  if (!report.is_object())
    return Status(StatusCode::kInvalidArgument, "--report " + path + ": the report is not a JSON object");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out << kPageHead << embeddedJson(report) << kPageTail;
  if (!out) return Status(StatusCode::kIoError, "--report: cannot write " + path);
  return {};
}

ReportJson engineSection(const std::string& label, const Engine& engine,
                         const std::vector<std::pair<std::string, double>>& layerMs,
                         const std::vector<double>& latencyMs) {
  const std::map<std::string, double> measured(layerMs.begin(), layerMs.end());
  ReportJson layers = ReportJson::array();
  for (const LayerInfo& l : engine.layers()) {
    const auto it = measured.find(l.name);
    ReportJson time = nullptr;
    if (it != measured.end()) {
      time = it->second;
    } else if (l.timeMs >= 0) {
      time = l.timeMs;
    }
    layers.push_back(
        {{"name", l.name},
         {"op", l.opType},
         {"precision", l.precision == DataType::kUndefined ? "" : std::string(dataTypeName(l.precision))},
         {"tactic", l.tactic},
         {"reason", l.reason},
         {"timeMs", time},
         {"measured", it != measured.end()}});
  }
  return {{"label", label}, {"layers", layers}, {"latencyMs", latencyMs}};
}

}  // namespace lowp::tools
