// The HTML report of `lowp exec`, `lowp compare`, `lowp explain` and the demo (--report=FILE): one
// self-contained file (styles, script and data inline; it loads nothing over the network) that draws its
// charts in the browser from the JSON it embeds.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "lowp/engine.h"
#include "lowp/status.h"

namespace lowp::tools {

/// The report's content. Every key is optional; the report shows the sections present, in this order:
///
///   "title":    string
///   "facts":    [[label, value], ...]: model, device, options, versions
///   "tables":   [{"title", "columns": [name, ...], "rows": [[cell, ...], ...]}]: e.g. the demo's summary
///               (latency, throughput, speedup, accuracy, precision mix per engine), compare's accuracy table
///   "engines":  [engineSection(...), ...]: per engine, the per-layer time bars coloured by precision, the
///               precision mix (layer count and share of time per precision) and the latency histogram
///   "layerErrors": {"metric": string, "layers": [{"name", "op", "precision", "local", "accumulated"}]}:
///               compare --per-layer, most costly first
///   "findings": [{"check", "finding", "action", "explainsMs"}]: explain, ranked by the time they explain
///
/// Strings are shown as text, never interpreted as HTML.
using ReportJson = nlohmann::ordered_json;

/// Writes `report` as a self-contained HTML file; errors name the file.
Status writeHtmlReport(const ReportJson& report, const std::string& path);

/// One entry of "engines": {"label", "layers": [{"name", "op", "precision", "tactic", "reason", "timeMs",
/// "measured"}], "latencyMs": [...]}, layers in execution order. `layerMs` gives the measured average time of
/// layers by name (a profile run); layers without one show their build-time measurement ("measured": false;
/// "timeMs": null when there is none). `latencyMs` holds one value per timed query (may be empty).
ReportJson engineSection(const std::string& label, const Engine& engine,
                         const std::vector<std::pair<std::string, double>>& layerMs,
                         const std::vector<double>& latencyMs);

}  // namespace lowp::tools
