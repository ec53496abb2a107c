// remove_unread_qdq: QuantizeLinear / DequantizeLinear nodes whose output nothing reads, left by the
// quantized fusions (the DQ of fused weights and biases, the Q / DQ pair a residual fusion drops). They go
// before fold_constants, which would otherwise dequantize every fused weight tensor into a float copy that
// nothing reads. Consumers before producers, so a Q -> DQ chain goes in one sweep.
#include "passes/qdq_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

bool isUnread(const ir::Graph& /*graph*/, const ir::Node& node) {
  if (!qdq::isQuantize(node) && !qdq::isDequantize(node)) return false;
  for (const ir::Value* out : node.outputs) {
    if (out != nullptr && (out->isGraphOutput || !out->consumers.empty())) return false;
  }
  return true;
}

Result<bool> removeUnread(ir::Graph& graph, ir::Node& node) {
  graph.removeNode(&node);
  return true;
}

}  // namespace

const RewriteRule& removeUnreadQdqRule() {
  static const RewriteRule rule{.name = "remove_unread_qdq",
                                .opTypes = {"QuantizeLinear", "DequantizeLinear"},
                                .condition = isUnread,
                                .rewrite = removeUnread,
                                .reverseOrder = true};
  return rule;
}

}  // namespace lowp::passes
