// fuse_activation: act(conv or matmul) -> one FusedConv / FusedMatMul whose epilogue applies the activation
// (oneDNN's eltwise post-op), so the activation costs no pass over memory of its own.
//
// Targets: a default-domain Relu, LeakyRelu, Clip, Sigmoid, HardSwish, Tanh or Gelu on a float tensor that is
// the output of a Conv, MatMul, FusedConv or FusedMatMul (one without an activation yet), that nothing else
// reads and that is not a graph output. Clip's bounds must be known: attributes (opsets 6-10) or constant
// scalars of the input's type (opset 11+), each optional. The producer becomes the fused op (if it is not one
// yet), records the activation in its attributes (ir/ops/fused.h), takes over the activation's output and
// records its name. Runs after fuse_conv_add and fuse_matmul_bias so that conv + add + relu becomes one node.
#include <limits>
#include <optional>

#include "ir/data_type.h"
#include "ir/numeric.h"
#include "ir/ops/fused.h"
#include "passes/fuse_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

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
  return fusion::activationSpec(act).has_value() && fusionTarget(act) != nullptr;
}

Result<bool> fuseIntoProducer(ir::Graph& graph, ir::Node& act) {
  const ir::ops::ActivationSpec spec = *fusion::activationSpec(act);
  ir::Node& producer = *fusionTarget(act);
  fusion::makeFused(producer, producer.opType == "Conv" ? "FusedConv" : "FusedMatMul");
  ir::ops::writeActivation(producer.attributes, spec);
  fusion::absorbConsumer(graph, producer, act);
  return true;
}

}  // namespace

const RewriteRule& fuseActivationRule() {
  static const RewriteRule rule{
      .name = "fuse_activation",
      .opTypes = {"Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSwish", "Tanh", "Gelu"},
      .condition = followsLinearOp,
      .rewrite = fuseIntoProducer,
      .mergesLayers = true};
  return rule;
}

}  // namespace lowp::passes
