#include "passes/rewrite_rule.h"

#include <algorithm>
#include <unordered_set>

namespace lowp::passes {

Result<int64_t> applyRule(ir::Graph& graph, const RewriteRule& rule) {
  // A snapshot: rewrites remove nodes from the graph's order (the node they were called on, or nodes
  // visited before it).
  std::vector<ir::Node*> nodes = graph.nodes();
  if (rule.reverseOrder) std::reverse(nodes.begin(), nodes.end());
  int64_t applied = 0;
  for (ir::Node* node : nodes) {
    if (!rule.opTypes.empty()) {
      if (!node->domain.empty()) continue;
      if (std::find(rule.opTypes.begin(), rule.opTypes.end(), node->opType) == rule.opTypes.end()) continue;
    }
    if (!rule.condition(graph, *node)) continue;
    const std::string where = node->describe();
    const std::string nodeName = node->name;
    auto changed = rule.rewrite(graph, *node);
    if (!changed) {
      return Status(changed.status().code(),
                    std::string(rule.name) + " on " + where + ": " + changed.status().message(), nodeName);
    }
    if (*changed) ++applied;
  }
  return applied;
}

void replaceAllUses(ir::Graph& graph, ir::Value* from, ir::Value* to) {
  std::vector<ir::Node*> consumers = from->consumers;
  std::sort(consumers.begin(), consumers.end());
  consumers.erase(std::unique(consumers.begin(), consumers.end()), consumers.end());
  for (ir::Node* consumer : consumers) {
    for (size_t i = 0; i < consumer->inputs.size(); ++i) {
      if (consumer->inputs[i] == from) graph.setInput(consumer, i, to);
    }
  }
}

std::string uniqueValueName(const ir::Graph& graph, const std::string& base) {
  std::unordered_set<std::string> taken;
  for (const auto& v : graph.values()) taken.insert(v->name);
  if (!taken.contains(base)) return base;
  for (int64_t i = 1;; ++i) {
    std::string candidate = base + "_" + std::to_string(i);
    if (!taken.contains(candidate)) return candidate;
  }
}

}  // namespace lowp::passes
