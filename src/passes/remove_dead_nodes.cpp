// remove_dead_nodes: a node whose outputs no node reads and no graph output names contributes nothing.
//
// Targets: every node, consumers before producers, so a dead chain goes in one sweep. Graph inputs and
// outputs are values, never removed.
#include "passes/rules.h"

namespace lowp::passes {
namespace {

bool isDead(const ir::Graph& /*graph*/, const ir::Node& node) {
  for (const ir::Value* out : node.outputs) {
    if (out != nullptr && (out->isGraphOutput || !out->consumers.empty())) return false;
  }
  return true;
}

Result<bool> removeDeadNode(ir::Graph& graph, ir::Node& node) {
  graph.removeNode(&node);
  return true;
}

}  // namespace

const RewriteRule& removeDeadNodesRule() {
  static const RewriteRule rule{.name = "remove_dead_nodes",
                                .opTypes = {},
                                .condition = isDead,
                                .rewrite = removeDeadNode,
                                .reverseOrder = true};
  return rule;
}

}  // namespace lowp::passes
