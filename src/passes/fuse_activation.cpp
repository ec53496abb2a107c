// fuse_activation: act(conv or matmul) -> one FusedConv / FusedMatMul whose epilogue applies the activation
// (oneDNN's eltwise post-op), so the activation costs no pass over memory of its own.
//
// Targets: a default-domain Relu, LeakyRelu, Clip, Sigmoid, HardSwish or Tanh on a float tensor that is the
// output of a Conv, MatMul, FusedConv or FusedMatMul (one without an activation yet), that nothing else reads
// and that is not a graph output. Clip's bounds must be known: attributes (opsets 6-10) or constant scalars
// of the input's type (opset 11+), each optional. The producer becomes the fused op (if it is not one yet),
// records the activation in its attributes (ir/ops/fused.h), takes over the activation's output and records
// its name. Runs after fuse_conv_add and fuse_matmul_bias so that conv + add + relu becomes one node.
#include <limits>
#include <optional>

#include "ir/data_type.h"
#include "ir/numeric.h"
#include "ir/ops/fused.h"
#include "passes/fuse_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

// Clip's bound in slot `slot` (opset 11+) or attribute `attr`; `fallback` when absent; nullopt when unknown.
std::optional<float> clipBound(const ir::Node& clip, size_t slot, const char* attr, float fallback) {
  if (clip.opsetVersion < 11) return clip.attributes.getFloat(attr, fallback);
  const ir::Value* v = clip.input(slot);
  if (v == nullptr) return fallback;
  if (!v->constant || v->constant->elementCount() != 1 || v->type != clip.input(0)->type) return std::nullopt;
  return static_cast<float>(elementAsDouble(*v->constant, 0));
}

// The activation `node` computes, when it is one the fused ops take.
std::optional<ir::ops::ActivationSpec> activationSpec(const ir::Node& node) {
  ir::ops::ActivationSpec spec;
  spec.kind = ir::ops::activationOf(node.opType);
  if (spec.kind == ir::ops::FusedActivation::kNone) return std::nullopt;
  if (spec.kind == ir::ops::FusedActivation::kLeakyRelu)
    spec.alpha = node.attributes.getFloat("alpha", 0.01f);
  if (spec.kind == ir::ops::FusedActivation::kClip) {
    const float inf = std::numeric_limits<float>::infinity();
    auto lo = clipBound(node, 1, "min", -inf);
    auto hi = clipBound(node, 2, "max", inf);
    if (!lo || !hi) return std::nullopt;
    spec.alpha = *lo;
    spec.beta = *hi;
  }
  return spec;
}

ir::Node* fusionTarget(const ir::Node& act) {
  if (act.inputs.empty() || act.outputs.size() != 1 || act.outputs[0] == nullptr) return nullptr;
  const ir::Value* x = act.inputs[0];
  if (x == nullptr || !ir::isFloat(x->type) || act.outputs[0]->type != x->type) return nullptr;
  ir::Node* producer = fusion::fusableProducer(x);
  if (producer == nullptr || !fusion::hasNoActivation(*producer)) return nullptr;
  if (!fusion::isOp(*producer, "Conv", "FusedConv") && !fusion::isOp(*producer, "MatMul", "FusedMatMul"))
    return nullptr;
  return producer;
}

bool followsLinearOp(const ir::Graph& /*graph*/, const ir::Node& act) {
  return activationSpec(act).has_value() && fusionTarget(act) != nullptr;
}

Result<bool> fuseIntoProducer(ir::Graph& graph, ir::Node& act) {
  const ir::ops::ActivationSpec spec = *activationSpec(act);
  ir::Node& producer = *fusionTarget(act);
  fusion::makeFused(producer, producer.opType == "Conv" ? "FusedConv" : "FusedMatMul");
  ir::ops::writeActivation(producer.attributes, spec);
  fusion::absorbConsumer(graph, producer, act);
  return true;
}

}  // namespace

const RewriteRule& fuseActivationRule() {
  static const RewriteRule rule{.name = "fuse_activation",
                                .opTypes = {"Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSwish", "Tanh"},
                                .condition = followsLinearOp,
                                .rewrite = fuseIntoProducer};
  return rule;
}

}  // namespace lowp::passes
