// remove_identity: Identity, Dropout in inference, and a Cast or CastLike to the type the input already has
// pass their input through unchanged.
//
// Targets: Identity; Dropout that drops nothing (ir::ops::dropoutDropsNothing) and whose mask output is
// absent or unread; Cast and CastLike whose output type is the input's (ONNX functions such as
// LayerNormalization's expansion write them). Rewrite: consumers of the output read the input. When the
// output is a graph output its name must survive, so instead the input's producer writes the output value
// directly and the input's other consumers read it; that needs a producer node and an input that is not
// itself a graph output.
#include "ir/ops/common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

// A Dropout whose output is its input and whose mask nothing reads.
bool isInferenceDropout(const ir::Node& node) {
  if (!ir::ops::dropoutDropsNothing(node)) return false;
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    const ir::Value* mask = node.outputs[i];
    if (mask != nullptr && (mask->isGraphOutput || !mask->consumers.empty())) return false;
  }
  return true;
}

bool passesInputThrough(const ir::Graph& /*graph*/, const ir::Node& node) {
  const ir::Value* in = node.input(0);
  const ir::Value* out = node.outputs.empty() ? nullptr : node.outputs[0];
  if (in == nullptr || out == nullptr || in->type != out->type) return false;
  if (node.opType == "Dropout" && !isInferenceDropout(node)) return false;
  if (node.opType == "Identity" && node.outputs.size() != 1) return false;
  if (!out->isGraphOutput) return true;
  // The output keeps its name: the input's producer must be able to write it instead.
  return in->producer != nullptr && !in->isGraphOutput && !in->isGraphInput && !in->constant;
}

Result<bool> bypassNode(ir::Graph& graph, ir::Node& node) {
  ir::Value* in = node.inputs[0];
  ir::Value* out = node.outputs[0];
  graph.removeNode(&node);
  if (!out->isGraphOutput) {
    replaceAllUses(graph, out, in);
    return true;
  }
  ir::Node* producer = in->producer;
  replaceAllUses(graph, in, out);
  for (ir::Value*& v : producer->outputs) {
    if (v == in) v = out;
  }
  in->producer = nullptr;
  out->producer = producer;
  return true;
}

}  // namespace

const RewriteRule& removeIdentityRule() {
  static const RewriteRule rule{.name = "remove_identity",
                                .opTypes = {"Identity", "Dropout", "Cast", "CastLike"},
                                .condition = passesInputThrough,
                                .rewrite = bypassNode};
  return rule;
}

}  // namespace lowp::passes
