// Graph rewrite rules, in the manner of ONNX Runtime's optimizer: each rule is one declarative entry that
// names the ops it targets, the condition under which it applies to one node, and the rewrite. The rules
// live one per file (remove_identity.cpp, fold_constants.cpp, ...); pipeline.cpp lists them in order.
//
// Contract of every rule: the graph computes the same outputs after the rewrite as before (up to float
// rounding), graph inputs and outputs keep their values and names, and a rewrite removes no node but the
// one it was called on and nodes before it in the graph's order (which the rule has visited already). Types
// and shapes of the values a rewrite touches stay right; the pipeline re-runs inference over the whole graph
// at the end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "lowp/status.h"

namespace lowp::passes {

struct RewriteRule {
  std::string_view name;
  /// Default-domain op types the rule looks at; empty: every node.
  std::vector<std::string_view> opTypes;
  /// Whether the rule applies to `node` as the graph stands now.
  bool (*condition)(const ir::Graph& graph, const ir::Node& node) = nullptr;
  /// Rewrites the graph around `node` (called only where `condition` holds); may remove `node` and nodes
  /// before it in the graph's order, no other. Returns whether it changed the graph: a rule may find late
  /// that it cannot apply.
  Result<bool> (*rewrite)(ir::Graph& graph, ir::Node& node) = nullptr;
  /// Visit consumers before producers (the reverse of the graph's order), e.g. so that removing dead nodes
  /// takes one sweep.
  bool reverseOrder = false;
  /// The rewrite merges layers, so tensors the model names (an activation's input, a bias add's output)
  /// are no longer computed on their own. Calibration skips such rules: every tensor gets a scale.
  bool mergesLayers = false;
  /// Apply again, with types and shapes inferred anew in between, until the rule changes nothing (at most
  /// kMaxRuleRounds times): its rewrites make more nodes satisfy its condition, but only once inference has
  /// run (a folded shape computation makes the shapes after it static, so the Shape nodes there fold next).
  bool untilFixedPoint = false;
};

/// The most times runPipeline applies an untilFixedPoint rule.
inline constexpr int kMaxRuleRounds = 16;

/// Applies `rule` once to every node it targets, in the graph's order (or its reverse); returns how many
/// times the rule rewrote the graph. Errors name the rule and the node.
Result<int64_t> applyRule(ir::Graph& graph, const RewriteRule& rule);

/// Makes every node that reads `from` read `to` instead.
void replaceAllUses(ir::Graph& graph, ir::Value* from, ir::Value* to);

/// A value name not yet in the graph: `base`, or `base` with a numeric suffix.
std::string uniqueValueName(const ir::Graph& graph, const std::string& base);

}  // namespace lowp::passes
