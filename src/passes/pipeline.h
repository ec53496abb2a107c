// The graph rewrite pipeline that runs between import and engine preparation (DESIGN.md: passes/).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "lowp/status.h"
#include "passes/rewrite_rule.h"

namespace lowp::passes {

/// The rules, in the order runPipeline applies them.
const std::vector<const RewriteRule*>& pipelineRules();

/// How often each rule rewrote the graph, in pipeline order.
using PipelineReport = std::vector<std::pair<std::string, int64_t>>;

/// Which rules run: all of them (for engines), or all but those that merge layers (for calibration, which
/// must see every tensor the model names).
enum class PipelineRules { kAll, kKeepLayers };

/// Applies every rule of the pipeline once, in order, then releases the data of constants no node reads,
/// re-sorts the graph and re-runs type and shape inference. `report`, when given, receives the counts.
Status runPipeline(ir::Graph& graph, PipelineReport* report = nullptr,
                   PipelineRules rules = PipelineRules::kAll);

}  // namespace lowp::passes
