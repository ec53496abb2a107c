// fuse_quantized_activation: act(QuantizedConv / QuantizedMatMul) -> one quantized op whose epilogue applies
// the activation (ir/ops/quantized.h: v = act(acc * x_scale * w_scale + z)), before its output is quantized.
//
// Targets: a default-domain Relu, LeakyRelu, Clip, Sigmoid, HardSwish or Tanh on the float32 output of a
// QuantizedConv or QuantizedMatMul that has no activation yet, that nothing else reads and that is not a
// graph output. Clip's bounds must be known: attributes (opsets 6-10) or constant float32 scalars (opset
// 11+), each optional. The activation applies to the same float32 value the unfused graph computes, so the
// result is the same. Runs after fuse_quantized_residual (the activation follows the residual sum) and
// before fuse_quantized_output (it precedes the output quantization).
#include <limits>
#include <optional>

#include "ir/ops/fused.h"
#include "passes/fuse_common.h"
#include "passes/qdq_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

ir::Node* quantizedProducer(const ir::Node& act) {
  if (act.inputs.empty() || act.outputs.size() != 1 || act.outputs[0] == nullptr) return nullptr;
  const ir::Value* x = act.inputs[0];
  if (x == nullptr || x->type != DataType::kFloat32 || act.outputs[0]->type != DataType::kFloat32)
    return nullptr;
  ir::Node* producer = fusion::fusableProducer(x);
  return producer != nullptr && qdq::hasOpenFloatOutput(*producer) ? producer : nullptr;
}

bool followsQuantizedOp(const ir::Graph& /*graph*/, const ir::Node& act) {
  return fusion::activationSpec(act).has_value() && quantizedProducer(act) != nullptr;
}

Result<bool> fuseIntoQuantizedOp(ir::Graph& graph, ir::Node& act) {
  const ir::ops::ActivationSpec spec = *fusion::activationSpec(act);
  ir::Node& producer = *quantizedProducer(act);
  ir::ops::writeActivation(producer.attributes, spec);
  fusion::absorbConsumer(graph, producer, act);
  return true;
}

}  // namespace

const RewriteRule& fuseQuantizedActivationRule() {
  static const RewriteRule rule{.name = "fuse_quantized_activation",
                                .opTypes = {"Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSwish", "Tanh"},
                                .condition = followsQuantizedOp,
                                .rewrite = fuseIntoQuantizedOp};
  return rule;
}

}  // namespace lowp::passes
